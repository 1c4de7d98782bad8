// Owns reading the fields of record data that both record models (4–7 and 2.1/3.0) use: header lines, addresses,
// whitespace-separated fields, counts, statuses and times. Text is UTF-8-decoded here (decodeBytes).

import { decodeBytes, isAscii } from './text.js'
import type { Header } from './types.js'

export function header(d: string): Header {
  const colon = d.indexOf(':')
  if (colon < 0) return [decodeBytes(d), '']
  let v = colon + 1
  while (v < d.length && d.charCodeAt(v) === 32) v++
  // One test of the line instead of one per part: header lines are nearly always ASCII.
  if (isAscii(d)) return [d.slice(0, colon), d.slice(v)]
  return [decodeBytes(d.slice(0, colon)), decodeBytes(d.slice(v))]
}

/** `ReqStart <ip> <port> <listener>`, `SessOpen <ip> <port> …`, or the session's "ip port". */
export function addr(d: string | null): { ip: string; port: number | null } | null {
  if (d === null || d === '') return null
  const f = fields(d)
  if (f.length === 0) return null
  const port = f.length > 1 ? toCount(f[1]) : null
  return { ip: decodeBytes(f[0]), port }
}

export function fields(d: string): string[] {
  const out: string[] = []
  let i = 0
  const n = d.length
  while (i < n) {
    while (i < n && d.charCodeAt(i) === 32) i++
    if (i >= n) break
    const s = i
    while (i < n && d.charCodeAt(i) !== 32) i++
    out.push(d.slice(s, i))
  }
  return out
}

/** Field `n` (0-based) of space-separated `d`, or null: one string, no array (Timestamps are read per record). */
export function field(d: string, n: number): string | null {
  let i = 0
  const len = d.length
  for (let k = 0; ; k++) {
    while (i < len && d.charCodeAt(i) === 32) i++
    if (i >= len) return null
    const s = i
    while (i < len && d.charCodeAt(i) !== 32) i++
    if (k === n) return d.slice(s, i)
  }
}

export function toCount(s: string): number | null {
  const n = Number(s)
  return Number.isSafeInteger(n) && n >= 0 ? n : null
}

export function toStatus(s: string): number | null {
  const n = Number(s)
  return Number.isInteger(n) && n >= 0 && n <= 999 ? n : null
}

/** `1795459767.841077` → `2026-11-23T18:49:27.841077Z` (exact microseconds, from the text). */
export function isoTime(abs: string | null): string | null {
  if (abs === null) return null
  const dot = abs.indexOf('.')
  const secs = Number(dot < 0 ? abs : abs.slice(0, dot))
  if (!Number.isSafeInteger(secs) || secs < 0 || secs > 253402300799) return null
  const frac = dot < 0 ? '' : abs.slice(dot + 1)
  if (!/^\d*$/.test(frac)) return null
  // Records come in time order: the date part is made once per second of log time (Date is slow to format).
  if (secs !== lastSecs) {
    lastSecs = secs
    lastBase = new Date(secs * 1000).toISOString().slice(0, 19)
  }
  return `${lastBase}.${(frac + '000000').slice(0, 6)}Z`
}

let lastSecs = -1
let lastBase = ''

/** The "since start" field of `Label: <abs> <since start> <since last>` as a number, read without making a
 *  string: only where the label ends in its only `:` and the absolute time is `digits[.digits]` (as Varnish writes them),
 *  and the field is `digits[.digits]`; NaN for anything else (the caller reads it exactly then: sinceStart). There
 *  it is also the field a query's `Timestamp:<label>[2]` reads (split at any white space, quotes kept together):
 *  the query's bound on a tree (src/filter/tree.ts) relies on that. */
export function sinceStartQuick(d: string): number {
  const n = d.length
  // The label, up to the first space: one `:`, at its end, and no quote or other white space in it (where a query
  // would split it otherwise). charCodeAt past the end is NaN: loops stop there.
  let i = 0
  while (d.charCodeAt(i) === 32) i++
  let c = d.charCodeAt(i)
  while (c !== 32 && c !== 58 && c !== 34 && !(c >= 9 && c <= 13) && i < n) c = d.charCodeAt(++i)
  if (c !== 58 || d.charCodeAt(i + 1) !== 32) return NaN
  i++
  while (d.charCodeAt(i) === 32) i++
  // The absolute time: digits and dots only, then a space.
  c = d.charCodeAt(i)
  while ((c >= 48 && c <= 57) || c === 46) c = d.charCodeAt(++i)
  if (c !== 32) return NaN
  while (d.charCodeAt(i) === 32) i++
  const from = i
  let whole = 0
  c = d.charCodeAt(i)
  while (c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48)
    c = d.charCodeAt(++i)
  }
  const digits = i - from
  let frac = 0
  let scale = 1
  if (c === 46) {
    c = d.charCodeAt(++i)
    while (c >= 48 && c <= 57 && scale < 1e15) {
      frac = frac * 10 + (c - 48)
      scale *= 10
      c = d.charCodeAt(++i)
    }
  }
  if (digits === 0 || digits > 15 || (i < n && c !== 32)) return NaN
  return whole + frac / scale
}

/** sinceStartQuick of buf[a, b) up to its first NUL, read as latin1 text (a binary record's data as varnishlog
 *  prints it: one char per byte), from the bytes, without making the string (src/parse/binary.ts, for the grouper).
 *  The same steps, where the text ends (at b or a NUL) -1 (failing every test as charCodeAt's NaN does);
 *  test/tree-filter.test.ts checks both readings agree on any bytes. */
export function sinceStartOfBytes(buf: Uint8Array, a: number, b: number): number {
  let i = a
  while (i < b && buf[i] === 32) i++
  let c = byteAt(buf, i, b)
  while (c !== 32 && c !== 58 && c !== 34 && !(c >= 9 && c <= 13) && c !== -1) c = byteAt(buf, ++i, b)
  if (c !== 58 || i + 1 >= b || buf[i + 1] !== 32) return NaN
  i++
  while (i < b && buf[i] === 32) i++
  c = byteAt(buf, i, b)
  while ((c >= 48 && c <= 57) || c === 46) c = byteAt(buf, ++i, b)
  if (c !== 32) return NaN
  while (i < b && buf[i] === 32) i++
  const from = i
  let whole = 0
  c = byteAt(buf, i, b)
  while (c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48)
    c = byteAt(buf, ++i, b)
  }
  const digits = i - from
  let frac = 0
  let scale = 1
  if (c === 46) {
    c = byteAt(buf, ++i, b)
    while (c >= 48 && c <= 57 && scale < 1e15) {
      frac = frac * 10 + (c - 48)
      scale *= 10
      c = byteAt(buf, ++i, b)
    }
  }
  if (digits === 0 || digits > 15 || (c !== -1 && c !== 32)) return NaN
  return whole + frac / scale
}

/** A Timestamp's times, as sinceStartOfBytes and stampSecondsOfBytes read them. */
export interface StampTimes {
  since: number
  seconds: number
}

/** sinceStartOfBytes and stampSecondsOfBytes of buf[a, b) at once, into `into`: a Timestamp as Varnish writes it
 *  (`Label: <digits>.<digits> <digits>.<digits>`, then a space, a NUL or the end) in one pass, anything else by the
 *  two (they were a sixth of a worker's time on --misses --slow of binary input). test/tree-filter.test.ts checks
 *  it against them on any bytes. */
export function stampOfBytes(buf: Uint8Array, a: number, b: number, into: StampTimes): void {
  let i = a
  let c = buf[i]
  while (i < b && (c | 32) >= 97 && (c | 32) <= 122) c = buf[++i]
  if (i + 2 >= b || c !== 58 || buf[i + 1] !== 32) return stampTimes(buf, a, b, into)
  c = buf[(i += 2)]
  const s0 = i
  let seconds = 0
  while (i < b && c >= 48 && c <= 57) {
    seconds = seconds * 10 + (c - 48)
    c = buf[++i]
  }
  if (i >= b || c !== 46 || i === s0) return stampTimes(buf, a, b, into)
  c = buf[++i]
  while (i < b && c >= 48 && c <= 57) c = buf[++i]
  if (i >= b || c !== 32) return stampTimes(buf, a, b, into)
  c = buf[++i]
  const from = i
  let whole = 0
  while (i < b && c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48)
    c = buf[++i]
  }
  if (i >= b || c !== 46 || i === from || i - from > 15) return stampTimes(buf, a, b, into)
  c = buf[++i]
  let frac = 0
  let scale = 1
  while (i < b && c >= 48 && c <= 57 && scale < 1e15) {
    frac = frac * 10 + (c - 48)
    scale *= 10
    c = buf[++i]
  }
  if (i < b && c !== 32 && c !== 0) return stampTimes(buf, a, b, into)
  into.since = whole + frac / scale
  into.seconds = seconds
}

function stampTimes(buf: Uint8Array, a: number, b: number, into: StampTimes): void {
  into.since = sinceStartOfBytes(buf, a, b)
  into.seconds = stampSecondsOfBytes(buf, a, b)
}

/** The byte at i, -1 at b or a NUL (where the text ends). */
function byteAt(buf: Uint8Array, i: number, b: number): number {
  return i < b && buf[i] !== 0 ? buf[i] : -1
}

/** The whole seconds of a Timestamp's absolute time (`Label: <abs> …`: the digits after the first space), all the
 *  grouper's log time needs; -1 when none. */
export function stampSeconds(d: string): number {
  let i = d.indexOf(' ') + 1
  if (i === 0) return -1
  let c = d.charCodeAt(i)
  if (!(c >= 48 && c <= 57)) return -1
  let t = 0
  while (c >= 48 && c <= 57) {
    t = t * 10 + (c - 48)
    c = d.charCodeAt(++i)
  }
  return t
}

/** stampSeconds of buf[a, b) up to its first NUL, read as latin1 text, from the bytes. */
export function stampSecondsOfBytes(buf: Uint8Array, a: number, b: number): number {
  let i = a
  while (i < b && buf[i] !== 32 && buf[i] !== 0) i++
  if (i >= b || buf[i] === 0 || ++i >= b || !(buf[i] >= 48 && buf[i] <= 57)) return -1
  let t = 0
  for (; i < b && buf[i] >= 48 && buf[i] <= 57; i++) t = t * 10 + (buf[i] - 48)
  return t
}
