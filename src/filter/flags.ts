// Owns the filter flags: their value syntax (parsed and checked once, at the edge, with clear errors) and their
// compilation into predicates. Every given flag must match (AND).

import { UsageError } from '../errors.js'
import type { ClientRecord, Handling, Header, Transaction } from '../vsl/types.js'
import { all, matches, matchesAny, type Pattern, type Predicate } from './predicate.js'

export const HANDLINGS: readonly Handling[] = ['hit', 'miss', 'pass', 'pipe', 'synth', 'hitmiss', 'hitpass']

export type SlowBy = 'total' | 'ttfb' | 'backend'

export interface StatusSpec {
  negate: boolean
  ranges: Array<[lo: number, hi: number]>
}

export type ClientSpec = { kind: 'cidr'; negate: boolean; bytes: number[]; bits: number } | { kind: 'regex'; pattern: Pattern }

export interface FilterOptions {
  hits: boolean
  misses: boolean
  handling: Handling[] | null
  grace: boolean
  restarted: boolean
  esi: boolean
  incomplete: boolean
  /** Milliseconds, or null. */
  slow: number | null
  slowBy: SlowBy
  status: StatusSpec[]
  url: Pattern[]
  method: Pattern[]
  host: Pattern[]
  backend: Pattern[]
  reqHeader: Pattern[]
  respHeader: Pattern[]
  bereqHeader: Pattern[]
  berespHeader: Pattern[]
  vclLog: Pattern[]
  client: ClientSpec[]
  clientHeader: string | null
  vxid: Set<number> | null
}

export const NO_FILTERS: FilterOptions = {
  hits: false,
  misses: false,
  handling: null,
  grace: false,
  restarted: false,
  esi: false,
  incomplete: false,
  slow: null,
  slowBy: 'total',
  status: [],
  url: [],
  method: [],
  host: [],
  backend: [],
  reqHeader: [],
  respHeader: [],
  bereqHeader: [],
  berespHeader: [],
  vclLog: [],
  client: [],
  clientHeader: null,
  vxid: null,
}

// ---- value syntax (used by args.ts) -------------------------------------------------------------------------

/** A quantified group that itself holds a quantifier, as in `(a+)+` or `(\w*)*`: the shape whose backtracking grows
 *  exponentially with the value's length. JavaScript regexes cannot be given a time limit; instead cli.ts turns on
 *  V8's fallback to its linear-time engine after too many backtracks. That engine has no backreferences,
 *  lookarounds, case folding (-i) or large `{n,m}` counts: for such a pattern the warning says it may be slow. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*](?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/

export function backtrackWarning(flag: string, re: RegExp): string | null {
  if (!NESTED_QUANTIFIER.test(re.source)) return null
  const shape = `${flag}: '${re.source}' has a quantifier inside a repeated group, which can backtrack for a very long time on some values`
  return linearFallback(re)
    ? `${shape}; where it does, matching falls back to a linear-time engine`
    : `${shape}, and it cannot fall back to the linear-time engine (it has a backreference, a lookaround, -i or a large {n,m}): matching may be very slow`
}

/** Whether V8 can run the regex in its linear-time engine and has been told to fall back to it (cli.ts sets both
 *  flags together): compiling it with the `l` (linear) flag succeeds exactly then. Without the flags (in-process
 *  use, tests) the `l` flag itself is refused, and the answer is false. */
function linearFallback(re: RegExp): boolean {
  try {
    new RegExp(re.source, re.flags + 'l')
    return true
  } catch {
    return false
  }
}

/** `--url '^/api'`, `--url '!\.png$'`: a JavaScript regex, negated by a leading `!`. */
export function parsePattern(flag: string, value: string, ignoreCase: boolean): Pattern {
  const negate = value.startsWith('!')
  const source = negate ? value.slice(1) : value
  try {
    return { re: new RegExp(source, ignoreCase ? 'i' : ''), negate }
  } catch (err) {
    throw new UsageError(`${flag}: invalid regular expression '${source}': ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`)
  }
}

/** `404`, `5xx`, `4xx,5xx`, `500-599`, `!200`, `!2xx,3xx` (a leading `!` negates the whole spec). */
export function parseStatus(value: string): StatusSpec {
  const bad = (): never => {
    throw new UsageError(`--status: expected a code, a class like 5xx, a range or a list, got '${value}'`)
  }
  const negate = value.startsWith('!')
  const body = negate ? value.slice(1) : value
  const ranges: Array<[number, number]> = []
  for (const part of body.split(',')) {
    const p = part.trim().toLowerCase()
    let m: RegExpMatchArray | null
    if ((m = /^([1-9])xx$/.exec(p)) !== null) ranges.push([+m[1] * 100, +m[1] * 100 + 99])
    else if ((m = /^(\d{3})$/.exec(p)) !== null) ranges.push([+m[1], +m[1]])
    else if ((m = /^(\d{3})-(\d{3})$/.exec(p)) !== null && +m[1] <= +m[2]) ranges.push([+m[1], +m[2]])
    else bad()
  }
  return { negate, ranges }
}

/** `--handling hit,miss`: any of the seven handlings. */
export function parseHandling(value: string): Handling[] {
  const out: Handling[] = []
  for (const part of value.split(',')) {
    const h = part.trim().toLowerCase()
    if (!(HANDLINGS as readonly string[]).includes(h)) {
      throw new UsageError(`--handling: expected a list of ${HANDLINGS.join(', ')}, got '${part.trim()}'`)
    }
    out.push(h as Handling)
  }
  return out
}

/** `--client 10.0.0.0/8`, `--client 2001:db8::/32`, `--client '^192\.0\.2\.'`, with `!` to negate. */
export function parseClient(value: string, ignoreCase: boolean): ClientSpec {
  const negate = value.startsWith('!')
  const body = negate ? value.slice(1) : value
  const slash = body.indexOf('/')
  if (slash > 0 && /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(body)) {
    const bytes = ipBytes(body.slice(0, slash))
    const bits = Number(body.slice(slash + 1))
    if (bytes === null || bits > bytes.length * 8) {
      throw new UsageError(`--client: invalid network '${body}'`)
    }
    return { kind: 'cidr', negate, bytes, bits }
  }
  return { kind: 'regex', pattern: parsePattern('--client', value, ignoreCase) }
}

/** `--vxid 5,32770`. */
export function parseVxids(values: string[]): Set<number> {
  const out = new Set<number>()
  for (const v of values) {
    for (const part of v.split(',')) {
      const n = Number(part.trim())
      if (part.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--vxid: expected vxids like 32770 or 5,32770, got '${v}'`)
      out.add(n)
    }
  }
  return out
}

/** IPv4 or IPv6 (with `::` and an embedded IPv4 tail) as bytes; null if it is neither. */
export function ipBytes(ip: string): number[] | null {
  if (ip.includes(':')) return ipv6Bytes(ip)
  return ipv4Bytes(ip)
}

function ipv4Bytes(ip: string): number[] | null {
  const parts = ip.split('.')
  if (parts.length !== 4) return null
  const out: number[] = []
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || +p > 255) return null
    out.push(+p)
  }
  return out
}

function ipv6Bytes(ip: string): number[] | null {
  const zone = ip.indexOf('%')
  if (zone >= 0) ip = ip.slice(0, zone)
  let tail: number[] = []
  const lastColon = ip.lastIndexOf(':')
  if (ip.slice(lastColon + 1).includes('.')) {
    const v4 = ipv4Bytes(ip.slice(lastColon + 1))
    if (v4 === null) return null
    tail = v4
    ip = ip.slice(0, lastColon + 1) + '0:0'
  }
  const halves = ip.split('::')
  if (halves.length > 2) return null
  const groups = (s: string): number[] | null => {
    if (s === '') return []
    const out: number[] = []
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null
      const n = parseInt(g, 16)
      out.push(n >> 8, n & 0xff)
    }
    return out
  }
  const head = groups(halves[0])
  const rest = halves.length === 2 ? groups(halves[1]) : []
  if (head === null || rest === null) return null
  let bytes: number[]
  if (halves.length === 2) {
    if (head.length + rest.length > 14) return null
    bytes = [...head, ...new Array(16 - head.length - rest.length).fill(0), ...rest]
  } else {
    if (head.length !== 16) return null
    bytes = head
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail)
  return bytes
}

function inNetwork(spec: { bytes: number[]; bits: number }, ip: string): boolean {
  let b = ipBytes(ip)
  if (b === null) return false
  // An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is in an IPv4 network.
  if (spec.bytes.length === 4 && b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    b = b.slice(12)
  }
  if (b.length !== spec.bytes.length) return false
  let bits = spec.bits
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((b[i] & mask) !== (spec.bytes[i] & mask)) return false
  }
  return true
}

// ---- compilation ---------------------------------------------------------------------------------------------

/** Compiles the flags into one predicate; null when no flag is given (nothing to check per record). */
export function compileFlags(f: FilterOptions): Predicate | null {
  const preds: Predicate[] = []
  if (f.hits) preds.push((r) => r.handling === 'hit')
  // Everything not served from cache, as varnishncsa's hitmiss counts a miss (no handling at all is neither).
  if (f.misses) preds.push((r) => r.handling !== null && r.handling !== 'hit')
  if (f.handling !== null) {
    const set = new Set<Handling>(f.handling)
    preds.push((r) => r.handling !== null && set.has(r.handling))
  }
  if (f.grace) preds.push((r) => r.grace === true)
  if (f.restarted) preds.push((r) => r.restarts > 0)
  if (f.esi) preds.push((r) => r.esi.length > 0)
  if (f.incomplete) preds.push((r) => r.incomplete !== null)
  if (f.slow !== null) {
    const limit = f.slow / 1000
    const time =
      f.slowBy === 'ttfb'
        ? (r: ClientRecord) => r.timing.ttfb
        : f.slowBy === 'backend'
          ? (r: ClientRecord) => r.backend?.timing.total ?? null
          : (r: ClientRecord) => r.timing.total
    preds.push((r) => {
      const t = time(r)
      return t !== null && t >= limit
    })
  }
  for (const s of f.status) {
    preds.push((r) => {
      const st = r.response.status
      let hit = false
      if (st !== null) for (const [lo, hi] of s.ranges) if (st >= lo && st <= hi) hit = true
      return s.negate ? !hit : hit
    })
  }
  for (const p of f.url) preds.push((r) => matches(p, r.request.url))
  for (const p of f.method) preds.push((r) => matches(p, r.request.method))
  for (const p of f.host) preds.push((r) => matches(p, headerValue(r.request.headers, 'host')))
  for (const p of f.backend) preds.push((r) => matches(p, r.backend?.name ?? null))
  for (const p of f.reqHeader) preds.push((r) => matchesAny(p, headerLines(r.request.headers)))
  for (const p of f.respHeader) preds.push((r) => matchesAny(p, headerLines(r.response.headers)))
  for (const p of f.bereqHeader) preds.push((r) => matchesAny(p, headerLines(r.backend?.request.headers ?? [])))
  for (const p of f.berespHeader) preds.push((r) => matchesAny(p, headerLines(r.backend?.response.headers ?? [])))
  for (const p of f.vclLog) preds.push((r) => matchesAny(p, r.vcl_log))
  if (f.client.length > 0) {
    const address = f.clientHeader === null ? (r: ClientRecord) => r.client?.ip ?? null : clientFromHeader(f.clientHeader)
    for (const c of f.client) {
      if (c.kind === 'regex') preds.push((r) => matches(c.pattern, address(r)))
      else
        preds.push((r) => {
          const ip = address(r)
          const hit = ip !== null && inNetwork(c, ip)
          return c.negate ? !hit : hit
        })
    }
  }
  if (f.vxid !== null) {
    const want = f.vxid
    preds.push((r) => treeHas(r.tree, want, 0))
  }
  return all(preds)
}

/** The client address from a request header (X-Real-IP, X-Forwarded-For's first address) when present. */
function clientFromHeader(name: string): (r: ClientRecord) => string | null {
  const lower = name.toLowerCase()
  return (r) => {
    const v = headerValue(r.request.headers, lower)
    if (v !== null) {
      const first = v.split(',')[0].trim()
      if (first !== '') return first
    }
    return r.client?.ip ?? null
  }
}

function headerValue(headers: Header[], lowerName: string): string | null {
  for (const [n, v] of headers) if (n.toLowerCase() === lowerName) return v
  return null
}

/** `Name: value` lines to match header regexes against. Header names are case-insensitive and HTTP/2 logs them
 *  in lower case, so a name that is not in canonical form (`user-agent`) is also offered as `User-Agent`. */
function headerLines(headers: Header[]): string[] {
  const out: string[] = []
  for (const [n, v] of headers) {
    out.push(`${n}: ${v}`)
    const canon = n.replace(/[A-Za-z]+/g, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase())
    if (canon !== n) out.push(`${canon}: ${v}`)
  }
  return out
}

function treeHas(tx: Transaction, want: Set<number>, depth: number): boolean {
  if (want.has(tx.vxid)) return true
  if (depth > 64) return false
  for (const c of tx.children) if (treeHas(c, want, depth + 1)) return true
  return false
}
