// Owns varnishncsa's format language (-F/--format): a format string is compiled once into a list of segment
// functions, as varnishncsa's parse_format builds its addf_* list; a record is formatted by one pass over the
// records of the transaction varnishncsa 7.1 would print for it (its dispatch_f), filling only the fragments the
// format uses, then the segments in order. ClientRecord in, one line (with its '\n') out. That transaction is the
// last request of a restart chain (as varnishncsa -c prints it), or for a backend record the last attempt of a
// retry chain, whose response was used (varnishncsa -b prints one line per attempt).
//
// Byte-identical to varnishncsa 7.1 (test/format.test.ts), except on purpose: a restart or retry chain's %D, %T
// and %{s|ms|us}T span the whole chain; a transaction without a usable Start timestamp prints `-` for its time
// specifiers (varnishncsa prints no line at all); `%%` is a literal `%` (varnishncsa refuses it; `\%` works in
// both); %{…}t prints what strftime makes of it where varnishncsa asserts (an empty result, or 64 bytes or more).

import { FormatError } from '../errors.js'
import { TAGS } from '../vsl/tags.js'
import type { ClientRecord, Transaction } from '../vsl/types.js'
import { compileStrftime, localTime, type BrokenTime } from './strftime.js'

/** varnishncsa's default format (its FORMAT), for `--format ncsa`. */
export const NCSA_FORMAT = '%h %l %u %t "%r" %s %b "%{Referer}i" "%{User-agent}i"'

/** varnishncsa's default %t format (TIME_FMT). */
const TIME_FMT = '[%d/%b/%Y:%T %z]'

/** Compiles a varnishncsa format; throws FormatError where varnishncsa refuses the format. */
export function compileFormat(fmt: string): (rec: ClientRecord) => string {
  const plan = new Plan()
  const segments = parseFormat(fmt, plan)
  const scan = new Scan(plan.slots)
  return (rec) => {
    fill(rec, plan, scan)
    let out = ''
    for (let i = 0; i < segments.length; i++) out += segments[i](scan)
    return out + '\n'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Fragments: what varnishncsa's dispatch_f collects from one transaction (struct fragment), by slot. The fixed
// slots are its F_* fragments; the watches (%{X}i, %{X}o, %{VCL_Log:X}x, %{VSL:…}x) get slots after them.

const F_H = 0 // %H: ReqProtocol / BereqProtocol
const F_U = 1 // %U: ReqURL up to '?'
const F_q = 2 // %q: ReqURL from '?'
const F_b = 3 // %b: ReqAcct field 5
const F_h = 4 // %h: ReqStart field 1, BackendOpen field 3
const F_m = 5 // %m: ReqMethod
const F_s = 6 // %s: RespStatus (the last one)
const F_I = 7 // %I: ReqAcct field 3, PipeAcct field 3
const F_O = 8 // %O: ReqAcct field 6, PipeAcct field 4
const F_tstart = 9 // Timestamp Start: field 1
const F_tend = 10 // Timestamp Resp: / PipeSess: / BerespBody: field 1
const F_ttfb = 11 // Timestamp Process: / Pipe: / Beresp: field 2
const F_host = 12 // the first Host header (%r)
const F_auth = 13 // the first `Authorization: basic` header (%u)
const F_MAX = 14

interface Watch {
  /** `Name:` as latin1 bytes: ASCII lower-cased for headers (strncasecmp), as written for VCL_Log (strncmp). */
  key: string
  slot: number
}

interface VslWatch {
  tag: string
  /** `prefix:`, ASCII lower-cased; null without a prefix. */
  prefix: string | null
  /** Field number, 1-255; 0 for the whole record. */
  field: number
  slot: number
}

/** What the compiled format reads from a transaction. */
class Plan {
  /** Bit (1 << F_*) per fixed fragment a segment uses. */
  need = 0
  reqHeaders: Watch[] = []
  respHeaders: Watch[] = []
  vclLog: Watch[] = []
  vsl: VslWatch[] = []
  slots = F_MAX
  /** A duration is printed: a restart or retry chain needs its first Start. */
  durations = false
}

/** One transaction's fragments and the values varnishncsa keeps beside them; reused from record to record. */
class Scan {
  readonly frag: Array<string | undefined>
  vxid = 0
  side = 'c'
  hitmiss = '-'
  handling = '-'
  /** The chain's first Start (field 1) when the record is a restart or retry chain. */
  chainStart: string | undefined = undefined
  /** The local time of the last start formatted, kept while records start in the same second. */
  tm: BrokenTime | undefined = undefined
  constructor(slots: number) {
    this.frag = new Array<string | undefined>(slots).fill(undefined)
  }
}

type Segment = (s: Scan) => string

// ---------------------------------------------------------------------------------------------------------------
// Parsing (parse_format, parse_x_format, addf_*).

/** Tags whose records may hold control characters (SLT_F_UNSAFE/SLT_F_BINARY in Varnish 7.1): varnishncsa
 *  skips them, and refuses them in %{VSL:…}x, unless -j. */
const UNSAFE_TAGS = new Set(['Debug', 'H2RxBody', 'H2RxHdr', 'H2TxBody', 'H2TxHdr', 'Hash', 'HttpGarbage'])

/** Tags Varnish 7.1 defines but never logs (SLT_F_UNUSED, from its per-HTTP-object tag set): they are names
 *  %{VSL:…}x resolves (so `ReqS` is not unique), and it refuses them like the unsafe ones. */
const UNUSED_TAGS = [
  'ReqStatus', 'ReqReason', 'ReqLost', 'RespMethod', 'RespURL', 'RespLost', 'BereqStatus', 'BereqReason', 'BereqLost',
  'BerespMethod', 'BerespURL', 'BerespLost', 'ObjMethod', 'ObjURL', 'ObjLost',
]
const TAG_NAMES = [...TAGS.map(([name]) => name), ...UNUSED_TAGS]

function parseFormat(fmt: string, plan: Plan): Segment[] {
  const segs: Segment[] = []
  let lit = ''
  const flush = (): void => {
    if (lit !== '') {
      const s = lit
      segs.push(() => s)
      lit = ''
    }
  }
  const add = (seg: Segment): void => {
    flush()
    segs.push(seg)
  }
  let p = 0
  while (p < fmt.length) {
    const c = fmt[p]
    // "Allow the most essential escape sequences in format": \t, \n, and \ before any other character is dropped.
    if (c === '\\' && p + 1 < fmt.length) {
      const n = fmt[p + 1]
      lit += n === 't' ? '\t' : n === 'n' ? '\n' : n
      p += 2
      continue
    }
    if (c !== '%') {
      lit += c
      p++
      continue
    }
    const at = p
    const spec = fmt[p + 1] ?? ''
    p += 2
    switch (spec) {
      case 'b':
        add(fragment(plan, F_b, '-'))
        break
      case 'D':
        add(time(plan, 'u', ''))
        break
      case 'h':
        add(fragment(plan, F_h, '-'))
        break
      case 'H':
        add(fragment(plan, F_H, 'HTTP/1.0'))
        break
      case 'I':
        add(fragment(plan, F_I, '-'))
        break
      case 'l':
        lit += '-'
        break
      case 'm':
        add(fragment(plan, F_m, '-'))
        break
      case 'O':
        add(fragment(plan, F_O, '-'))
        break
      case 'q':
        add(fragment(plan, F_q, ''))
        break
      case 'r':
        add(requestLine(plan))
        break
      case 's':
        add(fragment(plan, F_s, '-'))
        break
      case 't':
        add(time(plan, 't', TIME_FMT))
        break
      case 'T':
        add(time(plan, 's', ''))
        break
      case 'u':
        add(auth(plan))
        break
      case 'U':
        add(fragment(plan, F_U, '-'))
        break
      case '%':
        // Not varnishncsa's (it refuses %%; \% is its literal percent sign).
        lit += '%'
        break
      case '{': {
        // The argument runs to the matching '}' (braces nest), then one character says what it is.
        let depth = 1
        let q = p
        for (; q < fmt.length; q++) {
          if (fmt[q] === '{') depth++
          else if (fmt[q] === '}' && --depth === 0) break
        }
        if (depth > 0) throw new FormatError(`unmatched bracket: ${fmt.slice(at)}`, fmt, at)
        const arg = fmt.slice(p, q)
        const kind = fmt[q + 1] ?? ''
        switch (kind) {
          case 'i':
            add(header(plan, plan.reqHeaders, arg))
            break
          case 'o':
            add(header(plan, plan.respHeaders, arg))
            break
          case 't':
            if (arg === '') throw new FormatError('empty time format: %{}t', fmt, at)
            add(time(plan, 't', arg))
            break
          case 'T': {
            const unit = arg === 's' ? 's' : arg === 'ms' ? 'm' : arg === 'us' ? 'u' : null
            if (unit === null) throw new FormatError(`unknown specifier: %{${arg}}T`, fmt, at)
            add(time(plan, unit, ''))
            break
          }
          case 'x':
            add(extension(plan, arg, fmt, at))
            break
          default:
            throw new FormatError(`unknown format specifier: ${fmt.slice(at, q + 2)}`, fmt, at)
        }
        p = q + 2
        break
      }
      default:
        throw new FormatError(`unknown format specifier: %${spec}`, fmt, at)
    }
  }
  flush()
  return segs
}

/** %{X}x (parse_x_format). */
function extension(plan: Plan, arg: string, fmt: string, at: number): Segment {
  switch (arg) {
    case 'Varnish:time_firstbyte':
      return fragment(plan, F_ttfb, '-')
    case 'Varnish:hitmiss':
      return (s) => s.hitmiss
    case 'Varnish:handling':
      return (s) => s.handling
    case 'Varnish:side':
      return (s) => s.side
    case 'Varnish:vxid':
      return (s) => String(s.vxid)
  }
  if (arg.startsWith('VCL_Log:')) {
    const slot = plan.slots++
    // strncmp: the key is matched as written, followed by a colon.
    plan.vclLog.push({ key: bytes(arg.slice(8)) + ':', slot })
    return fragmentSlot(slot, '')
  }
  if (arg.startsWith('VSL:')) return vsl(plan, arg.slice(4), fmt, at)
  throw new FormatError(`unknown formatting extension: ${arg}`, fmt, at)
}

/** %{VSL:Tag[:prefix][[field]]}x, with varnishncsa's checks and messages. */
function vsl(plan: Plan, spec: string, fmt: string, at: number): Segment {
  if (spec === '') throw new FormatError('missing tag in VSL:', fmt, at)
  let name = spec
  let field = 0
  if (spec.endsWith(']')) {
    const open = spec.lastIndexOf('[')
    if (open <= 0 || spec[open + 1] === ']') throw new FormatError(`syntax error: VSL:${spec}`, fmt, at)
    const n = strtol(spec.slice(open + 1, -1))
    if (n === null) throw new FormatError(`syntax error: VSL:${spec}`, fmt, at)
    if (n <= 0 || n > 255) throw new FormatError(`field specifier must be between 1 and 255: ${spec}`, fmt, at)
    field = n
    name = spec.slice(0, open)
  }
  const colon = name.indexOf(':')
  const tagName = colon < 0 ? name : name.slice(0, colon)
  const tag = nameToTag(tagName)
  // varnishncsa names the tag part, or the whole argument when it has a record prefix.
  if (tag === null) throw new FormatError(`unknown log tag: ${name}`, fmt, at)
  if (tag === '') throw new FormatError(`tag not unique: ${name}`, fmt, at)
  if (UNSAFE_TAGS.has(tag) || UNUSED_TAGS.includes(tag)) throw new FormatError(`tag ${tag} can contain control characters`, fmt, at)
  const slot = plan.slots++
  plan.vsl.push({ tag, prefix: colon < 0 ? null : lower(bytes(name.slice(colon + 1))) + ':', field, slot })
  return fragmentSlot(slot, '-')
}

/** strtol(s, &end, 10) that must end at the end of s: null when it does not; out of range clamps (LONG_MAX). */
function strtol(s: string): number | null {
  const m = STRTOL.exec(s)
  if (m === null) return null
  const n = Number(m[1])
  return Math.min(Math.max(n, -9.2e18), 9.2e18)
}
const STRTOL = /^[\t\n\v\f\r ]*([+-]?\d+)$/

/** VSL_Name2Tag: a tag by name or by a prefix of exactly one tag's name, caseless; null for none, '' for several. */
function nameToTag(name: string): string | null {
  const l = name.toLowerCase()
  let found: string | null = null
  for (const tag of TAG_NAMES) {
    const t = tag.toLowerCase()
    if (t === l) return tag
    if (t.startsWith(l)) found = found === null ? tag : ''
  }
  return found
}

// ---------------------------------------------------------------------------------------------------------------
// Segments (format_*). Values from the log go through quote(); defaults are quoted once, here.

function fragment(plan: Plan, slot: number, dflt: string): Segment {
  plan.need |= 1 << slot
  return fragmentSlot(slot, dflt)
}

function fragmentSlot(slot: number, dflt: string): Segment {
  const missing = quote(dflt)
  return (s) => {
    const f = s.frag[slot]
    return f === undefined ? missing : quote(f)
  }
}

function header(plan: Plan, watches: Watch[], name: string): Segment {
  const slot = plan.slots++
  watches.push({ key: lower(bytes(name)) + ':', slot })
  return fragmentSlot(slot, '-')
}

/** %r: "%m http://%{Host}i%U%q %H", with the first Host header and http://localhost without one. */
function requestLine(plan: Plan): Segment {
  plan.need |= (1 << F_m) | (1 << F_host) | (1 << F_U) | (1 << F_q) | (1 << F_H)
  return (s) => {
    const f = s.frag
    const host = f[F_host]
    const m = f[F_m]
    const u = f[F_U]
    const q = f[F_q]
    const h = f[F_H]
    return (
      (m === undefined ? '-' : quote(m)) +
      ' ' +
      (host === undefined ? 'http://localhost' : (host.startsWith('http://') ? '' : 'http://') + quote(host)) +
      (u === undefined ? '' : quote(u)) +
      (q === undefined ? '' : quote(q)) +
      ' ' +
      (h === undefined ? 'HTTP/1.0' : quote(h))
    )
  }
}

/** %u: the user name from `Authorization: basic …`, `-` when there is none or it does not decode. */
function auth(plan: Plan): Segment {
  plan.need |= 1 << F_auth
  return (s) => {
    const a = s.frag[F_auth]
    const user = a === undefined ? null : decodeBase64(a)
    if (user === null) return '-'
    // Printed as a C string: up to the first ':' (or NUL).
    let end = 0
    while (end < user.length && user.charCodeAt(end) !== 58 && user.charCodeAt(end) !== 0) end++
    return quote(user.slice(0, end))
  }
}

/** Time specifiers (format_time): `t` strftime of the start; S M U 3 6 the start in seconds, milliseconds,
 *  microseconds and their fractions; s m u the duration (end - start) in seconds, ms, µs. */
function time(plan: Plan, type: string, fmt: string): Segment {
  plan.need |= (1 << F_tstart) | (1 << F_tend)
  if (type === 't') {
    switch (fmt) {
      case 'sec':
        return epochTime((t) => String(Math.trunc(t)))
      case 'msec':
        return epochTime((t) => String(Math.trunc(t * 1e3)))
      case 'usec':
        return epochTime((t) => String(Math.trunc(t * 1e6)))
      case 'msec_frac':
        return epochTime((t) => pad0(Math.trunc((t - Math.trunc(t)) * 1e3), 3))
      case 'usec_frac':
        return epochTime((t) => pad0(Math.trunc((t - Math.trunc(t)) * 1e6), 6))
    }
    const strftime = compileStrftime(fmt)
    return (s) => {
      const t = timestamp(s.frag[F_tstart])
      if (Number.isNaN(t)) return '-'
      const epoch = Math.floor(t)
      if (s.tm === undefined || s.tm.epoch !== epoch) s.tm = localTime(epoch)
      return strftime(s.tm)
    }
  }
  plan.durations = true
  const scale = type === 's' ? 1 : type === 'm' ? 1e3 : 1e6
  return (s) => {
    const start = timestamp(s.frag[F_tstart])
    if (Number.isNaN(start)) return '-'
    let end = timestamp(s.frag[F_tend])
    if (Number.isNaN(end)) end = start
    // A restart or retry chain: from the first request's start (varnishncsa: the last request's own).
    const first = timestamp(s.chainStart)
    return String(Math.trunc((end - (Number.isNaN(first) ? start : first)) * scale))
  }
}

function epochTime(f: (t: number) => string): Segment {
  return (s) => {
    const t = timestamp(s.frag[F_tstart])
    return Number.isNaN(t) ? '-' : f(t)
  }
}

function pad0(n: number, width: number): string {
  const s = String(Math.abs(n)).padStart(width - (n < 0 ? 1 : 0), '0')
  return n < 0 ? '-' + s : s
}

/** strtod(3) of a whole field, NaN when it is not all a number (or not a finite one). */
function timestamp(s: string | undefined): number {
  if (s === undefined || !DECIMAL.test(s)) return NaN
  const n = Number(s)
  return Number.isFinite(n) ? n : NaN
}
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

// ---------------------------------------------------------------------------------------------------------------
// The pass over a transaction (dispatch_f, frag_line, frag_fields, process_hdr, process_vsl).

/** Fills the scan for a record: the transaction varnishncsa prints for it is the last of a restart (or retry)
 *  chain; Varnish 2.1/3.0 records are read from their fields. */
function fill(rec: ClientRecord, plan: Plan, scan: Scan): void {
  scan.frag.fill(undefined)
  scan.chainStart = undefined
  const root = rec.tree
  if (root.legacy === true) {
    fillLegacy(rec, plan, scan)
    return
  }
  const backend = root.type === 'bereq'
  const tx = last(root, backend ? 'retry' : 'restart', backend ? 'bereq' : 'req')
  scan.vxid = tx.vxid
  scan.side = backend ? 'b' : 'c'
  setHandling(rec, scan)
  scanRecords(tx, plan, scan)
  if (tx !== root && plan.durations) scan.chainStart = startOf(root)
}

function last(tx: Transaction, reason: string, type: string): Transaction {
  for (let guard = 0; guard < 64; guard++) {
    let next: Transaction | undefined
    for (const c of tx.children) {
      if (c.reason === reason && c.type === type) {
        next = c
        break
      }
    }
    if (next === undefined) break
    tx = next
  }
  return tx
}

/** Varnish 7.1's labels: it has no hitmiss or hitpass handling (those are miss and pass there). */
function setHandling(rec: ClientRecord, scan: Scan): void {
  const h = rec.handling
  scan.handling = h === null ? '-' : h === 'hitmiss' ? 'miss' : h === 'hitpass' ? 'pass' : h
  scan.hitmiss = h === null ? '-' : h === 'hit' ? 'hit' : 'miss'
}

function startOf(tx: Transaction): string | undefined {
  for (let i = 0; i < tx.tags.length; i++) {
    if (tx.tags[i] === 'Timestamp') {
      const d = tx.data[i]
      const p = prefixEnd(d, 0, d.length, 'start:')
      if (p >= 0) return fieldAt(d, p, d.length, 1)
    }
  }
  return undefined
}

const NEED_ACCT = (1 << F_I) | (1 << F_b) | (1 << F_O)
const NEED_TIME = (1 << F_tstart) | (1 << F_tend) | (1 << F_ttfb)

function scanRecords(tx: Transaction, plan: Plan, scan: Scan): void {
  const tags = tx.tags
  const data = tx.data
  const frag = scan.frag
  const need = plan.need
  const vsl = plan.vsl
  const reqHeaders = plan.reqHeaders
  const respHeaders = plan.respHeaders
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]
    if (UNSAFE_TAGS.has(tag)) continue
    const d = data[i]
    const e = d.length
    switch (tag) {
      case 'PipeAcct':
        if (need & NEED_ACCT) {
          fields(frag, d, 0, e, 3, F_I)
          fields(frag, d, 0, e, 4, F_O)
        }
        break
      case 'BackendOpen':
        if (need & (1 << F_h)) frag[F_h] = fieldAt(d, 0, e, 3) ?? frag[F_h]
        break
      case 'ReqStart':
        if (need & (1 << F_h)) fields(frag, d, 0, e, 1, F_h)
        break
      case 'BereqMethod':
      case 'ReqMethod':
        if (need & (1 << F_m)) line(frag, d, 0, e, F_m)
        break
      case 'BereqURL':
      case 'ReqURL':
        if (need & ((1 << F_U) | (1 << F_q))) {
          let q = d.indexOf('?')
          if (q < 0) q = e
          line(frag, d, 0, q, F_U)
          line(frag, d, q, e, F_q)
        }
        break
      case 'BereqProtocol':
      case 'ReqProtocol':
        if (need & (1 << F_H)) line(frag, d, 0, e, F_H)
        break
      case 'BerespStatus':
      case 'RespStatus':
        if (need & (1 << F_s)) {
          frag[F_s] = undefined // the last one wins
          line(frag, d, 0, e, F_s)
        }
        break
      case 'BereqAcct':
      case 'ReqAcct':
        if (need & NEED_ACCT) {
          fields(frag, d, 0, e, 3, F_I)
          fields(frag, d, 0, e, 5, F_b)
          fields(frag, d, 0, e, 6, F_O)
        }
        break
      case 'Timestamp':
        if (need & NEED_TIME) timestampRecord(frag, d)
        break
      case 'BereqHeader':
      case 'ReqHeader':
        if (reqHeaders.length > 0) headers(frag, reqHeaders, d)
        if (need & ((1 << F_auth) | (1 << F_host))) {
          let p = prefixEnd(d, 0, e, 'authorization:')
          if (p >= 0 && (p = prefixEnd(d, p, e, 'basic ')) >= 0) line(frag, d, p, e, F_auth)
          else if ((p = prefixEnd(d, 0, e, 'host:')) >= 0) line(frag, d, p, e, F_host)
        }
        break
      case 'BerespHeader':
      case 'RespHeader':
        if (respHeaders.length > 0) headers(frag, respHeaders, d)
        break
      case 'VCL_Log':
        for (const w of plan.vclLog) {
          if (d.startsWith(w.key)) line(frag, d, w.key.length, e, w.slot)
        }
        break
    }
    for (let k = 0; k < vsl.length; k++) {
      const w = vsl[k]
      if (w.tag !== tag) continue
      let p = 0
      if (w.prefix !== null && (p = prefixEnd(d, 0, e, w.prefix)) < 0) continue
      if (w.field === 0) line(frag, d, p, e, w.slot)
      else fields(frag, d, p, e, w.field, w.slot)
    }
  }
}

function timestampRecord(frag: Array<string | undefined>, d: string): void {
  const e = d.length
  let p: number
  if ((p = prefixEnd(d, 0, e, 'start:')) >= 0) fields(frag, d, p, e, 1, F_tstart)
  else if (
    (p = prefixEnd(d, 0, e, 'resp:')) >= 0 ||
    (p = prefixEnd(d, 0, e, 'pipesess:')) >= 0 ||
    (p = prefixEnd(d, 0, e, 'berespbody:')) >= 0
  ) {
    fields(frag, d, p, e, 1, F_tend)
  } else if (
    (p = prefixEnd(d, 0, e, 'process:')) >= 0 ||
    (p = prefixEnd(d, 0, e, 'pipe:')) >= 0 ||
    (p = prefixEnd(d, 0, e, 'beresp:')) >= 0
  ) {
    fields(frag, d, p, e, 2, F_ttfb)
  }
}

/** process_hdr: `Name: value` for each watch, the last one wins. */
function headers(frag: Array<string | undefined>, watches: Watch[], d: string): void {
  for (let k = 0; k < watches.length; k++) {
    const w = watches[k]
    const p = prefixEnd(d, 0, d.length, w.key)
    if (p < 0) continue
    frag[w.slot] = undefined
    line(frag, d, p, d.length, w.slot)
  }
}

/** isprefix: when d[b, e) starts with `prefix` (lower-case; compared caselessly, ASCII only), the index after it
 *  and the spaces that follow; else -1. */
function prefixEnd(d: string, b: number, e: number, prefix: string): number {
  const n = prefix.length
  if (e - b < n) return -1
  for (let k = 0; k < n; k++) {
    let c = d.charCodeAt(b + k)
    if (c >= 65 && c <= 90) c += 32
    if (c !== prefix.charCodeAt(k)) return -1
  }
  let p = b + n
  while (p < e && d.charCodeAt(p) === 32) p++
  return p
}

/** C's isspace in the C locale. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

/** frag_line: d[b, e) without surrounding white space, unless the slot is set already (the first one wins). */
function line(frag: Array<string | undefined>, d: string, b: number, e: number, slot: number): void {
  if (frag[slot] !== undefined) return
  while (b < e && isSpace(d.charCodeAt(b))) b++
  while (e > b && isSpace(d.charCodeAt(e - 1))) e--
  frag[slot] = d.slice(b, e)
}

/** frag_fields: field n (1-based, white-space separated) of d[b, e), unless the slot is set already. */
function fields(frag: Array<string | undefined>, d: string, b: number, e: number, n: number, slot: number): void {
  if (frag[slot] !== undefined) return
  const f = fieldAt(d, b, e, n)
  if (f !== undefined) frag[slot] = f
}

function fieldAt(d: string, b: number, e: number, n: number): string | undefined {
  let p = b
  let q = b
  for (let k = 0; k < n; k++) {
    while (q < e && isSpace(d.charCodeAt(q))) q++
    p = q
    while (q < e && !isSpace(d.charCodeAt(q))) q++
  }
  return p < e && q > p ? d.slice(p, q) : undefined
}

/** Varnish 2.1/3.0 records: the fragments from the record's fields (text as UTF-8 bytes); only the VSL watches
 *  read the raw records. */
function fillLegacy(rec: ClientRecord, plan: Plan, scan: Scan): void {
  const f = scan.frag
  scan.vxid = rec.vxid
  scan.side = rec.side === 'backend' ? 'b' : 'c'
  setHandling(rec, scan)
  const set = (slot: number, v: string | number | null | undefined): void => {
    if (v !== null && v !== undefined) f[slot] = typeof v === 'number' ? String(v) : bytes(v)
  }
  set(F_h, rec.client?.ip)
  set(F_m, rec.request.method)
  const url = rec.request.url
  if (url !== null) {
    const q = url.indexOf('?')
    set(F_U, q < 0 ? url : url.slice(0, q))
    if (q >= 0) set(F_q, url.slice(q))
  }
  set(F_H, rec.request.protocol)
  set(F_s, rec.response.status)
  set(F_b, rec.bytes.body_tx)
  set(F_I, rec.bytes.total_rx)
  set(F_O, rec.bytes.total_tx)
  if (rec.startEpoch !== null) {
    set(F_tstart, rec.startEpoch)
    if (rec.timing.total !== null) set(F_tend, rec.startEpoch + rec.timing.total)
  }
  set(F_ttfb, rec.timing.ttfb)
  const req = rec.request.headers
  for (const [name, value] of req) {
    const n = name.toLowerCase()
    if (n === 'host' && f[F_host] === undefined) set(F_host, value)
    if (n === 'authorization' && f[F_auth] === undefined && value.toLowerCase().startsWith('basic ')) set(F_auth, value.slice(6).trim())
  }
  legacyHeaders(f, plan.reqHeaders, req)
  legacyHeaders(f, plan.respHeaders, rec.response.headers)
  for (const w of plan.vclLog) {
    for (const entry of rec.vcl_log) {
      const b = bytes(entry)
      if (b.startsWith(w.key)) {
        line(f, b, w.key.length, b.length, w.slot)
        break
      }
    }
  }
  if (plan.vsl.length > 0) {
    const frag = new Array<string | undefined>(plan.slots).fill(undefined)
    scanRecords(rec.tree, { ...plan, need: 0, reqHeaders: [], respHeaders: [], vclLog: [] }, { ...scan, frag })
    for (const w of plan.vsl) f[w.slot] = frag[w.slot]
  }
}

function legacyHeaders(f: Array<string | undefined>, watches: Watch[], headers: ClientRecord['request']['headers']): void {
  for (const w of watches) {
    for (const [name, value] of headers) {
      const d = bytes(name) + ': ' + bytes(value)
      const p = prefixEnd(d, 0, d.length, w.key)
      if (p < 0) continue
      f[w.slot] = undefined
      line(f, d, p, d.length, w.slot)
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Text.

/** VSB_quote(…, VSB_QUOTE_ESCHEX) of latin1 bytes: `"` and `\` escaped, \t \n \r, and any other byte outside
 *  0x20-0x7e as \xNN. */
function quote(s: string): string {
  if (!NEEDS_QUOTE.test(s)) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x22 || c === 0x5c) out += '\\' + s[i]
    else if (c >= 0x20 && c <= 0x7e) out += s[i]
    else if (c === 10) out += '\\n'
    else if (c === 13) out += '\\r'
    else if (c === 9) out += '\\t'
    else out += (c < 16 ? '\\x0' : '\\x') + c.toString(16)
  }
  return out
}
const NEEDS_QUOTE = /[^\x20-\x21\x23-\x5b\x5d-\x7e]/

/** A JS string as latin1 bytes (its UTF-8 encoding), to compare with and print like log data. */
function bytes(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1')
}

/** Lower-cases A-Z only, as strncasecmp does in the C locale. */
function lower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase())
}

/** VB64_decode into varnishncsa's 128-byte buffer, as latin1 bytes; null when it fails (a byte outside the
 *  alphabet, or more than 126 bytes out). Like it, `=` counts as a zero digit and an unfinished group still yields
 *  three bytes, from a 32-bit accumulator (the caller cuts at the first NUL, as C strings are). Bytes >= 0x80 are
 *  refused: varnishncsa 7.1 looks them up with a signed char, outside its table, and gets whatever is there. */
function decodeBase64(s: string): string | null {
  let out = ''
  let u = 0
  let i = 0
  while (i < s.length) {
    for (let v = 0; v < 4 && i < s.length; v++) {
      const c = s.charCodeAt(i++)
      const n = c < 128 ? B64[c] : -1
      if (n < 0) return null
      u = ((u << 6) | n) >>> 0
    }
    for (let v = 0; v < 3; v++) {
      if (out.length >= 127) return null
      out += String.fromCharCode((u >>> 16) & 0xff)
      u = (u << 8) >>> 0
    }
  }
  return out
}

const B64: number[] = (() => {
  const t = new Array<number>(128).fill(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i
  t[61] = 0
  return t
})()
