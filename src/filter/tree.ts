// Owns the tests on a transaction tree, before its record is built (src/vsl/record.ts): each is false only when
// the record's own filter would be false too. Most records are not shown when a filter is given, and building one
// costs more than grouping its lines; a query reads the tree anyway, and --slow is bounded by the tree's times.

import { sinceStart } from '../vsl/record.js'
import type { Transaction } from '../vsl/types.js'

export type TreePredicate = (root: Transaction) => boolean

export function allTree(preds: TreePredicate[]): TreePredicate | null {
  if (preds.length === 0) return null
  if (preds.length === 1) return preds[0]
  return (root) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i](root)) return false
    return true
  }
}

export function anyTree(preds: TreePredicate[]): TreePredicate {
  if (preds.length === 1) return preds[0]
  return (root) => {
    for (let i = 0; i < preds.length; i++) if (preds[i](root)) return true
    return false
  }
}

/** --slow: every time it compares (total, ttfb, the backend's) is the "since start" field of a Timestamp of the
 *  tree, read as the record reads it; a tree none of whose Timestamps reaches `limit` (seconds) has no record
 *  slow enough. Varnish 2.1/3.0 trees time requests otherwise (ReqEnd): never rejected here. */
export function slowBound(limit: number): TreePredicate {
  const reaches = (tx: Transaction, depth: number): boolean => {
    const { tags, data } = tx
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] !== 'Timestamp') continue
      const t = sinceStart(data[i])
      if (t !== null && t >= limit) return true
    }
    if (depth < 256) for (const c of tx.children) if (reaches(c, depth + 1)) return true
    return false
  }
  return (root) => root.legacy === true || reaches(root, 0)
}
