// Owns --top's sliding window: TopSamples with their time in, a TopView out (plain data, what the screen shows).
// The window is a ring of per-second TopCounts, so it slides by dropping a whole second, never by looking at
// records again; its figures are the merge of the seconds still in it, made once per refresh. Beside it, one
// TopCounts for the whole run. Memory is bounded: `seconds` per-second counts (each with a URL table of at most
// WINDOW_URL_CAPACITY paths), and the run's (URL_CAPACITY paths).

import { HANDLINGS, STATUS_CLASSES, URL_CAPACITY, percentiles } from '../stats/stats.js'
import type { HandlingKey, LatencyHistogram, Percentiles, StatusClass, TimingGroup } from '../stats/stats.js'
import { TopCounts, type SlowRequest, type TopSample } from './counts.js'

/** Paths counted per second of the window (Space-Saving: a path rarer than 1/128 of a second's requests may be
 *  left out of that second, and the counts of the others are then upper bounds). */
export const WINDOW_URL_CAPACITY = 128
/** Longest window, in seconds. */
export const MAX_WINDOW = 3600

export interface UrlRow extends Percentiles {
  url: string
  count: number
  /** How much count may exceed the true number (Space-Saving). */
  over: number
  /** 5xx responses. */
  errors: number
}

export interface BackendRow extends Percentiles {
  name: string
  fetches: number
  /** FetchError, or no response. */
  failed: number
  s5xx: number
}

/** The figures of one span: the window or the whole run. */
export interface SpanView {
  /** Seconds the span covers (the rate's denominator). */
  seconds: number
  requests: number
  backendOnly: number
  /** Requests per second, null before any time has passed. */
  rate: number | null
  /** hits / requests with a handling, as --stats. */
  hitRatio: number | null
  handling: Record<HandlingKey, number>
  status: Record<StatusClass, number>
  timing: Record<TimingGroup, Percentiles>
  urls: UrlRow[]
  /** Some path was evicted: counts are upper bounds. */
  urlsEvicted: boolean
  backends: BackendRow[]
  /** Slowest first. */
  slowest: SlowRequest[]
  histogram: LatencyHistogram
}

export interface TopView {
  /** The newest time (epoch seconds) the figures run to; null before the first record when time is log time. */
  now: number | null
  window: number
  last: SpanView
  total: SpanView
}

export class TopWindow {
  private readonly ring: (TopCounts | null)[]
  /** The second each slot holds. */
  private readonly secs: Float64Array
  private head = -Infinity
  private readonly total = new TopCounts(URL_CAPACITY)
  /** When counting began: the start of the run (wall clock), or the earliest record (log time). */
  private first: number
  private latest = -Infinity

  /** `start`: when the run started (wall clock); null to start at the first record's time (log time). */
  constructor(
    readonly seconds: number,
    start: number | null,
  ) {
    this.ring = new Array<TopCounts | null>(seconds).fill(null)
    this.secs = new Float64Array(seconds).fill(-Infinity)
    this.first = start ?? Infinity
  }

  /** Counts a record at time `t` (epoch seconds). A record older than the window counts in the run's figures only. */
  add(s: TopSample, t: number): void {
    this.total.add(s)
    if (t < this.first) this.first = t
    if (t > this.latest) this.latest = t
    const sec = Math.floor(t)
    if (sec > this.head) this.head = sec
    else if (sec <= this.head - this.seconds) return
    const slot = ((sec % this.seconds) + this.seconds) % this.seconds
    let c = this.ring[slot]
    if (c === null || this.secs[slot] !== sec) {
      // What the slot held is a second that has left the window.
      c = this.ring[slot] = new TopCounts(WINDOW_URL_CAPACITY)
      this.secs[slot] = sec
    }
    c.add(s)
  }

  /** Counts a record that has no time (log time, before any record had one): in the run's figures only. */
  addToTotal(s: TopSample): void {
    this.total.add(s)
  }

  /** The newest record time seen (log time's "now"), or null. */
  get newest(): number | null {
    return this.latest === -Infinity ? null : this.latest
  }

  /** The figures at time `now`: the window is the seconds in (now − seconds, now]. */
  view(now: number | null): TopView {
    const last = new TopCounts(this.seconds * WINDOW_URL_CAPACITY)
    let covered = 0
    let sinceFirst = 0
    if (now !== null) {
      const nowSec = Math.floor(now)
      for (let i = 0; i < this.seconds; i++) {
        const c = this.ring[i]
        if (c !== null && this.secs[i] <= nowSec && this.secs[i] > nowSec - this.seconds) last.merge(c)
      }
      sinceFirst = this.first === Infinity ? 0 : Math.max(0, now - this.first)
      covered = Math.min(this.seconds - 1 + (now - nowSec), sinceFirst)
    }
    return { now, window: this.seconds, last: spanView(last, covered), total: spanView(this.total, sinceFirst) }
  }
}

function spanView(c: TopCounts, seconds: number): SpanView {
  const handling = {} as Record<HandlingKey, number>
  HANDLINGS.forEach((h, i) => (handling[h] = c.handling[i]))
  const status = {} as Record<StatusClass, number>
  STATUS_CLASSES.forEach((s, i) => (status[s] = c.status[i]))
  const timing = { all: percentiles(c.timing[0]) } as Record<TimingGroup, Percentiles>
  HANDLINGS.forEach((h, i) => (timing[h] = percentiles(c.timing[1 + i])))
  const withHandling = c.requests - handling.none
  const urls: UrlRow[] = c.urls.entries().map((e) => ({ url: e.key, count: e.count, over: e.over, errors: e.errors, ...percentiles(e.est) }))
  const backends: BackendRow[] = [...c.backends].map(([name, b]) => ({ name, fetches: b.fetches, failed: b.failed, s5xx: b.s5xx, ...percentiles(b.est) }))
  return {
    seconds,
    requests: c.requests,
    backendOnly: c.backendOnly,
    // Less than a second is too little to call a rate: it is taken over one second then.
    rate: seconds <= 0 && c.requests === 0 ? null : c.requests / Math.max(seconds, 1),
    hitRatio: withHandling === 0 ? null : handling.hit / withHandling,
    handling,
    status,
    timing,
    urls,
    urlsEvicted: c.urls.evictions > 0 || urls.some((u) => u.over > 0),
    backends,
    slowest: c.slowest.slice(),
    histogram: c.hist.report(),
  }
}
