// Owns the whole filter stage: the flags (ANDed) and the queries (ORed with each other, ANDed with the flags),
// compiled once into one predicate; null when nothing filters.

import { QueryError } from '../errors.js'
import { all, any, type Predicate } from './predicate.js'
import { compileFlags, type FilterOptions } from './flags.js'
import { compileQuery } from './query/compile.js'
import { queriesFromFile } from './query/file.js'

export function compileFilter(flags: FilterOptions, queries: string[], caseless: boolean): Predicate | null {
  const preds: Predicate[] = []
  const f = compileFlags(flags)
  if (f !== null) preds.push(f)
  // As varnishlog does, all -q and -Q texts are joined with newlines, and each line is one query (ORed).
  if (queries.length > 0) {
    const list = queriesFromFile(queries.join('\n'))
    if (list.length === 0) throw new QueryError('empty query', queries.join(' '), 0)
    preds.push(any(list.map((q) => compileQuery(q, { caseless }))))
  }
  return all(preds)
}
