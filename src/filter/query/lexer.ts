// Owns the tokens of varnishlog's query language (vsl-query(7), vxp_lexer.c): a query string in, tokens out,
// each with its offset for error carets. Words are runs of letters, digits and `_ - + . *`; strings are quoted
// with ' or " and take backslash escapes; `and or not eq ne` are keywords.

import { QueryError } from '../../errors.js'

export type TokenKind =
  | 'word'
  | 'string'
  | 'and'
  | 'or'
  | 'not'
  | 'eq'
  | 'ne'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '~'
  | '!~'
  | '('
  | ')'
  | '{'
  | '}'
  | '['
  | ']'
  | ':'
  | ','
  | 'eof'

export interface Token {
  kind: TokenKind
  /** The word or the unescaped string. */
  text: string
  offset: number
}

const KEYWORDS = new Set(['and', 'or', 'not', 'eq', 'ne'])
const TWO = ['==', '!=', '<=', '>=', '!~']
const ONE = '<>~(){}[]:,'

function isWord(c: string): boolean {
  return /[A-Za-z0-9_\-+.*]/.test(c)
}

export function lex(query: string): Token[] {
  const out: Token[] = []
  let i = 0
  const n = query.length
  while (i < n) {
    const c = query[i]
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++
      continue
    }
    const two = query.slice(i, i + 2)
    if (TWO.includes(two)) {
      out.push({ kind: two as TokenKind, text: two, offset: i })
      i += 2
      continue
    }
    if (ONE.includes(c)) {
      out.push({ kind: c as TokenKind, text: c, offset: i })
      i++
      continue
    }
    if (c === '"' || c === "'") {
      const start = i
      let s = ''
      i++
      for (;;) {
        if (i >= n) throw new QueryError('unterminated string', query, start)
        const d = query[i]
        if (d === c) break
        if (d === '\\' && i + 1 < n) {
          s += query[i + 1]
          i += 2
          continue
        }
        s += d
        i++
      }
      i++
      out.push({ kind: 'string', text: s, offset: start })
      continue
    }
    if (isWord(c)) {
      const start = i
      while (i < n && isWord(query[i])) i++
      const w = query.slice(start, i)
      out.push({ kind: KEYWORDS.has(w) ? (w as TokenKind) : 'word', text: w, offset: start })
      continue
    }
    throw new QueryError(`unexpected character '${c}'`, query, i)
  }
  out.push({ kind: 'eof', text: '', offset: n })
  return out
}
