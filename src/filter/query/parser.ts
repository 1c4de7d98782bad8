// Owns the grammar of varnishlog's query language (vsl-query(7), vxp_parse.c): tokens in, an Expr (AST) out.
// One function per rule, its production in the comment above it. The AST carries no parsing state: regexes
// and numbers are resolved in compile.ts.
//
//   query      := expr_or EOI
//   expr_or    := expr_and { 'or' expr_and }
//   expr_and   := expr_not { 'and' expr_not }
//   expr_not   := 'not' expr_group | expr_group
//   expr_group := '(' expr_or ')' | expr_cmp
//   expr_cmp   := 'vxid' numop number
//               | lhs [ op rhs ]                    (no operator: "a record of these tags exists")
//   lhs        := [ '{' level ['+'|'-'] '}' ] taglist [ ':' prefix ] [ '[' field ']' ]
//   taglist    := tagglob { ',' tagglob }          (Req*, *Error, a tag name; case-insensitive)
//   numop      := '==' | '!=' | '<' | '<=' | '>' | '>='
//   op         := numop | 'eq' | 'ne' | '~' | '!~'
//   rhs        := word | string                     (numop: an integer, or a float when it has a '.')

import { QueryError } from '../../errors.js'
import { globTags } from '../../vsl/tags.js'
import { lex, type Token, type TokenKind } from './lexer.js'

export type NumOp = '==' | '!=' | '<' | '<=' | '>' | '>='
export type StrOp = 'eq' | 'ne'
export type RegexOp = '~' | '!~'

export interface Lhs {
  tags: string[]
  /** -1: any level. */
  level: number
  /** 0 exact, 1 this level or deeper ({n+}), -1 this level or shallower ({n-}). */
  levelPm: -1 | 0 | 1
  prefix: string | null
  /** 1-based field, 0 for the whole value. */
  field: number
}

export type Expr =
  | { kind: 'or' | 'and'; a: Expr; b: Expr }
  | { kind: 'not'; a: Expr }
  | { kind: 'exists'; lhs: Lhs }
  | { kind: 'num'; lhs: Lhs; op: NumOp; value: number; float: boolean }
  | { kind: 'str'; lhs: Lhs; op: StrOp; value: string }
  | { kind: 'regex'; lhs: Lhs; op: RegexOp; source: string; offset: number }
  | { kind: 'vxid'; op: NumOp; value: number }

const NUM_OPS: readonly TokenKind[] = ['==', '!=', '<', '<=', '>', '>=']

class Parser {
  private pos = 0
  constructor(
    private readonly tokens: Token[],
    private readonly query: string,
  ) {}

  /** The current token (a method, not a getter, so that TypeScript does not narrow it across next()). */
  private t(): Token {
    return this.tokens[this.pos]
  }

  private next(): Token {
    return this.tokens[this.pos++]
  }

  private fail(reason: string, tok: Token = this.t()): never {
    throw new QueryError(reason, this.query, tok.offset)
  }

  private expect(kind: TokenKind, what: string): Token {
    if (this.t().kind !== kind) this.fail(`expected ${what}`)
    return this.next()
  }

  /** query := expr_or EOI */
  parse(): Expr {
    if (this.t().kind === 'eof') this.fail('empty query')
    const e = this.exprOr()
    if (this.t().kind !== 'eof') this.fail(this.t().kind === ')' ? "unbalanced ')'" : "expected 'and', 'or' or the end of the query")
    return e
  }

  /** expr_or := expr_and { 'or' expr_and } */
  private exprOr(): Expr {
    let e = this.exprAnd()
    while (this.t().kind === 'or') {
      this.next()
      e = { kind: 'or', a: e, b: this.exprAnd() }
    }
    return e
  }

  /** expr_and := expr_not { 'and' expr_not } */
  private exprAnd(): Expr {
    let e = this.exprNot()
    while (this.t().kind === 'and') {
      this.next()
      e = { kind: 'and', a: e, b: this.exprNot() }
    }
    return e
  }

  /** expr_not := 'not' expr_group | expr_group */
  private exprNot(): Expr {
    if (this.t().kind === 'not') {
      this.next()
      return { kind: 'not', a: this.exprGroup() }
    }
    return this.exprGroup()
  }

  /** expr_group := '(' expr_or ')' | expr_cmp */
  private exprGroup(): Expr {
    if (this.t().kind === '(') {
      const open = this.next()
      const e = this.exprOr()
      if (this.t().kind !== ')') this.fail(`expected ')' (to close the '(' at column ${open.offset + 1})`)
      this.next()
      return e
    }
    return this.exprCmp()
  }

  /** expr_cmp := 'vxid' numop number | lhs [ op rhs ] */
  private exprCmp(): Expr {
    if (this.t().kind === 'word' && this.t().text === 'vxid') {
      this.next()
      if (!NUM_OPS.includes(this.t().kind)) this.fail('vxid takes a numeric operator (== != < <= > >=)')
      const op = this.next().kind as NumOp
      const tok = this.t()
      const { value, float } = this.number()
      if (float) this.fail('vxid is compared with an integer', tok)
      return { kind: 'vxid', op, value }
    }
    const lhs = this.lhs()
    const t = this.t()
    switch (t.kind) {
      case 'eof':
      case 'and':
      case 'or':
      case ')':
        return { kind: 'exists', lhs }
      case '==':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        this.next()
        const { value, float } = this.number()
        return { kind: 'num', lhs, op: t.kind, value, float }
      }
      case 'eq':
      case 'ne':
        this.next()
        return { kind: 'str', lhs, op: t.kind, value: this.operand('a string') }
      case '~':
      case '!~': {
        this.next()
        const offset = this.t().offset
        return { kind: 'regex', lhs, op: t.kind, source: this.operand('a regular expression'), offset }
      }
      default:
        return this.fail('expected an operator')
    }
  }

  /** lhs := [ '{' level ['+'|'-'] '}' ] taglist [ ':' prefix ] [ '[' field ']' ] */
  private lhs(): Lhs {
    let level = -1
    let levelPm: -1 | 0 | 1 = 0
    if (this.t().kind === '{') {
      this.next()
      const tok = this.expect('word', 'a level number')
      const m = /^(\d+)([+-]?)$/.exec(tok.text)
      if (m === null) this.fail('expected a level like 2, 2+ or 2-', tok)
      level = Number(m[1])
      levelPm = m[2] === '+' ? 1 : m[2] === '-' ? -1 : 0
      this.expect('}', "'}'")
    }
    const tags = this.taglist()
    if (this.t().kind === 'word' && this.t().text === 'vxid') this.fail('vxid cannot be used with a tag list, level, prefix or field')
    let prefix: string | null = null
    if (this.t().kind === ':') {
      this.next()
      if (this.t().kind !== 'word' && this.t().kind !== 'string') this.fail('expected a prefix (a header name or a label)')
      prefix = this.next().text
    }
    let field = 0
    if (this.t().kind === '[') {
      this.next()
      const tok = this.expect('word', 'a field number')
      if (!/^\d+$/.test(tok.text) || Number(tok.text) < 1 || Number(tok.text) > 255) this.fail('expected a field number from 1 to 255', tok)
      field = Number(tok.text)
      this.expect(']', "']'")
    }
    return { tags, level, levelPm, prefix, field }
  }

  /** taglist := tagglob { ',' tagglob } */
  private taglist(): string[] {
    const tags = new Set<string>()
    for (;;) {
      const tok = this.t()
      if (tok.kind !== 'word') this.fail('expected a VSL tag')
      if (tok.text === 'vxid') this.fail('vxid cannot be used with a tag list, level, prefix or field')
      this.next()
      const found = globTags(tok.text)
      if (found.length === 0) this.fail(`'${tok.text}' matches no VSL tag`, tok)
      for (const t of found) tags.add(t)
      if (this.t().kind !== ',') break
      this.next()
    }
    return [...tags]
  }

  /** A numeric operand: a float when it has a '.', else an integer (C's strtoll with base 0: 0x.., 0..). */
  private number(): { value: number; float: boolean } {
    const tok = this.t()
    if (tok.kind !== 'word' && tok.kind !== 'string') this.fail('expected a number')
    this.next()
    const s = tok.text.trim()
    if (s.includes('.')) {
      const v = Number(s)
      if (s === '' || !Number.isFinite(v)) this.fail(`expected a number, got '${tok.text}'`, tok)
      return { value: v, float: true }
    }
    const v = parseCInt(s)
    if (v === null) this.fail(`expected a number, got '${tok.text}'`, tok)
    return { value: v, float: false }
  }

  private operand(what: string): string {
    if (this.t().kind !== 'word' && this.t().kind !== 'string') this.fail(`expected ${what}`)
    return this.next().text
  }
}

/** The whole string as C's strtoll(s, &end, 0) reads it (sign, 0x hex, 0 octal); null if anything is left. */
export function parseCInt(s: string): number | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(s)
  if (m === null) return null
  const body = m[2]
  const v = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : Number(body)
  return m[1] === '-' ? -v : v
}

export function parseQuery(query: string): Expr {
  return new Parser(lex(query), query).parse()
}
