// The varnishncsa oracle: for every layout of the same capture, each client record must agree with what
// varnishncsa printed for that request (vxid, client, method, url, status, handling, %D, ttfb, %b), and the ESI
// children with its -E rows. Runs over our own lab capture and the shared Varnish 7.1 capture.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ncsaText, readNcsa, type NcsaRow } from './ncsa.js'
import { recordsOf } from './support.js'
import type { ClientRecord } from '../src/vsl/types.js'

interface Capture {
  dir: string
  name: string
  layouts: string[]
  /** varnishncsa 7.7 and later print hitmiss and hitpass as such; before, as miss and pass. */
  hitLabels: boolean
  /** The layouts whose text holds the ESI subrequests, to compare with varnishncsa -E (none for 6.0, whose
   *  varnishncsa has no -E and never prints them; from 7.2 on, the vxid grouping shows them only with -E). */
  esiLayouts: string[]
}

const ALL_LAYOUTS = ['vxid', 'request', 'session', 'raw', 'vxid-v', 'request-v']
/** A capture of scripts/capture/make-captures.mjs with a version built from source (fixtures/varnish-<version>). */
function lab(version: string, hitLabels: boolean, esiLayouts: string[], dir = `fixtures/varnish-${version}`): Capture {
  const layouts = esiLayouts.includes('vxid-E') ? [...ALL_LAYOUTS, 'vxid-E'] : ALL_LAYOUTS
  return { dir, name: 'lab', layouts, hitLabels, esiLayouts }
}
const SINCE_72 = ['vxid-E', 'request', 'session', 'raw', 'request-v']
const CAPTURES: Capture[] = [
  { dir: 'fixtures/lab', name: 'lab', layouts: ALL_LAYOUTS, hitLabels: false, esiLayouts: ALL_LAYOUTS },
  { dir: 'fixtures/varnish-7.1', name: 'small', layouts: ['vxid', 'request', 'session', 'raw', 'vxid-v'], hitLabels: false, esiLayouts: ['vxid', 'request', 'session', 'raw', 'vxid-v'] },
  lab('6.0', false, []),
  lab('6.6', false, ALL_LAYOUTS),
  lab('7.7', true, SINCE_72),
  lab('8.0', true, SINCE_72),
  // The second captures (another seed, more requests), made after development and checked last.
  ...[lab('6.0', false, []), lab('6.6', false, ALL_LAYOUTS), lab('7.1', false, ALL_LAYOUTS), lab('7.7', true, SINCE_72), lab('8.0', true, SINCE_72)].map((c) => ({
    ...c,
    dir: c.dir.replace('fixtures/', 'fixtures/holdout/'),
  })),
]

/** The handling varnishncsa prints for ours. */
function ncsaHandling(h: string | null, hitLabels: boolean): string {
  if (h === null) return '-'
  if (!hitLabels && h === 'hitmiss') return 'miss'
  if (!hitLabels && h === 'hitpass') return 'pass'
  return h
}

function flatten(recs: ClientRecord[]): ClientRecord[] {
  const out: ClientRecord[] = []
  const walk = (r: ClientRecord): void => {
    out.push(r)
    r.esi.forEach(walk)
  }
  recs.forEach(walk)
  return out
}

/** Every difference between a record and its varnishncsa row, as text (empty when they agree). */
function compare(rec: ClientRecord, row: NcsaRow, hitLabels: boolean): string[] {
  const diffs: string[] = []
  const eq = (what: string, ours: string, theirs: string): void => {
    if (ours !== theirs) diffs.push(`${what}: ours ${ours} ncsa ${theirs}`)
  }
  // Without ReqStart (garbage requests) varnishncsa prints `-`; we use the session's address when the session
  // was seen first (raw and session layouts), so either is right there.
  if (!(row.client === '-' && rec.request.method === null)) eq('client', rec.client?.ip ?? '-', row.client)
  eq('method', ncsaText(rec.request.method), row.method)
  eq('url', ncsaText(rec.request.url), row.url)
  // varnishncsa prints HTTP/1.0 when the request had no protocol (garbage); we say null.
  eq('protocol', rec.request.protocol ?? 'HTTP/1.0', row.protocol)
  eq('status', rec.response.status === null ? '-' : String(rec.response.status), row.status)
  eq('handling', ncsaHandling(rec.handling, hitLabels), row.handling)
  if (row.bytes !== '-') eq('body_tx', String(rec.bytes.body_tx), row.bytes)
  // Without a Process timestamp varnishncsa prints `-` (7.x) or nothing (6.x).
  if (row.ttfb_s !== '-' && row.ttfb_s !== '') {
    eq('ttfb', rec.timing.ttfb === null ? '-' : rec.timing.ttfb.toFixed(6), row.ttfb_s)
  } else eq('ttfb', String(rec.timing.ttfb), 'null')
  if (rec.restarts === 0) {
    // %D is Resp[1] - Start[1], truncated to whole µs; ours is Resp[2], the since-start time Varnish logs. Varnish
    // prints each of the three to the µs from unrounded times, so Resp[1] - Start[1] is within 1 µs of Resp[2],
    // and %D, truncated, within 2 µs (6.0 shows both: 0.001059 against Start 0.840769, Resp 0.841827, %D 1057).
    const us = Number(row.duration_us)
    if (rec.timing.total === null) {
      if (us !== 0 && row.duration_us !== '-') diffs.push(`total: ours null ncsa ${row.duration_us}`)
    } else if (rec.timing.total * 1e6 - us < -1.000001 || rec.timing.total * 1e6 - us >= 2.000001) {
      diffs.push(`total: ours ${rec.timing.total} ncsa ${row.duration_us}`)
    }
  }
  return diffs
}

for (const cap of CAPTURES) {
  const rows = readNcsa(`${cap.dir}/${cap.name}.ncsa.tsv`, `${cap.dir}/ncsa.columns.tsv`)
  const rowsE = cap.esiLayouts.length > 0 ? readNcsa(`${cap.dir}/${cap.name}.ncsa-E.tsv`, `${cap.dir}/ncsa.columns.tsv`) : []
  describe(`varnishncsa oracle: ${cap.dir}`, () => {
    for (const layout of cap.layouts) {
      it(`${layout}: every client record agrees with varnishncsa`, async () => {
        const recs = await recordsOf([{ file: `${cap.dir}/${cap.name}.${layout}.log` }])
        const clients = recs.filter((r) => r.side === 'client' && r.reason !== 'esi')
        // Where varnishlog left the ESI subrequests out (7.2 and later, vxid grouping without -E), their backend
        // fetches have no request to join: backend-only records, and the only ones.
        const esiVxids = new Set(rowsE.filter((r) => r.begin_reason === 'esi').map((r) => r.vxid))
        const hidden = (r: ClientRecord): boolean => !cap.esiLayouts.includes(layout) && r.side === 'backend' && esiVxids.has(String(r.parent))
        const others = recs.filter((r) => !clients.includes(r))
        assert.deepEqual(others.filter((r) => !hidden(r)).map((r) => `${r.vxid} ${r.side} ${r.reason}`), [], 'no backend-only or orphan records in a complete capture')
        assert.deepEqual(
          clients.filter((r) => r.incomplete !== null).map((r) => `${r.vxid} ${r.incomplete}`),
          [],
          'nothing incomplete',
        )
        const byVxid = new Map(clients.map((r) => [String(r.vxid), r]))
        assert.equal(byVxid.size, clients.length, 'one record per vxid')
        assert.deepEqual([...byVxid.keys()].sort(), rows.map((r) => r.vxid).sort(), 'the same requests as varnishncsa')
        const diffs: string[] = []
        for (const row of rows) for (const d of compare(byVxid.get(row.vxid)!, row, cap.hitLabels)) diffs.push(`${row.vxid} ${d}`)
        assert.deepEqual(diffs, [])
      })

      if (cap.esiLayouts.includes(layout)) it(`${layout}: ESI children agree with varnishncsa -E`, async () => {
        const recs = flatten(await recordsOf([{ file: `${cap.dir}/${cap.name}.${layout}.log` }]))
        const byVxid = new Map(recs.map((r) => [String(r.vxid), r]))
        const esiRows = rowsE.filter((r) => r.begin_reason === 'esi')
        assert.ok(esiRows.length > 0)
        const diffs: string[] = []
        for (const row of esiRows) {
          const rec = byVxid.get(row.vxid)
          if (rec === undefined) diffs.push(`${row.vxid} missing`)
          else {
            if (String(rec.parent) !== row.parent_vxid) diffs.push(`${row.vxid} parent ${rec.parent} ncsa ${row.parent_vxid}`)
            for (const d of compare(rec, row, cap.hitLabels)) diffs.push(`${row.vxid} ${d}`)
          }
        }
        assert.deepEqual(diffs, [])
        assert.equal(recs.filter((r) => r.reason === 'esi').length, esiRows.length)
      })
    }
  })
}
