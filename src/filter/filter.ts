// Owns the whole filter stage: the flags (ANDed) and the queries (ORed with each other, ANDed with the flags),
// compiled once into one predicate; null when nothing filters. Beside it, a test of the transaction tree that the
// record would be built from (src/filter/tree.ts): false only when the predicate would be false too, so that a
// record that cannot be shown need not be built.

import { QueryError } from '../errors.js'
import { all, any, type Predicate } from './predicate.js'
import { compileFlags, type FilterOptions } from './flags.js'
import { compileTreeQuery, queryTimeBound } from './query/compile.js'
import { queriesFromFile } from './query/file.js'
import type { Transaction } from '../vsl/types.js'
import { slowBound, timeBound, type TreePredicate } from './tree.js'

export interface Filter {
  /** Whether a record is shown; null when every record is. */
  keep: Predicate | null
  /** Whether the record of a tree can be shown at all; null when no filter can tell before the record is built. */
  keepTree: TreePredicate | null
  /** `keep` for a record whose tree passed keepTree: without the queries, which the tree test decided exactly. */
  keepBuilt: Predicate | null
  /** The part of keepTree that reads only the grouper's bound on the tree's times (Transaction.slowest), no
   *  record's data; null when there is none. With one, the groupers are to keep that bound
   *  (GrouperOptions.slowest). */
  keepBound: TreePredicate | null
}

export function compileFilter(flags: FilterOptions, queries: string[], caseless: boolean): Filter {
  const preds: Predicate[] = []
  const trees: TreePredicate[] = []
  const f = compileFlags(flags)
  if (f !== null) preds.push(f)
  const keepBuilt = all(preds)
  // The least time some Timestamp of a tree must reach for it to be shown (seconds), when a filter says.
  let least = flags.slow === null ? null : flags.slow / 1000
  if (least !== null) trees.push(slowBound(least))
  // As varnishlog does, all -q and -Q texts are joined with newlines, and each line is one query (ORed).
  if (queries.length > 0) {
    const list = queriesFromFile(queries.join('\n'))
    if (list.length === 0) throw new QueryError('empty query', queries.join(' '), 0)
    const query = any<Transaction>(list.map((q) => compileTreeQuery(q, { caseless })))
    // Every query bounded by a Timestamp time: a tree none of whose times reaches the least bound fails them all.
    const bounds = list.map((q) => queryTimeBound(q, { caseless }))
    if (bounds.every((b) => b !== null)) {
      const bound = Math.min(...(bounds as number[]))
      trees.push(timeBound(bound))
      least = Math.max(least ?? bound, bound)
    }
    trees.push(query)
    preds.push((rec) => query(rec.tree))
  }
  const keepBound = least === null ? null : timeBound(least)
  return { keep: all(preds), keepTree: all<Transaction>(trees), keepBuilt, keepBound }
}
