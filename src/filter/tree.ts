// Owns the tests on a transaction tree, before its record is built (src/vsl/record.ts): each is false only when
// the record's own filter would be false too. Most records are not shown when a filter is given, and building one
// costs more than grouping its lines; a query reads the tree anyway, and --slow is bounded by the tree's times.

import { sinceStart } from '../vsl/record.js'
import type { Transaction } from '../vsl/types.js'

export type TreePredicate = (root: Transaction) => boolean

/** --slow: every time it compares (total, ttfb, the backend's) is the "since start" field of a Timestamp of the
 *  tree, read as the record reads it; a tree none of whose Timestamps reaches `limit` (seconds) has no record
 *  slow enough. Varnish 2.1/3.0 trees time requests otherwise (ReqEnd): never rejected here. */
export function slowBound(limit: number): TreePredicate {
  const reaches = (tx: Transaction, depth: number): boolean => {
    const { tags, data } = tx
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] !== 'Timestamp') continue
      const t = sinceStartQuick(data[i])
      // Read exactly (as the record reads it) only what the quick read cannot tell; a bound needs no more.
      if (t === t ? t >= limit - SLACK : (sinceStart(data[i]) ?? -1) >= limit) return true
    }
    if (depth < 256) for (const c of tx.children) if (reaches(c, depth + 1)) return true
    return false
  }
  return (root) => root.legacy === true || reaches(root, 0)
}

/** How far the quick read of a time may be from Number()'s, in seconds: far more than a few ulps, far less than
 *  the microseconds Varnish logs. */
const SLACK = 1e-9

/** The "since start" field of `Label: <abs> <since start> <since last>` as a number, read without making a
 *  string: `digits[.digits]` only; NaN for anything else (the caller reads it exactly then). */
export function sinceStartQuick(d: string): number {
  const n = d.length
  let i = 0
  // Fields are split at spaces as field() splits them: skip two (the label and the absolute time).
  for (let k = 0; k < 2; k++) {
    while (i < n && d.charCodeAt(i) === 32) i++
    while (i < n && d.charCodeAt(i) !== 32) i++
  }
  while (i < n && d.charCodeAt(i) === 32) i++
  let whole = 0
  let digits = 0
  let c = 0
  for (; i < n && (c = d.charCodeAt(i)) >= 48 && c <= 57; i++, digits++) whole = whole * 10 + (c - 48)
  let frac = 0
  let scale = 1
  if (i < n && c === 46) {
    for (i++; i < n && (c = d.charCodeAt(i)) >= 48 && c <= 57 && scale < 1e15; i++) {
      frac = frac * 10 + (c - 48)
      scale *= 10
    }
  }
  if (digits === 0 || digits > 15 || (i < n && d.charCodeAt(i) !== 32)) return NaN
  return whole + frac / scale
}
