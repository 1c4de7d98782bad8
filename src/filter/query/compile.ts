// Owns evaluation of the query language (vsl_query.c): an Expr in, a Predicate over a record's transactions out.
// Regexes, tag sets and numbers are resolved here, once. A test is true when any record of any transaction in
// the group passes it (the request, its backend fetches, ESI children, restarts, retries); `not` negates over
// the whole group, as `varnishlog -g request -q` does.

import { QueryError } from '../../errors.js'
import type { ClientRecord, Transaction } from '../../vsl/types.js'
import type { Predicate } from '../predicate.js'
import type { Expr, Lhs, NumOp } from './parser.js'
import { parseQuery } from './parser.js'

/** One transaction of a group with its level (1 for the request; restarts stay at their parent's level). */
interface LeveledTx {
  tx: Transaction
  level: number
}

type GroupTest = (group: LeveledTx[]) => boolean

export interface QueryOptions {
  /** -C: caseless regexes and string comparisons. */
  caseless: boolean
  /** Compare floats truncated to three decimals, as varnishlog 7.1 did (varnish-cache #4088). Not an option of
   *  the tool: the tests use it to show that this is our only difference from 7.1. */
  floats71?: boolean
}

/** Compiles one query (`-q`); several are ORed by the caller. Throws QueryError. */
export function compileQuery(query: string, opts: QueryOptions): Predicate {
  const test = compileTreeQuery(query, opts)
  return (rec: ClientRecord) => test(rec.tree)
}

/** The same test on a transaction tree: a query reads the records of the group, not the record built from it. */
export function compileTreeQuery(query: string, opts: QueryOptions): (root: Transaction) => boolean {
  const test = compileExpr(parseQuery(query), query, opts)
  return (root) => test(flatten(root))
}

/** The least "since start" time (seconds) some Timestamp of a tree must reach for the query to be true of it, or
 *  null when the query does not say. `Timestamp:<label>[2]` is that time; a record passing `> v`, `>= v` or
 *  `== v` of it has a time of v or more (an integer comparison reads the time truncated: still no more than it
 *  is). `and` needs both sides, `or` either; `not` and other tests bound nothing. src/filter/tree.ts tests it. */
export function queryTimeBound(query: string, opts: QueryOptions): number | null {
  if (opts.floats71 === true) return null
  return bound(parseQuery(query))
}

function bound(e: Expr): number | null {
  switch (e.kind) {
    case 'and': {
      const a = bound(e.a)
      const b = bound(e.b)
      return a === null ? b : b === null ? a : Math.max(a, b)
    }
    case 'or': {
      const a = bound(e.a)
      const b = bound(e.b)
      return a === null || b === null ? null : Math.min(a, b)
    }
    case 'num': {
      const { tags, prefix, field } = e.lhs
      const since = tags.length > 0 && tags.every((t) => t === 'Timestamp') && prefix !== null && field === 2
      return since && (e.op === '>' || e.op === '>=' || e.op === '==') ? e.value : null
    }
    default:
      return null
  }
}

function compileExpr(e: Expr, query: string, opts: QueryOptions): GroupTest {
  switch (e.kind) {
    case 'or': {
      const a = compileExpr(e.a, query, opts)
      const b = compileExpr(e.b, query, opts)
      return (g) => a(g) || b(g)
    }
    case 'and': {
      const a = compileExpr(e.a, query, opts)
      const b = compileExpr(e.b, query, opts)
      return (g) => a(g) && b(g)
    }
    case 'not': {
      const a = compileExpr(e.a, query, opts)
      return (g) => !a(g)
    }
    case 'vxid': {
      const cmp = numCompare(e.op, e.value)
      return (g) => g.some((t) => cmp(t.tx.vxid))
    }
    case 'exists':
      return recordTest(e.lhs, () => true)
    case 'num': {
      if (e.float && opts.floats71 === true) {
        const cmp = numCompare(e.op, trunc3(e.value))
        return recordTest(e.lhs, (v) => {
          const n = readFloat(v)
          return n !== null && cmp(trunc3(n))
        })
      }
      const cmp = numCompare(e.op, e.value)
      const read = e.float ? readFloat : readInt
      return recordTest(e.lhs, (v) => {
        const n = read(v)
        return n !== null && cmp(n)
      })
    }
    case 'str': {
      const want = opts.caseless ? e.value.toLowerCase() : e.value
      const eq = opts.caseless ? (v: string) => v.toLowerCase() === want : (v: string) => v === want
      return recordTest(e.lhs, e.op === 'eq' ? eq : (v) => !eq(v))
    }
    case 'regex': {
      let re: RegExp
      try {
        re = new RegExp(e.source, opts.caseless ? 'i' : '')
      } catch (err) {
        throw new QueryError(`invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`, query, e.offset)
      }
      return recordTest(e.lhs, e.op === '~' ? (v) => re.test(v) : (v) => !re.test(v))
    }
  }
}

/** True when some record of the lhs's tags, at the lhs's level, has a value (after prefix and field) that passes. */
function recordTest(lhs: Lhs, pass: (value: string) => boolean): GroupTest {
  const tags = new Set(lhs.tags)
  const prefix = lhs.prefix === null ? null : lhs.prefix.toLowerCase()
  const inLevel =
    lhs.level < 0
      ? () => true
      : lhs.levelPm > 0
        ? (l: number) => l >= lhs.level
        : lhs.levelPm < 0
          ? (l: number) => l <= lhs.level
          : (l: number) => l === lhs.level
  // Most tests name one tag: compared as it is, not looked up (a tree has about 85 records, each tested).
  const one = tags.size === 1 ? lhs.tags[0] : null
  return (group) => {
    for (const { tx, level } of group) {
      if (!inLevel(level)) continue
      const t = tx.tags
      for (let i = 0; i < t.length; i++) {
        if (one !== null ? t[i] !== one : !tags.has(t[i])) continue
        const v = value(UNSAFE.has(t[i]) ? rawData(tx.data[i]) : tx.data[i], prefix, lhs.field)
        if (v !== null && pass(v)) return true
      }
    }
    return false
  }
}

/** Tags varnishlog prints quoted and %xx-escaped ("unsafe" in vsl_tags.h); a query sees their raw bytes, as a C
 *  string (up to the first NUL). */
const UNSAFE = new Set(['HttpGarbage', 'Debug', 'Hash'])

function rawData(d: string): string {
  const inner = d.length >= 2 && d.startsWith('"') && d.endsWith('"') ? d.slice(1, -1) : d
  const raw = inner.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
  const nul = raw.indexOf('\0')
  return nul < 0 ? raw : raw.slice(0, nul)
}

/** The part of a record's data a test looks at: after `prefix:` (and spaces), then the n-th whitespace-separated
 *  field (a field that starts with `"` runs to the closing quote, which is dropped, as in vsl_query.c); null when
 *  the prefix does not match or the field is missing. */
function value(d: string, prefix: string | null, field: number): string | null {
  let b = 0
  if (prefix !== null) {
    if (d.length <= prefix.length || d.charCodeAt(prefix.length) !== 58 /* : */) return null
    if (d.slice(0, prefix.length).toLowerCase() !== prefix) return null
    b = prefix.length + 1
    while (b < d.length && isSpace(d.charCodeAt(b))) b++
  }
  if (field === 0) return b === 0 ? d : d.slice(b)
  let e = b
  let quoted = false
  for (let i = 0; i < field; i++) {
    b = quoted ? e + 1 : e
    while (b < d.length && isSpace(d.charCodeAt(b))) b++
    if (b >= d.length) return null
    quoted = false
    if (d.charCodeAt(b) === 34 /* " */) {
      const close = d.indexOf('"', b + 1)
      if (close > 0) {
        quoted = true
        b++
        e = close
        continue
      }
    }
    e = b
    while (e < d.length && !isSpace(d.charCodeAt(e))) e++
  }
  return d.slice(b, e)
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

const INT_PREFIX = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(?:\.[0-9]*)?(?=$|\s)/

/** Against an integer: the value's first word as C's strtoll reads it (base 0), a fraction truncated
 *  (`Timestamp:Resp[2] > 0` is "one second or more"); anything else there means no match. */
function readInt(v: string): number | null {
  const m = INT_PREFIX.exec(v)
  if (m === null) return null
  const body = m[2]
  const n = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : Number(body)
  return m[1] === '-' ? -n : n
}

/** Against a float: the value's first word must be a number. Compared exactly — varnishlog 7.1 compared floats
 *  truncated to three decimals (varnish-cache #4088, fixed since); we follow the fix. */
function readFloat(v: string): number | null {
  const m = /^\s*(\S+)/.exec(v)
  if (m === null) return null
  const n = Number(m[1])
  return Number.isNaN(n) ? null : n
}

function trunc3(n: number): number {
  return Math.trunc(n * 1000) / 1000
}

function numCompare(op: NumOp, rhs: number): (lhs: number) => boolean {
  switch (op) {
    case '==':
      return (l) => l === rhs
    case '!=':
      return (l) => l !== rhs
    case '<':
      return (l) => l < rhs
    case '<=':
      return (l) => l <= rhs
    case '>':
      return (l) => l > rhs
    case '>=':
      return (l) => l >= rhs
  }
}

/** The group's transactions with their levels: children one deeper, restarts at their parent's level. */
function flatten(root: Transaction): LeveledTx[] {
  const out: LeveledTx[] = []
  const walk = (tx: Transaction, level: number, depth: number): void => {
    out.push({ tx, level })
    if (depth > 256) return
    for (const c of tx.children) walk(c, c.reason === 'restart' ? level : level + 1, depth + 1)
  }
  walk(root, 1, 0)
  return out
}
