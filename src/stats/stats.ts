// Owns the --stats figures: ClientRecords in (each once, as it is emitted), a StatsReport out (plain data, the
// shape of --stats-json). Memory is bounded whatever the traffic: fixed counters, log-histogram estimators
// (estimator.ts) and a URL table capped by Space-Saving eviction. report() can be called at any time.

import { Estimator } from './estimator.js'
import type { ClientRecord, Handling, IncompleteReason } from '../vsl/types.js'

export const HANDLINGS = ['hit', 'miss', 'pass', 'pipe', 'synth', 'hitmiss', 'hitpass', 'none'] as const
export type HandlingKey = Handling | 'none'
/** Timing is kept for all records and per handling. */
export const TIMING_GROUPS = ['all', ...HANDLINGS] as const
export type TimingGroup = (typeof TIMING_GROUPS)[number]
/** total: the record's timing.total; ttfb: timing.ttfb; backend: its backend fetch's timing.total. */
export const METRICS = ['total', 'ttfb', 'backend'] as const
export type Metric = (typeof METRICS)[number]
/** `other` is a status outside 100-599; `none` no status at all. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other', 'none'] as const
export type StatusClass = (typeof STATUS_CLASSES)[number]
export const INCOMPLETE_REASONS = ['overflow', 'timeout', 'flush', 'eof', 'reused'] as const satisfies readonly IncompleteReason[]

/** Relative error of the timing estimators and of the smaller per-URL ones. */
export const TIMING_ERROR = 0.01
export const URL_ERROR = 0.05
/** Most URLs tracked, and longest URL key kept (longer ones are cut and end in `…`). */
export const URL_CAPACITY = 10000
export const URL_KEY_MAX = 256
/** The histogram: log10 bins of total time from 1 µs (10^-6 s) to 100 s. */
export const HIST_FROM_DECADE = -6
export const HIST_DECADES = 8
/** 24 divides into 1, 2, 3, 4, 6, 8, 12 or 24 columns per decade, whatever the terminal's width. */
export const HIST_BINS_PER_DECADE = 24

/** Seconds; null when there was no value. */
export interface Percentiles {
  n: number
  p50: number | null
  p90: number | null
  p99: number | null
  max: number | null
}

export interface UrlStat extends Percentiles {
  url: string
  /** Requests counted for this URL; an upper bound once the table has evicted (Space-Saving). */
  count: number
  /** How much count may exceed the true number (0 when the URL was never evicted while counted). */
  overcount: number
}

export interface HitMiss {
  hits: number
  misses: number
}

export interface LatencyHistogram {
  of: 'total'
  /** Bin i holds 10^(from_decade + i/bins_per_decade) ≤ total < 10^(from_decade + (i+1)/bins_per_decade) s. */
  from_decade: number
  decades: number
  bins_per_decade: number
  /** hit: handling hit; miss: any other handling (as --misses); records without a handling are not drawn. */
  hits: number[]
  misses: number[]
  below: HitMiss
  above: HitMiss
}

/** The hit/miss latency histogram of --stats and --top: log10 bins from 1 µs, what falls outside counted apart. */
export class HitMissHistogram {
  readonly hits = new Float64Array(HIST_DECADES * HIST_BINS_PER_DECADE)
  readonly misses = new Float64Array(HIST_DECADES * HIST_BINS_PER_DECADE)
  readonly below: HitMiss = { hits: 0, misses: 0 }
  readonly above: HitMiss = { hits: 0, misses: 0 }

  add(v: number, hit: boolean): void {
    const bin = Math.floor((Math.log10(v) - HIST_FROM_DECADE) * HIST_BINS_PER_DECADE)
    if (bin >= 0 && bin < this.hits.length) (hit ? this.hits : this.misses)[bin]++
    else {
      // Also v <= 0 (bin -Infinity) and NaN.
      const out = bin >= 0 ? this.above : this.below
      if (hit) out.hits++
      else out.misses++
    }
  }

  merge(o: HitMissHistogram): void {
    for (let i = 0; i < this.hits.length; i++) {
      this.hits[i] += o.hits[i]
      this.misses[i] += o.misses[i]
    }
    this.below.hits += o.below.hits
    this.below.misses += o.below.misses
    this.above.hits += o.above.hits
    this.above.misses += o.above.misses
  }

  report(): LatencyHistogram {
    return {
      of: 'total',
      from_decade: HIST_FROM_DECADE,
      decades: HIST_DECADES,
      bins_per_decade: HIST_BINS_PER_DECADE,
      hits: Array.from(this.hits),
      misses: Array.from(this.misses),
      below: { ...this.below },
      above: { ...this.above },
    }
  }
}

/** Everything add() saw; records.read counts every record, every other figure only the shown ones. */
export interface StatsReport {
  records: { read: number; shown: number; backend_only: number }
  incomplete: Record<IncompleteReason, number>
  handling: Record<HandlingKey, number>
  /** hits / records with a handling; null when none had one. */
  hit_ratio: number | null
  status: Record<StatusClass, number>
  timing: Record<Metric, Record<TimingGroup, Percentiles>>
  /** Bound on the relative error of every reported percentile (see estimator.ts); max is exact. */
  quantile_error: { timing: number; urls: number }
  urls: {
    /** URLs are grouped by path: the query string is dropped. */
    key: 'path'
    tracked: number
    capacity: number
    evictions: number
    by_count: UrlStat[]
    by_p99: UrlStat[]
  }
  histogram: LatencyHistogram
}

export interface StatsOptions {
  urlCapacity?: number
  /** Rows of each top-URL list. */
  top?: number
}

export class StatsCollector {
  private read = 0
  private shown = 0
  private backendOnly = 0
  private readonly incomplete = zeros(INCOMPLETE_REASONS)
  private readonly handling = zeros(HANDLINGS)
  private readonly status = zeros(STATUS_CLASSES)
  private readonly timing: Record<Metric, Record<TimingGroup, Estimator>>
  private readonly hist = new HitMissHistogram()
  readonly urls: UrlTable
  private readonly top: number

  constructor(opts: StatsOptions = {}) {
    const group = (): Record<TimingGroup, Estimator> => {
      const g = {} as Record<TimingGroup, Estimator>
      for (const k of TIMING_GROUPS) g[k] = new Estimator(TIMING_ERROR)
      return g
    }
    this.timing = { total: group(), ttfb: group(), backend: group() }
    this.urls = new UrlTable(opts.urlCapacity ?? URL_CAPACITY)
    this.top = opts.top ?? 10
  }

  /** Counts one emitted record; `shown` is whether it passed the filters. ESI children are part of their
   *  parent and not counted apart (as varnishncsa without -E). A backend-only record (its client request not in
   *  the input) is counted in records.backend_only and incomplete only. */
  add(rec: ClientRecord, shown: boolean): void {
    this.read++
    if (!shown) return
    this.shown++
    if (rec.incomplete !== null) this.incomplete[rec.incomplete]++
    if (rec.side === 'backend') {
      this.backendOnly++
      return
    }
    const h: HandlingKey = rec.handling ?? 'none'
    this.handling[h]++
    const s = rec.response.status
    this.status[s === null ? 'none' : s >= 100 && s < 600 ? STATUS_BY_HUNDRED[(s / 100) | 0] : 'other']++

    const total = rec.timing.total
    if (total !== null) {
      this.timing.total.all.add(total)
      this.timing.total[h].add(total)
      if (h !== 'none') this.hist.add(total, h === 'hit')
    }
    const ttfb = rec.timing.ttfb
    if (ttfb !== null) {
      this.timing.ttfb.all.add(ttfb)
      this.timing.ttfb[h].add(ttfb)
    }
    const be = rec.backend
    if (be !== null && be.timing.total !== null) {
      this.timing.backend.all.add(be.timing.total)
      this.timing.backend[h].add(be.timing.total)
    }
    const url = rec.request.url
    if (url !== null) this.urls.add(urlKey(url), total)
  }

  report(): StatsReport {
    const withHandling = this.shown - this.backendOnly - this.handling.none
    const timing = {} as Record<Metric, Record<TimingGroup, Percentiles>>
    for (const m of METRICS) {
      const g = {} as Record<TimingGroup, Percentiles>
      for (const k of TIMING_GROUPS) g[k] = percentiles(this.timing[m][k])
      timing[m] = g
    }
    return {
      records: { read: this.read, shown: this.shown, backend_only: this.backendOnly },
      incomplete: { ...this.incomplete },
      handling: { ...this.handling },
      hit_ratio: withHandling === 0 ? null : this.handling.hit / withHandling,
      status: { ...this.status },
      timing,
      quantile_error: { timing: TIMING_ERROR, urls: URL_ERROR },
      urls: {
        key: 'path',
        tracked: this.urls.size,
        capacity: this.urls.capacity,
        evictions: this.urls.evictions,
        by_count: this.urls.topByCount(this.top),
        by_p99: this.urls.topByP99(this.top),
      },
      histogram: this.hist.report(),
    }
  }
}

const STATUS_BY_HUNDRED: StatusClass[] = ['other', '1xx', '2xx', '3xx', '4xx', '5xx']

/** The URL's path: the query string is dropped, so /search?q=a and /search?q=b count together; a path longer
 *  than URL_KEY_MAX is cut there and ends in `…`. */
export function urlKey(url: string): string {
  const q = url.indexOf('?')
  const path = q < 0 ? url : url.slice(0, q)
  return path.length > URL_KEY_MAX ? path.slice(0, URL_KEY_MAX) + '…' : path
}

export interface UrlEntry {
  key: string
  count: number
  over: number
  /** Requests counted as errors (add's `error`: --top counts 5xx responses); --stats does not use it. */
  errors: number
  est: Estimator
  /** Index in the heap. */
  pos: number
}

/** The most frequent URLs in bounded memory: Space-Saving (Metwally et al. 2005). At most `capacity` entries;
 *  a new URL when the table is full replaces the one with the smallest count and inherits that count (its
 *  `over`), so every URL seen more than N/capacity times out of N is in the table, and count − over ≤ true count
 *  ≤ count. A min-heap on count finds the entry to evict; each entry has a small estimator of its total time,
 *  reset (its memory reused) on eviction, so a p99 covers the requests since the URL last entered the table. */
export class UrlTable {
  private readonly map = new Map<string, UrlEntry>()
  private readonly heap: UrlEntry[] = []
  evictions = 0

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.heap.length
  }

  /** Bytes held by the entries' estimators (at most capacity × Estimator.maxBytes). */
  get estimatorBytes(): number {
    let n = 0
    for (const e of this.heap) n += e.est.bytes
    return n
  }

  add(key: string, seconds: number | null, error = false): void {
    const e = this.entry(key, 1)
    if (error) e.errors++
    if (seconds !== null) e.est.add(seconds)
    this.siftDown(e.pos)
  }

  /** Adds every entry of another table (as if its requests had been added here): counts, overcounts, errors and
   *  the time estimators add up. --top sums its per-second tables into the window's this way. */
  merge(other: UrlTable): void {
    for (const o of other.heap) {
      const e = this.entry(o.key, o.count)
      e.over += o.over
      e.errors += o.errors
      e.est.merge(o.est)
      this.siftDown(e.pos)
    }
  }

  /** The entries, in no order (read only). */
  entries(): readonly Readonly<UrlEntry>[] {
    return this.heap
  }

  /** The entry of `key` with `n` more requests counted: found, new, or taking the place of the least counted
   *  entry (Space-Saving); the caller sifts it down. */
  private entry(key: string, n: number): UrlEntry {
    let e = this.map.get(key)
    if (e !== undefined) {
      e.count += n
    } else if (this.heap.length < this.capacity) {
      e = { key: ownString(key), count: n, over: 0, errors: 0, est: new Estimator(URL_ERROR), pos: this.heap.length }
      this.map.set(e.key, e)
      this.heap.push(e)
      this.siftUp(e.pos)
    } else {
      e = this.heap[0]
      this.map.delete(e.key)
      e.key = ownString(key)
      e.over = e.count
      e.count += n
      e.errors = 0
      e.est.reset()
      this.map.set(e.key, e)
      this.evictions++
    }
    return e
  }

  /** The n largest counts (then the smaller overcount, then the URL). */
  topByCount(n: number): UrlStat[] {
    return [...this.heap]
      .sort((a, b) => b.count - a.count || a.over - b.over || cmp(a.key, b.key))
      .slice(0, n)
      .map(urlStat)
  }

  /** The n largest p99 total times (then the larger count, then the URL), among URLs with a timed request. */
  topByP99(n: number): UrlStat[] {
    return this.heap
      .filter((e) => e.est.count > 0)
      .map(urlStat)
      .sort((a, b) => b.p99! - a.p99! || b.count - a.count || cmp(a.url, b.url))
      .slice(0, n)
  }

  private siftUp(i: number): void {
    const h = this.heap
    const e = h[i]
    while (i > 0) {
      const p = (i - 1) >> 1
      if (h[p].count <= e.count) break
      h[i] = h[p]
      h[i].pos = i
      i = p
    }
    h[i] = e
    e.pos = i
  }

  private siftDown(i: number): void {
    const h = this.heap
    const e = h[i]
    const n = h.length
    for (;;) {
      let c = 2 * i + 1
      if (c >= n) break
      if (c + 1 < n && h[c + 1].count < h[c].count) c++
      if (h[c].count >= e.count) break
      h[i] = h[c]
      h[i].pos = i
      i = c
    }
    h[i] = e
    e.pos = i
  }
}

function urlStat(e: UrlEntry): UrlStat {
  const p = percentiles(e.est)
  return { url: e.key, count: e.count, overcount: e.over, n: p.n, p50: p.p50, p90: p.p90, p99: p.p99, max: p.max }
}

export function percentiles(est: Estimator): Percentiles {
  return {
    n: est.count,
    p50: est.quantile(0.5),
    p90: est.quantile(0.9),
    p99: est.quantile(0.99),
    max: est.count === 0 ? null : est.max,
  }
}

/** A copy that does not keep its source alive: a URL may be a slice of a whole input chunk (V8 sliced
 *  strings reference their parent), and the table keeps its keys for the whole run. */
function ownString(s: string): string {
  return (' ' + s).slice(1)
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  const o = {} as Record<K, number>
  for (const k of keys) o[k] = 0
  return o
}
