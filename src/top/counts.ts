// Owns the figures of one span of time for --top: ClientRecords in (through a TopSample, taken once per record),
// counters out — requests by handling and status class, the total time per handling, URLs, backends, the
// slowest requests and the hit/miss histogram. One TopCounts holds one second of the sliding window, another the
// whole run; the window's figures are the merge of its seconds. Reuses --stats' estimator and URL table.

import { Estimator } from '../stats/estimator.js'
import {
  HANDLINGS,
  HitMissHistogram,
  STATUS_CLASSES,
  TIMING_ERROR,
  UrlTable,
  urlKey,
  type HandlingKey,
} from '../stats/stats.js'
import type { ClientRecord } from '../vsl/types.js'

/** Slowest requests kept per span (the screen shows what fits). */
export const SLOWEST_KEPT = 20
/** Backends named per span; more are counted under OTHER_BACKENDS. */
export const BACKENDS_KEPT = 64
export const OTHER_BACKENDS = '(others)'
/** A fetch whose backend the log does not name (it failed before a connection was opened, and its FetchError
 *  does not say). */
export const UNNAMED_BACKEND = '-'

/** What --top keeps of a record: taken once per record, for every TopCounts it goes into. */
export interface TopSample {
  /** Index in HANDLINGS (hit … hitpass, none). */
  handling: number
  /** Index in STATUS_CLASSES. */
  status: number
  /** Response status, null when none. */
  code: number | null
  total: number | null
  /** The URL as received (null for none), and its path, the key of the URL tables. */
  url: string | null
  path: string | null
  /** A 5xx response (the URL table's error count). */
  error: boolean
  vxid: number
  /** Log time the request started (epoch seconds), or null. */
  start: number | null
  /** Backend-only record (its client request not in the input): only its fetch is counted. */
  backendOnly: boolean
  /** The fetches: the backend fetch and a background fetch. */
  fetches: FetchSample[]
}

export interface FetchSample {
  name: string
  /** FetchError, or no response at all (a pipe aside). */
  failed: boolean
  /** The backend's (or Varnish's synthetic) response was 5xx. */
  s5xx: boolean
  total: number | null
}

/** One of the slowest requests, for the screen. */
export interface SlowRequest {
  total: number
  vxid: number
  code: number | null
  handling: HandlingKey
  /** As received; escaped by the renderer. */
  url: string | null
  start: number | null
}

export interface BackendCounts {
  fetches: number
  failed: number
  s5xx: number
  est: Estimator
}

const HANDLING_INDEX = new Map<HandlingKey, number>(HANDLINGS.map((h, i) => [h, i]))
const NONE = HANDLINGS.indexOf('none')
const STATUS_NONE = STATUS_CLASSES.indexOf('none')
const STATUS_OTHER = STATUS_CLASSES.indexOf('other')
const BACKEND_NAMED_IN_ERROR = /^backend ([^\s:]+):/

/** The sample of a record (the only per-record allocation of --top besides the URL and backend tables'). */
export function sampleOf(rec: ClientRecord): TopSample {
  const s = rec.response.status
  const url = rec.request.url
  const fetches: FetchSample[] = []
  if (rec.backend !== null) fetches.push(fetchOf(rec.backend))
  if (rec.bgfetch !== null) fetches.push(fetchOf(rec.bgfetch))
  return {
    handling: rec.handling === null ? NONE : HANDLING_INDEX.get(rec.handling)!,
    status: s === null ? STATUS_NONE : s >= 100 && s < 600 ? ((s / 100) | 0) - 1 : STATUS_OTHER,
    code: s,
    total: rec.timing.total,
    url,
    path: url === null ? null : urlKey(url),
    error: s !== null && s >= 500 && s < 600,
    vxid: rec.vxid,
    start: rec.startEpoch,
    backendOnly: rec.side === 'backend',
    fetches,
  }
}

function fetchOf(f: NonNullable<ClientRecord['backend']>): FetchSample {
  // A fetch that failed before a connection has no BackendOpen; Varnish names the backend in its FetchError
  // ("backend dead: fail errno 111 (Connection refused)", "backend origin: unhealthy").
  let name = f.name
  if (name === null && f.error !== null) name = BACKEND_NAMED_IN_ERROR.exec(f.error)?.[1] ?? null
  return {
    name: name ?? UNNAMED_BACKEND,
    // A pipe has no response to log: not a failure.
    failed: f.error !== null || (f.status === null && f.reason !== 'pipe'),
    s5xx: f.status !== null && f.status >= 500 && f.status < 600,
    total: f.timing.total,
  }
}

export class TopCounts {
  /** Client records. */
  requests = 0
  backendOnly = 0
  readonly handling = new Float64Array(HANDLINGS.length)
  readonly status = new Float64Array(STATUS_CLASSES.length)
  /** Total time: [0] all, [1 + i] handling i. */
  readonly timing: Estimator[] = Array.from({ length: HANDLINGS.length + 1 }, () => new Estimator(TIMING_ERROR))
  readonly hist = new HitMissHistogram()
  readonly urls: UrlTable
  readonly backends = new Map<string, BackendCounts>()
  /** Slowest first, at most SLOWEST_KEPT. */
  readonly slowest: SlowRequest[] = []

  constructor(urlCapacity: number) {
    this.urls = new UrlTable(urlCapacity)
  }

  add(s: TopSample): void {
    for (let i = 0; i < s.fetches.length; i++) this.addFetch(s.fetches[i])
    if (s.backendOnly) {
      this.backendOnly++
      return
    }
    this.requests++
    this.handling[s.handling]++
    this.status[s.status]++
    const t = s.total
    if (t !== null) {
      this.timing[0].add(t)
      this.timing[1 + s.handling].add(t)
      if (s.handling !== NONE) this.hist.add(t, s.handling === 0)
      const slow = this.slowest
      if (slow.length < SLOWEST_KEPT || t > slow[slow.length - 1].total) this.addSlow(s, t)
    }
    if (s.path !== null) this.urls.add(s.path, t, s.error)
  }

  /** Adds another span's counts (the window is the merge of its seconds). */
  merge(o: TopCounts): void {
    this.requests += o.requests
    this.backendOnly += o.backendOnly
    for (let i = 0; i < this.handling.length; i++) this.handling[i] += o.handling[i]
    for (let i = 0; i < this.status.length; i++) this.status[i] += o.status[i]
    for (let i = 0; i < this.timing.length; i++) this.timing[i].merge(o.timing[i])
    this.hist.merge(o.hist)
    this.urls.merge(o.urls)
    for (const [name, b] of o.backends) {
      const into = this.backend(name)
      into.fetches += b.fetches
      into.failed += b.failed
      into.s5xx += b.s5xx
      into.est.merge(b.est)
    }
    for (const r of o.slowest) {
      if (this.slowest.length < SLOWEST_KEPT || r.total > this.slowest[this.slowest.length - 1].total) this.insertSlow(r)
    }
  }

  private addFetch(f: FetchSample): void {
    const b = this.backend(f.name)
    b.fetches++
    if (f.failed) b.failed++
    if (f.s5xx) b.s5xx++
    if (f.total !== null) b.est.add(f.total)
  }

  private backend(name: string): BackendCounts {
    let b = this.backends.get(name)
    if (b === undefined) {
      if (this.backends.size >= BACKENDS_KEPT && name !== OTHER_BACKENDS) return this.backend(OTHER_BACKENDS)
      b = { fetches: 0, failed: 0, s5xx: 0, est: new Estimator(TIMING_ERROR) }
      this.backends.set(name, b)
    }
    return b
  }

  private addSlow(s: TopSample, total: number): void {
    this.insertSlow({ total, vxid: s.vxid, code: s.code, handling: HANDLINGS[s.handling], url: s.url, start: s.start })
  }

  private insertSlow(r: SlowRequest): void {
    const slow = this.slowest
    let i = slow.length
    while (i > 0 && slow[i - 1].total < r.total) i--
    slow.splice(i, 0, r)
    if (slow.length > SLOWEST_KEPT) slow.pop()
  }
}
