// Owns the quantile estimator for durations (seconds): a log-scale histogram (DDSketch's bucketing) in bounded
// memory. Error bound: for q in [0, 1], quantile(q) is within a relative error ε (1% by default) of the value
// that has nearest rank ceil(q·n), for values from 1 µs to 1000 s; values under 1 µs are reported with an
// absolute error under 1 µs, and a rank above 1000 s is reported as max. min and max (q = 0 and q = 1) are exact.
// Memory: at most ceil(ln(1e9) / ln γ) + 1 counters of 8 bytes (1038, 8.3 KB, at ε = 1%; 209, 1.7 KB, at 5%),
// allocated as the values' spread needs them and never growing with their number.

/** Values below this are counted as underflow (Varnish timestamps have 1 µs resolution). */
export const LOWEST = 1e-6
/** Values above this are counted as overflow. */
export const HIGHEST = 1000

/** 1-based nearest rank of quantile q among n values: ceil(q·n), at least 1. The small slack keeps float noise
 *  in q·n (0.07 × 100 = 7.000000000000001) from moving the rank. */
export function nearestRank(q: number, n: number): number {
  const k = Math.ceil(q * n - 1e-9)
  return k < 1 ? 1 : k > n ? n : k
}

/** Bucket i ≥ 0 holds values in (LOWEST·γ^(i-1), LOWEST·γ^i] with γ = (1+ε)/(1−ε) and reports 2·LOWEST·γ^i/(γ+1),
 *  which is within ε of every value in the bucket. Counts are kept in a dense array over the range of buckets
 *  seen so far (Float64, exact to 2^53). */
export class Estimator {
  readonly relativeError: number
  /** Values added (including underflow and overflow). */
  count = 0
  /** Smallest and largest value added; NaN when none. */
  min = NaN
  max = NaN
  /** Values at or below LOWEST/γ, and above HIGHEST. */
  underflow = 0
  overflow = 0
  private readonly gamma: number
  private readonly lnGamma: number
  private readonly floor: number
  private readonly buckets: number
  /** counts[j] is bucket offset + j. */
  private counts: Float64Array = EMPTY
  private offset = 0

  constructor(relativeError = 0.01) {
    if (!(relativeError > 0 && relativeError < 1)) throw new RangeError(`relative error ${relativeError} not in (0, 1)`)
    this.relativeError = relativeError
    this.gamma = (1 + relativeError) / (1 - relativeError)
    this.lnGamma = Math.log(this.gamma)
    this.floor = LOWEST / this.gamma
    this.buckets = Math.ceil(Math.log(HIGHEST / LOWEST) / this.lnGamma) + 1
  }

  /** The most memory the counters can take, in bytes. */
  get maxBytes(): number {
    return this.buckets * 8
  }

  /** The memory the counters take now, in bytes. */
  get bytes(): number {
    return this.counts.byteLength
  }

  add(v: number): void {
    if (v !== v) return // NaN: no rank to give it
    if (this.count === 0) this.min = this.max = v
    else if (v < this.min) this.min = v
    else if (v > this.max) this.max = v
    this.count++
    if (v <= this.floor) {
      this.underflow++
      return
    }
    if (v > HIGHEST) {
      this.overflow++
      return
    }
    let i = Math.ceil(Math.log(v / LOWEST) / this.lnGamma)
    // Float rounding at the ends of the range.
    if (i < 0) i = 0
    else if (i >= this.buckets) i = this.buckets - 1
    const j = i - this.offset
    if (j < 0 || j >= this.counts.length) this.grow(i)
    this.counts[i - this.offset]++
  }

  /** The value of nearest rank ceil(q·n), within the error bound; null when nothing was added. */
  quantile(q: number): number | null {
    if (this.count === 0) return null
    const k = nearestRank(q, this.count)
    if (k === 1) return this.min
    if (k === this.count) return this.max
    if (k <= this.underflow) return this.min
    let seen = this.underflow
    const c = this.counts
    for (let j = 0; j < c.length; j++) {
      seen += c[j]
      if (seen >= k) {
        const r = (2 * LOWEST * Math.pow(this.gamma, this.offset + j)) / (this.gamma + 1)
        // The value of rank k lies in [min, max]: clamping only brings r nearer.
        return r < this.min ? this.min : r > this.max ? this.max : r
      }
    }
    return this.max
  }

  /** Adds another estimator's values (same relative error). */
  merge(other: Estimator): void {
    if (other.relativeError !== this.relativeError) throw new RangeError('cannot merge estimators of different relative error')
    if (other.count === 0) return
    if (this.count === 0) {
      this.min = other.min
      this.max = other.max
    } else {
      if (other.min < this.min) this.min = other.min
      if (other.max > this.max) this.max = other.max
    }
    this.count += other.count
    this.underflow += other.underflow
    this.overflow += other.overflow
    const oc = other.counts
    for (let j = 0; j < oc.length; j++) {
      if (oc[j] === 0) continue
      const i = other.offset + j
      if (i < this.offset || i >= this.offset + this.counts.length) this.grow(i)
      this.counts[i - this.offset] += oc[j]
    }
  }

  /** Forgets every value, keeping the counters' memory for reuse. */
  reset(): void {
    this.counts.fill(0)
    this.count = this.underflow = this.overflow = 0
    this.min = this.max = NaN
  }

  /** Widens the counters to cover bucket i, with some slack on that side, within [0, buckets). */
  private grow(i: number): void {
    const SLACK = 32
    const old = this.counts
    const end = this.offset + old.length
    let lo = old.length === 0 ? i - SLACK : i < this.offset ? i - SLACK : this.offset
    let hi = old.length === 0 ? i + SLACK + 1 : i < this.offset ? end : i + SLACK + 1
    if (lo < 0) lo = 0
    if (hi > this.buckets) hi = this.buckets
    const next = new Float64Array(hi - lo)
    if (old.length > 0) next.set(old, this.offset - lo)
    this.counts = next
    this.offset = lo
  }
}

const EMPTY = new Float64Array(0)
