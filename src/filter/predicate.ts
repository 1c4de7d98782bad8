// Owns the filter stage's shape: a Predicate decides whether a ClientRecord is shown. Flags and queries compile
// to predicates once, before the first line is read; `all` composes them (every given filter must match).

import type { ClientRecord } from '../vsl/types.js'

export type Predicate = (rec: ClientRecord) => boolean

/** Every test holds (null: there is none). For records, and for the trees they are built from (filter/tree.ts). */
export function all<T = ClientRecord>(preds: Array<(x: T) => boolean>): ((x: T) => boolean) | null {
  if (preds.length === 0) return null
  if (preds.length === 1) return preds[0]
  return (x) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i](x)) return false
    return true
  }
}

export function any<T = ClientRecord>(preds: Array<(x: T) => boolean>): (x: T) => boolean {
  if (preds.length === 1) return preds[0]
  return (x) => {
    for (let i = 0; i < preds.length; i++) if (preds[i](x)) return true
    return false
  }
}

/** A regex flag value: `!` in front negates it. */
export interface Pattern {
  re: RegExp
  negate: boolean
}

export function matches(p: Pattern, s: string | null): boolean {
  const hit = s !== null && p.re.test(s)
  return p.negate ? !hit : hit
}

/** True when the pattern holds for the list as a whole: some item matches (or, negated, none does). */
export function matchesAny(p: Pattern, items: string[]): boolean {
  let hit = false
  for (const s of items) {
    if (p.re.test(s)) {
      hit = true
      break
    }
  }
  return p.negate ? !hit : hit
}
