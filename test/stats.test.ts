// --stats: the estimator against exact nearest-rank quantiles (random data and a real capture), the counts against
// varnishncsa, the URL table's bounded memory, the text view against test/golden/stats.lab.out (UPDATE_GOLDEN=1
// rewrites it) and the JSON's keys.

import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { Grouper } from '../src/group/grouper.js'
import { parseLine } from '../src/parse/line.js'
import { createPalette } from '../src/render/palette.js'
import { Estimator, nearestRank } from '../src/stats/estimator.js'
import { renderStats, statsJson } from '../src/stats/render.js'
import { HANDLINGS, METRICS, StatsCollector, TIMING_ERROR, TIMING_GROUPS, URL_ERROR, UrlTable, urlKey, type StatsReport } from '../src/stats/stats.js'
import { buildRecord } from '../src/vsl/record.js'
import type { ClientRecord } from '../src/vsl/types.js'
import { readNcsa } from './ncsa.js'
import { repoPath, rng } from './support.js'

const QS = [0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1, ...Array.from({ length: 99 }, (_, i) => (i + 1) / 100)]

/** Exact nearest-rank quantile of sorted values. */
function exact(sorted: number[], q: number): number {
  return sorted[nearestRank(q, sorted.length) - 1]
}

/** Every quantile is within the relative bound of the exact one (values of 1 µs and more); q 0 and 1 exact. */
function assertBound(est: Estimator, values: number[], what: string): void {
  const sorted = [...values].sort((a, b) => a - b)
  assert.equal(est.count, values.length, what)
  for (const q of QS) {
    const want = exact(sorted, q)
    const got = est.quantile(q)!
    if (q === 0 || q === 1) assert.equal(got, want, `${what} q=${q}`)
    else assert.ok(Math.abs(got - want) <= est.relativeError * want * (1 + 1e-9), `${what} q=${q}: ${got} vs ${want}`)
  }
}

/** Every client record of a capture, built in-process (as test/query.test.ts does). */
function recordsIn(file: string): ClientRecord[] {
  const list: ClientRecord[] = []
  const g = new Grouper({ maxPending: 10000, timeout: 0 }, (tree, inc) => list.push(buildRecord(tree, inc)))
  for (const line of readFileSync(repoPath(file), 'latin1').split('\n')) g.push(parseLine(line))
  g.flush('eof')
  return list
}

function collect(recs: ClientRecord[]): StatsReport {
  const c = new StatsCollector()
  for (const r of recs) c.add(r, true)
  return c.report()
}

describe('Estimator', () => {
  const dists: Array<[string, (r: () => number) => number]> = [
    ['log-uniform 1 µs .. 1000 s', (r) => 1e-6 * Math.pow(1e9, r())],
    ['log-normal around 10 ms', (r) => 0.01 * Math.exp(1.5 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()))],
    ['hits at ~50 µs, misses at ~50 ms, whole µs', (r) => Math.max(1, Math.round((r() < 0.7 ? 50 : 50000) * (0.5 + r()))) / 1e6],
    ['few distinct values', (r) => [0.001, 0.002, 0.5][Math.floor(r() * 3)]],
  ]
  for (const [name, draw] of dists) {
    for (const eps of [TIMING_ERROR, URL_ERROR]) {
      it(`${name}, ε ${eps}: quantiles within ε of the exact nearest-rank value`, () => {
        const r = rng(42)
        for (const n of [1, 2, 3, 10, 101, 20000]) {
          const est = new Estimator(eps)
          const values = Array.from({ length: n }, () => draw(r))
          for (const v of values) est.add(v)
          assertBound(est, values, `${name} n=${n}`)
        }
      })
    }
  }

  it('memory: 1038 counters (8.3 KB) at 1%, 209 at 5%, whatever the number of values', () => {
    const e = new Estimator(0.01)
    assert.equal(e.maxBytes, 1038 * 8)
    assert.equal(new Estimator(0.05).maxBytes, 209 * 8)
    assert.equal(e.bytes, 0)
    const r = rng(7)
    for (let i = 0; i < 1_000_000; i++) e.add(1e-6 * Math.pow(1e9, r()))
    assert.ok(e.bytes <= e.maxBytes, `${e.bytes}`)
    const small = new Estimator(0.01)
    for (let i = 0; i < 100_000; i++) small.add(0.01 + r() * 0.001)
    assert.ok(small.bytes <= 80 * 8, `a narrow spread takes few counters: ${small.bytes}`)
  })

  it('under 1 µs: absolute error under 1 µs; over 1000 s: reported as max; empty: null', () => {
    const e = new Estimator()
    assert.equal(e.quantile(0.5), null)
    for (const v of [0, 0, 0, 2e-7, 5e-7, 0.001, 2000, 3000, 4000]) e.add(v)
    assert.equal(e.underflow, 5)
    assert.equal(e.overflow, 3)
    assert.equal(e.quantile(0), 0)
    assert.ok(e.quantile(0.5)! < 1e-6)
    assert.equal(e.quantile(0.8), 4000)
    assert.equal(e.quantile(1), 4000)
    e.add(NaN)
    assert.equal(e.count, 9, 'NaN is ignored')
  })

  it('merge gives the quantiles of the union; reset forgets', () => {
    const r = rng(3)
    const a = new Estimator()
    const b = new Estimator()
    const both = new Estimator()
    const values: number[] = []
    for (let i = 0; i < 5000; i++) {
      const v = i % 2 === 0 ? 1e-5 * (1 + r()) : 10 * (1 + r()) // far apart: b's counters lie outside a's
      values.push(v)
      ;(i % 2 === 0 ? a : b).add(v)
      both.add(v)
    }
    a.merge(b)
    for (const q of QS) assert.equal(a.quantile(q), both.quantile(q), `q=${q}`)
    assertBound(a, values, 'merged')
    assert.throws(() => a.merge(new Estimator(0.05)), RangeError)
    a.reset()
    assert.equal(a.count, 0)
    assert.equal(a.quantile(0.5), null)
    a.add(0.5)
    assert.equal(a.quantile(0.5), 0.5)
  })
})

describe('stats of the Varnish 7.1 capture', () => {
  const recs = recordsIn('fixtures/varnish-7.1/small.vxid.log')
  const report = collect(recs)

  it('every percentile, overall and per handling, within 1% of the exact nearest-rank value', () => {
    const value = (r: ClientRecord, m: (typeof METRICS)[number]): number | null =>
      m === 'total' ? r.timing.total : m === 'ttfb' ? r.timing.ttfb : (r.backend?.timing.total ?? null)
    let checked = 0
    for (const m of METRICS) {
      for (const g of TIMING_GROUPS) {
        const vals = recs
          .filter((r) => g === 'all' || (r.handling ?? 'none') === g)
          .map((r) => value(r, m))
          .filter((v): v is number => v !== null)
          .sort((a, b) => a - b)
        const t = report.timing[m][g]
        assert.equal(t.n, vals.length, `${m} ${g} n`)
        if (vals.length === 0) {
          assert.deepEqual([t.p50, t.p90, t.p99, t.max], [null, null, null, null])
          continue
        }
        assert.equal(t.max, vals[vals.length - 1], `${m} ${g} max`)
        for (const [q, got] of [[0.5, t.p50], [0.9, t.p90], [0.99, t.p99]] as const) {
          const want = exact(vals, q)
          assert.ok(Math.abs(got! - want) <= TIMING_ERROR * want * (1 + 1e-9), `${m} ${g} p${q * 100}: ${got} vs ${want}`)
          checked++
        }
        // And the estimator itself at every quantile.
        const e = new Estimator()
        vals.forEach((v) => e.add(v))
        assertBound(e, vals, `${m} ${g}`)
      }
    }
    assert.ok(checked >= 30, `${checked}`)
  })

  it('top URLs by count agree with varnishncsa, query strings dropped', () => {
    const rows = readNcsa('fixtures/varnish-7.1/small.ncsa.tsv', 'fixtures/varnish-7.1/ncsa.columns.tsv')
    const byPath = new Map<string, number>()
    for (const r of rows) {
      const path = r.url.split('?')[0]
      byPath.set(path, (byPath.get(path) ?? 0) + 1)
    }
    const want = [...byPath].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10)
    // Paths here are ASCII, so varnishncsa's escaping does not change them.
    assert.deepEqual(report.urls.by_count.map((u) => [u.url, u.count]), want)
    assert.equal(report.urls.tracked, byPath.size)
    assert.equal(report.urls.evictions, 0)
  })

  it('the histogram holds every timed hit and miss once', () => {
    const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0)
    const h = report.histogram
    const timed = recs.filter((r) => r.timing.total !== null)
    assert.equal(sum(h.hits) + h.below.hits + h.above.hits, timed.filter((r) => r.handling === 'hit').length)
    assert.equal(sum(h.misses) + h.below.misses + h.above.misses, timed.filter((r) => r.handling !== null && r.handling !== 'hit').length)
  })

  it('records not shown count as read only', () => {
    const c = new StatsCollector()
    recs.forEach((r, i) => c.add(r, i % 3 === 0))
    const shown = recs.filter((_, i) => i % 3 === 0)
    const r = c.report()
    assert.equal(r.records.read, recs.length)
    assert.equal(r.records.shown, shown.length)
    assert.deepEqual({ ...r, records: null }, { ...collect(shown), records: null })
  })
})

describe('counts against varnishncsa', () => {
  for (const [dir, name] of [['fixtures/varnish-7.1', 'small'], ['fixtures/lab', 'lab']]) {
    it(`${dir}: handling, status classes and hit ratio`, () => {
      const report = collect(recordsIn(`${dir}/${name}.vxid.log`))
      const rows = readNcsa(`${dir}/${name}.ncsa.tsv`, `${dir}/ncsa.columns.tsv`)
      const count = (f: (r: Record<string, string>) => boolean): number => rows.filter(f).length
      assert.equal(report.records.read, rows.length)
      assert.equal(report.records.shown, rows.length)
      assert.equal(report.records.backend_only, 0)
      const h = report.handling
      // varnishncsa (7.1, and the lab's) prints hitmiss as miss and hitpass as pass.
      assert.equal(h.hit, count((r) => r.handling === 'hit'))
      assert.equal(h.miss + h.hitmiss, count((r) => r.handling === 'miss'))
      assert.equal(h.pass + h.hitpass, count((r) => r.handling === 'pass'))
      assert.equal(h.pipe, count((r) => r.handling === 'pipe'))
      assert.equal(h.synth, count((r) => r.handling === 'synth'))
      assert.equal(h.none, count((r) => r.handling === '-'))
      assert.ok(h.hit > 0 && h.miss > 0 && h.pass > 0 && h.pipe > 0 && h.synth > 0 && h.hitmiss > 0 && h.hitpass > 0)
      for (const cls of ['1xx', '2xx', '3xx', '4xx', '5xx'] as const) {
        assert.equal(report.status[cls], count((r) => r.status[0] === cls[0] && r.status.length === 3), cls)
      }
      assert.equal(report.status.none, count((r) => r.status === '-'))
      assert.equal(report.status.other, 0)
      const withHandling = count((r) => r.handling !== '-')
      assert.equal(report.hit_ratio, count((r) => r.handling === 'hit') / withHandling)
      assert.deepEqual(report.incomplete, { overflow: 0, timeout: 0, flush: 0, eof: 0, reused: 0 })
    })
  }
  it('the lab capture has requests without a handling, the 7.1 one pipes without a status', () => {
    assert.ok(collect(recordsIn('fixtures/lab/lab.vxid.log')).handling.none > 0)
    assert.ok(collect(recordsIn('fixtures/varnish-7.1/small.vxid.log')).status.none > 0)
  })
})

describe('URL table', () => {
  it('groups by path: the query string is dropped; long paths are cut', () => {
    assert.equal(urlKey('/search?q=a'), '/search')
    assert.equal(urlKey('/search'), '/search')
    assert.equal(urlKey('/?'), '/')
    assert.equal(urlKey('/' + 'a'.repeat(300)), '/' + 'a'.repeat(255) + '…')
  })

  it('1,000,000 distinct URLs: the table stays at its cap and finds the heavy hitters', () => {
    const t = new UrlTable(10000)
    const r = rng(11)
    // Ten heavy paths, /heavy/k seen 2000·(k+1) times, spread among a million paths seen once each.
    const heavy = Array.from({ length: 10 }, (_, k) => ({ url: `/heavy/${k}`, left: 2000 * (k + 1), seconds: 0.001 * (k + 1) }))
    const total = 1_000_000 + heavy.reduce((n, h) => n + h.left, 0)
    let distinct = 0
    for (let i = 0; i < total; i++) {
      const pick = r() * (total - i)
      let acc = 0
      let h = undefined as (typeof heavy)[number] | undefined
      for (const x of heavy) {
        acc += x.left
        if (pick < acc) {
          h = x
          break
        }
      }
      if (h !== undefined) {
        h.left--
        t.add(h.url, h.seconds)
      } else t.add(`/page/${distinct++}`, 0.5)
      if (i % 100000 === 0) assert.ok(t.size <= 10000)
    }
    assert.equal(distinct, 1_000_000)
    assert.equal(t.size, 10000)
    assert.ok(t.evictions >= 1_000_000 - 10000)
    assert.ok(t.estimatorBytes <= 10000 * new Estimator(URL_ERROR).maxBytes)
    const top = t.topByCount(10)
    assert.deepEqual(top.map((u) => u.url), heavy.map((h) => h.url).reverse())
    for (const u of top) {
      const trueCount = 2000 * (Number(u.url.split('/')[2]) + 1)
      // Space-Saving: count − overcount ≤ true ≤ count, and the overcount is at most N / capacity.
      assert.ok(u.count - u.overcount <= trueCount && trueCount <= u.count, `${u.url} ${u.count} ${u.overcount}`)
      assert.ok(u.overcount <= total / 10000)
      assert.ok(Math.abs(u.p99! - 0.001 * (Number(u.url.split('/')[2]) + 1)) < 1e-12, 'one value: exact')
    }
  })

  it('top by p99 ranks by the slowest, with n the timed requests', () => {
    const c = new StatsCollector({ top: 2 })
    const rec = (url: string, total: number | null): ClientRecord =>
      ({ side: 'client', handling: 'miss', incomplete: null, response: { status: 200 }, request: { url }, timing: { total, ttfb: null }, backend: null }) as unknown as ClientRecord
    for (let i = 0; i < 100; i++) c.add(rec('/fast?i=' + i, 0.001), true)
    c.add(rec('/slow', 2), true)
    c.add(rec('/slow', null), true)
    c.add(rec('/mid', 0.5), true)
    const r = c.report()
    assert.deepEqual(r.urls.by_p99.map((u) => [u.url, u.count, u.n]), [['/slow', 2, 1], ['/mid', 1, 1]])
    assert.deepEqual(r.urls.by_count.map((u) => [u.url, u.count]), [['/fast', 100], ['/slow', 2]])
  })
})

describe('rendering', () => {
  it('golden: the text view of fixtures/lab/lab.vxid.log, color off, 80 columns', () => {
    const text = renderStats(collect(recordsIn('fixtures/lab/lab.vxid.log')), createPalette(false), 80)
    const path = repoPath('test/golden/stats.lab.out')
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
      mkdirSync(repoPath('test/golden'), { recursive: true })
      writeFileSync(path, text)
      if (process.env.UPDATE_GOLDEN !== '1') assert.fail(`created ${path}: review it, then run again`)
    }
    assert.equal(text, readFileSync(path, 'utf8'))
    for (const line of text.split('\n')) assert.ok(line.length <= 80, `too wide: ${line}`)
  })

  it('fits narrower and wider terminals; color changes only escapes', () => {
    const report = collect(recordsIn('fixtures/varnish-7.1/small.vxid.log'))
    for (const w of [60, 100, 200]) {
      const text = renderStats(report, createPalette(false), w)
      for (const line of text.split('\n')) assert.ok(line.length <= Math.max(w, 72), `${w}: ${line}`)
    }
    const colored = renderStats(report, createPalette(true), 80)
    assert.notEqual(colored, renderStats(report, createPalette(false), 80))
    // eslint-disable-next-line no-control-regex
    assert.equal(colored.replace(/\x1b\[[0-9;]*m/g, ''), renderStats(report, createPalette(false), 80))
  })

  it('an empty report renders', () => {
    const text = renderStats(new StatsCollector().report(), createPalette(false))
    assert.match(text, /0 read, 0 shown/)
    assert.match(text, /hit ratio +-/)
  })

  it('statsJson: one line of JSON with the documented keys, durations in seconds', () => {
    const report = collect(recordsIn('fixtures/lab/lab.vxid.log'))
    const json = statsJson(report)
    assert.ok(json.endsWith('}\n'))
    assert.equal(json.indexOf('\n'), json.length - 1)
    const o = JSON.parse(json) as StatsReport
    assert.deepEqual(Object.keys(o), ['records', 'incomplete', 'handling', 'hit_ratio', 'status', 'timing', 'quantile_error', 'urls', 'histogram'])
    assert.deepEqual(Object.keys(o.records), ['read', 'shown', 'backend_only'])
    assert.deepEqual(Object.keys(o.incomplete), ['overflow', 'timeout', 'flush', 'eof', 'reused'])
    assert.deepEqual(Object.keys(o.handling), [...HANDLINGS])
    assert.deepEqual(Object.keys(o.status), ['1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'none'])
    assert.deepEqual(Object.keys(o.timing), [...METRICS])
    for (const m of METRICS) {
      assert.deepEqual(Object.keys(o.timing[m]), [...TIMING_GROUPS])
      for (const g of TIMING_GROUPS) assert.deepEqual(Object.keys(o.timing[m][g]), ['n', 'p50', 'p90', 'p99', 'max'])
    }
    assert.deepEqual(Object.keys(o.urls), ['key', 'tracked', 'capacity', 'evictions', 'by_count', 'by_p99'])
    assert.deepEqual(Object.keys(o.urls.by_count[0]), ['url', 'count', 'overcount', 'n', 'p50', 'p90', 'p99', 'max'])
    assert.deepEqual(Object.keys(o.histogram), ['of', 'from_decade', 'decades', 'bins_per_decade', 'hits', 'misses', 'below', 'above'])
    assert.equal(o.histogram.hits.length, 8 * 24)
    assert.equal(o.timing.total.all.max, report.timing.total.all.max)
    assert.equal(o.timing.total.all.n, report.timing.total.all.n)
    assert.ok(Math.abs(o.timing.total.all.p50! - report.timing.total.all.p50!) < 1e-9)
    assert.equal(statsJson(report), json, 'stable')
  })
})
