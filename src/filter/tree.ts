// Owns the tests on a transaction tree, before its record is built (src/vsl/record.ts): each is false only when
// the record's own filter would be false too. Most records are not shown when a filter is given, and building one
// costs more than grouping its lines; a query reads the tree anyway, and --slow and a query's time test are
// bounded by the tree's times, which the grouper keeps (Transaction.slowest).

import { sinceStartQuick } from '../vsl/fields.js'
import { sinceStart } from '../vsl/record.js'
import type { Transaction } from '../vsl/types.js'

export type TreePredicate = (root: Transaction) => boolean

/** --slow: every time it compares (total, ttfb, the backend's) is the "since start" field of a Timestamp of the
 *  tree, read as the record reads it; a tree none of whose Timestamps reaches `limit` (seconds) has no record
 *  slow enough. Varnish 2.1/3.0 trees time requests otherwise (ReqEnd): never rejected here. */
export function slowBound(limit: number): TreePredicate {
  // The grouper keeps each transaction's largest quick read (Transaction.slowest); one it could not read quickly
  // is read here, Timestamp by Timestamp, exactly (as the record reads it) where the quick read cannot tell.
  const exactly = (tx: Transaction): boolean => {
    const { tags, data } = tx
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] !== 'Timestamp') continue
      const t = sinceStartQuick(data[i])
      if (t === t ? t >= least : (sinceStart(data[i]) ?? -1) >= limit) return true
    }
    return false
  }
  const least = limit - slack(limit)
  const reaches = (tx: Transaction, depth: number): boolean => {
    if (tx.slowest === tx.slowest ? tx.slowest >= least : exactly(tx)) return true
    if (depth < 256) for (const c of tx.children) if (reaches(c, depth + 1)) return true
    return false
  }
  return (root) => root.legacy === true || reaches(root, 0)
}

/** A query's bound (src/filter/query/compile.ts, queryTimeBound): a tree none of whose Timestamps reaches
 *  `limit` seconds fails the query. Only where the grouper's quick reads tell (Transaction.slowest, NaN where
 *  one could not read a Timestamp: that tree is for the query itself to test); the quick read of a Timestamp is
 *  the query's `Timestamp:<label>[2]` wherever it is a number. */
export function timeBound(limit: number): TreePredicate {
  const least = limit - slack(limit)
  const reaches = (tx: Transaction, depth: number): boolean => {
    if (!(tx.slowest < least)) return true // reached, or NaN: cannot tell
    if (depth < 256) for (const c of tx.children) if (reaches(c, depth + 1)) return true
    return false
  }
  return (root) => root.legacy === true || reaches(root, 0)
}

/** How far the quick read of a time may be from Number()'s: far more than a few ulps (relative: a time of
 *  10^9 s has ulps of 10^-7), far less than the microseconds Varnish logs. */
function slack(limit: number): number {
  return 1e-9 * Math.max(1, Math.abs(limit))
}
