// Owns the whole filter stage: the flags (ANDed) and the queries (ORed with each other, ANDed with the flags),
// compiled once into one predicate; null when nothing filters.

import { all, any, type Predicate } from './predicate.js'
import { compileFlags, type FilterOptions } from './flags.js'
import { compileQuery } from './query/compile.js'

export function compileFilter(flags: FilterOptions, queries: string[], caseless: boolean): Predicate | null {
  const preds: Predicate[] = []
  const f = compileFlags(flags)
  if (f !== null) preds.push(f)
  if (queries.length > 0) preds.push(any(queries.map((q) => compileQuery(q, { caseless }))))
  return all(preds)
}
