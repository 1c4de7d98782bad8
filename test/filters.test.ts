// Each filter flag against what varnishncsa printed for the same capture: the records a flag selects must be
// exactly the requests varnishncsa's columns imply. Plus the value syntax and its error messages.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { parseArgs } from '../src/args.js'
import type { FilterOptions } from '../src/filter/flags.js'
import { ipBytes } from '../src/filter/flags.js'
import { readNcsa, type NcsaRow } from './ncsa.js'
import { recordsOf, repoPath } from './support.js'

const DIR = 'fixtures/varnish-7.1'
const LOG = `${DIR}/small.vxid.log`
const rows = readNcsa(`${DIR}/small.ncsa.tsv`, `${DIR}/ncsa.columns.tsv`)
const rowsE = readNcsa(`${DIR}/small.ncsa-E.tsv`, `${DIR}/ncsa.columns.tsv`)
const backendRows = readNcsa(`${DIR}/small.ncsa-backend.tsv`, `${DIR}/ncsa-backend.columns.tsv`)

/** Runs vlogdump with these command-line flags on the capture; returns the vxids of the top-level records. */
async function selected(args: string[], file = LOG): Promise<string[]> {
  const parsed = parseArgs(args, '0', () => {})
  assert.equal(parsed.kind, 'run')
  if (parsed.kind !== 'run') return []
  const o = parsed.options
  const recs = await recordsOf([{ file }], { filters: o.filters, queries: o.queries, caseless: o.caseless })
  return recs.map((r) => String(r.vxid)).sort()
}

function expected(pred: (r: NcsaRow) => boolean): string[] {
  return rows.filter(pred).map((r) => r.vxid).sort()
}

function inNet(ip: string, net: number[], bits: number): boolean {
  const b = ipBytes(ip)
  if (b === null || b.length !== net.length) return false
  for (let i = 0; i < bits; i++) if (((b[i >> 3] >> (7 - (i & 7))) & 1) !== ((net[i >> 3] >> (7 - (i & 7))) & 1)) return false
  return true
}

const flagCases: Array<[string, string[], (r: NcsaRow) => boolean]> = [
  ['--status 5xx', ['--status', '5xx'], (r) => /^5\d\d$/.test(r.status)],
  ['--status 404', ['--status', '404'], (r) => r.status === '404'],
  ['--status 4xx,5xx', ['--status', '4xx,5xx'], (r) => /^[45]\d\d$/.test(r.status)],
  ['--status 300-399', ['--status', '300-399'], (r) => /^3\d\d$/.test(r.status)],
  ['--status !200', ['--status', '!200'], (r) => r.status !== '200'],
  ['--hits', ['--hits'], (r) => r.handling === 'hit'],
  ['--misses', ['--misses'], (r) => r.hitmiss === 'miss'],
  ['--handling pass,hitpass', ['--handling', 'pass,hitpass'], (r) => r.handling === 'pass'],
  ['--handling miss,hitmiss', ['--handling', 'miss,hitmiss'], (r) => r.handling === 'miss'],
  ['--handling pipe', ['--handling', 'pipe'], (r) => r.handling === 'pipe'],
  ['--handling synth', ['--handling', 'synth'], (r) => r.handling === 'synth'],
  // Our total is Resp since start, which varnishncsa prints as %{VSL:Timestamp:Resp[2]}x (whole restart chain).
  ['--slow 200', ['--slow', '200'], (r) => Number(r.resp_since_start_s) >= 0.2],
  ['--slow (1 s)', ['--slow'], (r) => Number(r.resp_since_start_s) >= 1],
  ['--slow 100 --slow-by ttfb', ['--slow', '100', '--slow-by', 'ttfb'], (r) => Number(r.ttfb_s) >= 0.1],
  ['--method POST', ['--method', 'POST'], (r) => r.method === 'POST'],
  ['--method !^GET$', ['--method', '!^GET$'], (r) => r.method !== 'GET'],
  ['--url ^/static/', ['--url', '^/static/'], (r) => r.url.startsWith('/static/')],
  ['--url -i ^/STATIC/', ['--url', '^/STATIC/', '-i'], (r) => r.url.startsWith('/static/')],
  ["--req-header 'User-Agent:.*Android'", ['--req-header', 'User-Agent:.*Android'], (r) => /Android/.test(r.user_agent)],
  ["--resp-header '^X-Cache: HIT$'", ['--resp-header', '^X-Cache: HIT$'], (r) => r.x_cache === 'HIT'],
  ['--host', ['--host', '^127\\.0\\.0\\.1:6081$'], (r) => r.host === '127.0.0.1:6081'],
  ['--vcl-log ^route:api$', ['--vcl-log', '^route:api$'], (r) => r.vcl_log_route === 'api'],
  ['--client 192.0.2.0/24', ['--client', '192.0.2.0/24'], (r) => inNet(r.client, [192, 0, 2, 0], 24)],
  ['--client 2001:db8::/32', ['--client', '2001:db8::/32'], (r) => inNet(r.client, ipBytes('2001:db8::')!, 32)],
  ['--client regex', ['--client', '^192\\.0\\.2\\.4'], (r) => r.client.startsWith('192.0.2.4')],
  ['--client !127.0.0.0/8', ['--client', '!127.0.0.0/8'], (r) => r.client !== '-' && !r.client.startsWith('127.')],
  [
    '--client-header X-Real-IP --client 203.0.113.0/24',
    ['--client-header', 'X-Real-IP', '--client', '203.0.113.0/24'],
    (r) => inNet(r.x_real_ip !== '-' ? r.x_real_ip : r.client, [203, 0, 113, 0], 24),
  ],
  ['--restarted', ['--restarted'], (r) => r.begin_reason === 'restart'],
  ['--misses --slow 200 (combined: AND)', ['--misses', '--slow', '200'], (r) => r.hitmiss === 'miss' && Number(r.resp_since_start_s) >= 0.2],
  ['--status 200 --url ^/img/', ['--status', '200', '--url', '^/img/'], (r) => r.status === '200' && r.url.startsWith('/img/')],
]

describe('filter flags against varnishncsa (fixtures/varnish-7.1)', () => {
  for (const [name, args, pred] of flagCases) {
    it(name, async () => {
      const want = expected(pred)
      assert.ok(want.length > 0 && want.length < rows.length, `${name} must select some, not all (${want.length})`)
      assert.deepEqual(await selected(args), want)
    })
  }

  it('--esi: records with ESI children (varnishncsa -E parents)', async () => {
    const top = new Set(rows.map((r) => r.vxid))
    const parents = [...new Set(rowsE.filter((r) => r.begin_reason === 'esi' && top.has(r.parent_vxid)).map((r) => r.parent_vxid))].sort()
    assert.ok(parents.length > 0)
    assert.deepEqual(await selected(['--esi']), parents)
  })

  it('--backend: the backend that answered the fetch (varnishncsa -b)', async () => {
    const top = new Set(rows.map((r) => r.vxid))
    const want = [
      ...new Set(
        backendRows.filter((b) => ['fetch', 'pass', 'pipe'].includes(b.begin_reason) && b.backend_name === 'origin' && top.has(b.parent_vxid)).map((b) => b.parent_vxid),
      ),
    ].sort()
    assert.ok(want.length > 0)
    assert.deepEqual(await selected(['--backend', '^origin$']), want)
  })

  it('--grace: hits whose Hit TTL is negative', async () => {
    // Independent of our parser: the groups of the -g vxid text with a negative Hit TTL.
    const text = readFileSync(repoPath(LOG), 'latin1')
    const want = text
      .split('\n\n')
      .filter((g) => /^-   Hit            \d+ -/m.test(g))
      .map((g) => /<< Request  >> (\d+)/.exec(g)![1])
      .sort()
    assert.ok(want.length > 0)
    assert.deepEqual(await selected(['--grace']), want)
  })

  it('--vxid: the record containing a backend vxid, an ESI vxid or its own', async () => {
    const b = backendRows.find((r) => r.begin_reason === 'fetch')!
    const e = rowsE.find((r) => r.begin_reason === 'esi' && rows.some((x) => x.vxid === r.parent_vxid))!
    assert.deepEqual(await selected(['--vxid', `${b.vxid},${e.vxid}`, '--vxid', rows[0].vxid]), [b.parent_vxid, e.parent_vxid, rows[0].vxid].sort())
  })

  it('--incomplete: only records printed before they were complete', async () => {
    assert.deepEqual(await selected(['--incomplete']), [])
    const recs = await selected(['--incomplete'], 'fixtures/cases/truncated.log')
    assert.equal(recs.length, 1)
  })
})

describe('the original vlogdump options (-v name=value)', () => {
  const table: Array<[string[], string[], string]> = [
    [['-v', 'only_misses=1'], ['--misses'], '-v only_misses=1 is now --misses'],
    [['-v', 'only_hits=1'], ['--hits'], '-v only_hits=1 is now --hits'],
    [['-v', 'only_slow=1'], ['--slow', '1000'], '-v only_slow=1 is now --slow 1000'],
    [['-v', 'only_slow=200'], ['--slow', '200'], '-v only_slow=200 is now --slow 200'],
    [['-v', 'only_status=404'], ['--status', '404'], '-v only_status=404 is now --status 404'],
    [['-v', 'only_status=!200'], ['--status', '!200'], "-v only_status=!200 is now --status '!200'"],
    [['-v', 'url_match=^/static'], ['--url', '^/static'], "-v url_match=^/static is now --url '^/static'"],
    [['-v', 'url_match=!^/static'], ['--url', '!^/static'], "-v url_match=!^/static is now --url '!^/static'"],
    [['-v', 'req_method=POST'], ['--method', '^(?:POST)$'], "-v req_method=POST is now --method '^(?:POST)$'"],
    [['-v', 'req_headers_match=Android'], ['--req-header', 'Android'], '-v req_headers_match=Android is now --req-header Android'],
    [['-v', 'resp_headers_match=X-Cache: HIT'], ['--resp-header', 'X-Cache: HIT'], "-v resp_headers_match=X-Cache: HIT is now --resp-header 'X-Cache: HIT'"],
    [['-v', 'client_match=^192\\.0\\.2\\.'], ['--client', '^192\\.0\\.2\\.'], "-v client_match=^192\\.0\\.2\\. is now --client '^192\\.0\\.2\\.'"],
  ]
  for (const [old, now, hint] of table) {
    it(old.join(' '), async () => {
      const p = parseArgs(old, '0', () => {})
      assert.ok(p.kind === 'run')
      assert.deepEqual(p.hints, [hint])
      assert.deepEqual(await selected(old), await selected(now))
    })
  }

  it('show_req_headers / show_resp_headers turn on the header views', () => {
    const p = parseArgs(['-v', 'show_req_headers=1', '-v', 'show_resp_headers=1'], '0', () => {})
    assert.ok(p.kind === 'run')
    assert.deepEqual([p.options.reqHeaders, p.options.respHeaders], [true, true])
    assert.deepEqual(p.hints, ['-v show_req_headers=1 is now --req-headers', '-v show_resp_headers=1 is now --resp-headers'])
  })
})

describe('flag value errors', () => {
  const bad: Array<[string[], string]> = [
    [['--status', 'abc'], "--status: expected a code, a class like 5xx, a range or a list, got 'abc'"],
    [['--status', '600-500'], "--status: expected a code, a class like 5xx, a range or a list, got '600-500'"],
    [['--url', '('], "--url: invalid regular expression '(': /(/: Unterminated group"],
    [['--req-header', '!['], "--req-header: invalid regular expression '[': /[/: Unterminated character class"],
    [['--handling', 'hit,nope'], "--handling: expected a list of hit, miss, pass, pipe, synth, hitmiss, hitpass, got 'nope'"],
    [['--client', '10.0.0.0/33'], "--client: invalid network '10.0.0.0/33'"],
    [['--vxid', '12,x'], "--vxid: expected vxids like 32770 or 5,32770, got '12,x'"],
    [['--slow', '-5'], "--slow: expected milliseconds, got '-5'"],
    [['-v', 'only_fast=1'], '-v only_fast: not an option of the original vlogdump (show_req_headers, show_resp_headers, client_match, req_headers_match, resp_headers_match, req_method, only_hits, only_misses, only_slow, only_status, url_match)'],
  ]
  for (const [args, msg] of bad) {
    it(args.join(' '), () => assert.throws(() => parseArgs(args, '0', () => {}), { name: 'UsageError', message: msg }))
  }
})

// Keeps the FilterOptions import honest: every flag above maps onto a field of it.
export type _Filters = FilterOptions
