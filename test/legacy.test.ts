// Varnish 2.1 and 3.0 input (fixtures/varnish-2.1.5, fixtures/varnish-3.0.7: real captures, see
// fixtures/LEGACY.md): every capture, in every layout, gives one client record per ReqStart, none incomplete, with
// the status, method and URL the requests list and varnishncsa show, and the handling its log lines imply.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { lines, recordsOf, repoPath } from './support.js'
import type { ClientRecord } from '../src/vsl/types.js'

interface Capture {
  version: string
  run: '' | '.supp'
  layouts: string[]
}

const CAPTURES: Capture[] = [
  { version: '3.0.7', run: '', layouts: ['', '.o', '.c'] },
  { version: '2.1.5', run: '', layouts: ['', '.o', '.c'] },
  { version: '3.0.7', run: '.supp', layouts: ['', '.o'] },
  { version: '2.1.5', run: '.supp', layouts: ['', '.o'] },
]

const file = (c: Capture, layout: string): string => `fixtures/varnish-${c.version}/varnish-${c.version}${c.run}${layout}.log`
const text = (path: string): string => readFileSync(repoPath(path), 'latin1')

/** "200 GET http://127.0.0.1:6091/static/page1.html" per request sent; the raw garbage request is left out. */
function requestsSent(c: Capture): Array<[string, string, string]> {
  return text(`fixtures/varnish-${c.version}/requests${c.run === '' ? '' : '-supp'}-${c.version}.txt`)
    .split('\n')
    .filter((l) => /^\d{3} [A-Z]+ http/.test(l))
    .map((l) => {
      const [status, method, url] = l.split(' ')
      return [status, method, url.replace(/^http:\/\/[^/]+/, '')]
    })
}

/** The handling the log lines of one request imply, read straight from the -c text: the methods of the recv
 *  block that delivered the page (after the last restart, before any ESI include). */
function impliedHandling(block: string): string | null {
  const calls = [...block.matchAll(/ VCL_call +c (\w+)(?: (\w+))?$| VCL_return +c (\w+)$| (HitPass) +c /gm)]
  let h: string | null = null
  let prevCall = ''
  for (const m of calls) {
    if (m[4] !== undefined) h = 'hitpass'
    const call = m[1]
    const ret = m[2] ?? m[3]
    if (call === 'recv' && h !== 'hitpass') h = null
    if (call === 'hit') h = 'hit'
    if (call === 'miss' && h !== 'hitpass') h = 'miss'
    if (call === 'pass' && h !== 'hitpass') h = 'pass'
    if (call === 'pipe') h = 'pipe'
    if (call === 'error') h = 'synth'
    if (call !== undefined) prevCall = call
    if (ret === 'deliver' && (prevCall === 'deliver' || prevCall === 'error')) break
  }
  return h
}

/** Each request's own lines (its fd's, from ReqStart to ReqEnd), whatever the layout interleaves. */
function requestBlocks(log: string): Map<number, string> {
  const open = new Map<string, { xid: number; lines: string[] }>()
  const out = new Map<number, string>()
  for (const line of log.split('\n')) {
    const m = /^ *(-?\d+) (\w+) +c (.*)$/.exec(line)
    if (m === null) continue
    const [, fd, tag, data] = m
    if (tag === 'ReqStart') open.set(fd, { xid: Number(data.split(' ')[2]), lines: [] })
    const cur = open.get(fd)
    if (cur === undefined) continue
    cur.lines.push(line)
    if (tag === 'ReqEnd') {
      out.set(cur.xid, cur.lines.join('\n') + '\n')
      open.delete(fd)
    }
  }
  return out
}

function byXid(recs: ClientRecord[]): Map<number, ClientRecord> {
  return new Map(recs.map((r) => [r.vxid, r]))
}

for (const c of CAPTURES) {
  describe(`Varnish ${c.version}${c.run}`, () => {
    const reqStarts = [...text(file(c, '')).matchAll(/ ReqStart +c \S+ \S+ (\d+)/g)].map((m) => Number(m[1]))
    const sent = requestsSent(c)

    for (const layout of c.layouts) {
      it(`${file(c, layout)}: one complete client record per ReqStart`, async () => {
        const recs = await recordsOf([{ file: file(c, layout) }])
        assert.equal(recs.length, c.run === '' ? 289 : 15)
        assert.deepEqual(recs.map((r) => r.vxid).sort(), [...reqStarts].sort())
        assert.deepEqual(recs.filter((r) => r.incomplete !== null || r.side !== 'client'), [])
      })

      it(`${file(c, layout)}: status, method and URL as sent (pipe: no status is logged)`, async () => {
        const recs = await recordsOf([{ file: file(c, layout) }])
        const ours = recs
          .filter((r) => r.request.method !== null)
          .map((r) => [r.handling === 'pipe' ? '200' : String(r.response.status), r.request.method, r.request.url].join(' '))
          .sort()
        assert.deepEqual(ours, sent.map((s) => s.join(' ')).sort())
        for (const r of recs.filter((x) => x.handling === 'pipe')) assert.equal(r.response.status, null)
      })

      it(`${file(c, layout)}: handling as the Hit/HitPass/VCL_call lines imply`, async () => {
        const recs = byXid(await recordsOf([{ file: file(c, layout) }]))
        const want = new Map<number, string | null>()
        for (const [xid, block] of requestBlocks(text(file(c, layout)))) want.set(xid, impliedHandling(block))
        assert.equal(want.size, recs.size)
        const diffs = [...want].filter(([x, h]) => recs.get(x)?.handling !== h).map(([x, h]) => `${x}: ours ${recs.get(x)?.handling} implied ${h}`)
        assert.deepEqual(diffs, [])
      })
    }

    if (c.run === '') {
      it('agrees with varnishncsa line by line (status, method, URL), in ReqEnd order', async () => {
        const ncsa = text(`fixtures/varnish-${c.version}/varnish-${c.version}.ncsa.log`)
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => {
            const m = /"(\S+) (\S+) (\S+)" (\S*) /.exec(l)!
            const url = m[2].replace(/^http:\/\/[^/]+/, '')
            return `${m[4] === '(null)' || m[4] === '' ? '-' : m[4]} ${m[1]} ${url}`
          })
        const recs = await recordsOf([{ file: file(c, '') }])
        // 3.0's varnishncsa leaves pipe requests out; 2.1's prints them and the garbage request with (null).
        const ours = recs
          .filter((r) => c.version === '2.1.5' || r.handling !== 'pipe')
          .map((r) => `${r.response.status ?? '-'} ${r.request.method ?? (c.version === '2.1.5' ? '(null)' : '-')} ${r.request.url ?? (c.version === '2.1.5' ? '(null)' : '')}`)
        const norm = (s: string): string => s.replace(/ http:\/\/localhost-$/, ' ')
        assert.deepEqual(ours.map(norm), ncsa.map(norm))
      })
    }
  })
}

describe('filters work unchanged on old input', () => {
  for (const v of ['3.0.7', '2.1.5']) {
    for (const layout of ['', '.o']) {
      const f = `fixtures/varnish-${v}/varnish-${v}${layout}.log`
      it(`${f}: --req-header 'User-Agent:.*Android' finds the 138 that sent one`, async () => {
        const { parseArgs } = await import('../src/args.js')
        const p = parseArgs(['--req-header', 'User-Agent:.*Android'], '0', () => {})
        assert.ok(p.kind === 'run')
        const recs = await recordsOf([{ file: f }], { filters: p.options.filters })
        assert.equal(recs.length, 138)
      })

      it(`${f}: --slow 1000 --slow-by ttfb finds the 4 whose processing passed 1 s`, async () => {
        const { parseArgs } = await import('../src/args.js')
        const p = parseArgs(['--slow', '1000', '--slow-by', 'ttfb'], '0', () => {})
        assert.ok(p.kind === 'run')
        const recs = await recordsOf([{ file: f }], { filters: p.options.filters })
        assert.equal(recs.length, 4)
        assert.deepEqual(recs.map((r) => r.request.url).sort(), ['/slow', '/slow', '/slow', '/slowcache'])
      })
    }
  }
})

describe('old-format details', () => {
  it('timings from ReqEnd: total = dp + da, ttfb = dp; nan is null', async () => {
    const recs = byXid(await recordsOf([{ file: 'fixtures/varnish-3.0.7/varnish-3.0.7.log' }]))
    // ReqEnd c 2091182386 1795459610.187417746 1795459610.195400715 0.000427008 0.007818937 0.000164032
    assert.deepEqual(recs.get(2091182386)!.timing, { total: 0.007982969, ttfb: 0.007818937 })
    assert.equal(recs.get(2091182386)!.start, '2026-11-23T18:46:50.187417Z')
    // The garbage request: ReqEnd c 2091182674 … nan nan
    assert.deepEqual(recs.get(2091182674)!.timing, { total: 0.000123739, ttfb: null })
  })

  it('the backend fetch is joined (3.0 by BackendXID, 2.1 by X-Varnish), with its name and status', async () => {
    for (const f of ['fixtures/varnish-3.0.7/varnish-3.0.7.log', 'fixtures/varnish-2.1.5/varnish-2.1.5.o.log']) {
      const recs = await recordsOf([{ file: f }])
      const misses = recs.filter((r) => r.handling === 'miss')
      assert.ok(misses.length > 0)
      for (const r of misses) {
        assert.equal(r.backend?.name, 'default', f)
        assert.equal(r.backend?.request.url, r.request.url, f)
        assert.equal(typeof r.backend?.status, 'number', f)
      }
    }
  })

  it('a restart stays inside one xid and is counted; ESI includes do not change the page', async () => {
    for (const v of ['3.0.7', '2.1.5']) {
      const recs = await recordsOf([{ file: `fixtures/varnish-${v}/varnish-${v}.supp.log` }])
      const sent = text(`fixtures/varnish-${v}/requests-supp-${v}.txt`)
      const restarted = recs.filter((r) => r.restarts > 0)
      assert.equal(restarted.length, sent.match(/\/missing\/restart/g)!.length, v)
      for (const r of restarted) assert.match(r.request.url!, /^\/missing\/restart/)
      const esi = recs.filter((r) => r.request.url === '/esi')
      assert.equal(esi.length, sent.match(/\/esi$/gm)!.length, v)
      for (const r of esi) assert.equal(r.response.status, 200)
    }
  })

  it('VCL_Log records are kept', async () => {
    const recs = await recordsOf([{ file: 'fixtures/varnish-3.0.7/varnish-3.0.7.supp.log' }])
    assert.ok(recs.some((r) => r.vcl_log.some((l) => l.startsWith('recv url='))))
  })

  it('backend-only output (-b) gives backend records', async () => {
    const recs = await recordsOf([{ file: 'fixtures/varnish-3.0.7/varnish-3.0.7.b.log' }])
    assert.equal(recs.length, 119)
    assert.ok(recs.every((r) => r.side === 'backend' && r.backend !== null && r.incomplete === null))
  })

  it('interleaved input is bounded by -L and reported', async () => {
    const recs = await recordsOf([{ file: 'fixtures/varnish-3.0.7/varnish-3.0.7.log' }], { maxPending: 1 })
    assert.ok(recs.some((r) => r.incomplete === 'overflow'))
    assert.equal(recs.filter((r) => r.side === 'client').length >= 289, true)
  })

  /** A line of the -o layout; a client's unless `side` says otherwise. */
  const line = (fd: number, tag: string, data: string, side = 'c'): string => `${String(fd).padStart(5)} ${tag.padEnd(12)} ${side} ${data}`
  /** A request that ends at log time 1795459610 (on fd 17, xid 3000). */
  const first = [line(17, 'ReqStart', '127.0.0.1 5017 3000'), line(17, 'ReqEnd', '3000 1795459609.9 1795459610.0 0.1 0.0 0.0')]
  /** The ReqEnd of xid 3001 on fd 13, 300 s later. */
  const slowEnd = line(13, 'ReqEnd', '3001 1795459610.0 1795459910.0 0.1 0.1 299.8')

  it('-T: a first ReqEnd cut short is no log time; what was seen meanwhile does not time out at the next one', async () => {
    const request = (fd: number, xid: number, end: string): string[] => [
      line(fd, 'ReqStart', `127.0.0.1 ${5000 + fd} ${xid}`),
      line(fd, 'RxRequest', 'GET'),
      line(fd, 'RxURL', `/${xid}`),
      line(fd, 'RxProtocol', 'HTTP/1.1'),
      line(fd, 'TxStatus', '200'),
      line(fd, 'ReqEnd', `${xid} ${end}`),
    ]
    const [a, b, c] = [request(13, 2001, '1795459610.0 1795459610.4 0.1 0.2 0.1'), request(11, 2002, '1795459610.1 17'), request(15, 2003, '1795459610.2 1795459610.3 0.1 0.1 0.1')]
    // 2001 begins; 2002's ReqEnd, cut to "17", is the first log time; 2003 begins and ends at the real time; 2001 ends.
    const input = lines(...a.slice(0, 3), ...b, ...c, ...a.slice(3))
    for (const timeout of [120, 0]) {
      const recs = await recordsOf([input], { timeout })
      assert.deepEqual(recs.map((r) => [r.request.url, r.incomplete]), [['/2002', null], ['/2003', null], ['/2001', null]], `-T ${timeout}`)
    }
    // A real step of log time past -T still evicts it.
    const late = lines(...request(17, 2000, '1795459609.9 1795459610.0 0.1 0.0 0.0'), ...a.slice(0, 3), ...request(15, 2003, '1795459610.2 1795459900.3 0.1 0.1 0.1'), ...a.slice(3))
    const recs = await recordsOf([late], { timeout: 120 })
    assert.deepEqual(recs.map((r) => [r.request.url, r.incomplete]), [['/2000', null], ['/2001', 'timeout'], ['/2003', null]])
  })

  it('-T: a request that outlasts it, with no other ReqEnd meanwhile, is printed once, whole, with its backend fetch', async () => {
    // Its fetch (fd 14, xid 3001) ends before it; its ReqEnd, 300 s after the last log time, is the only step.
    const input = lines(
      ...first,
      line(13, 'ReqStart', '127.0.0.1 5013 3001'),
      line(13, 'RxURL', '/slow'),
      line(13, 'Backend', '14 default default'),
      line(14, 'BackendXID', '3001', 'b'),
      line(14, 'TxURL', '/slow', 'b'),
      line(14, 'RxStatus', '200', 'b'),
      line(14, 'BackendReuse', 'default', 'b'),
      line(13, 'TxStatus', '200'),
      slowEnd,
    )
    const recs = await recordsOf([input], { timeout: 120 })
    assert.deepEqual(recs.map((r) => [r.request.url, r.incomplete, r.backend?.request.url ?? null]), [[null, null, null], ['/slow', null, '/slow']])
    // Another request of its xid (an earlier run of varnishd's, never ended) is not spared.
    const again = lines(...first, line(20, 'ReqStart', '127.0.0.1 5020 3001'), line(20, 'RxURL', '/old'), line(13, 'ReqStart', '127.0.0.1 5013 3001'), line(13, 'RxURL', '/slow'), slowEnd)
    const old = await recordsOf([again], { timeout: 120 })
    assert.deepEqual(old.map((r) => [r.request.url, r.incomplete]), [[null, null], ['/old', 'timeout'], ['/slow', null]])
  })
})
