// Owns the JSON lines output: one ClientRecord in, one line of JSON out, keys in the documented order (README
// "JSON schema"). Never colored. The line is the text of JSON.stringify of the record, with DEL, C1 and the
// invisible bidi/format characters (legal raw in JSON, but live on a terminal) escaped as \uXXXX as well
// (escapeJsonText), written as UTF-8 with its LF straight into the output buffer (writeJson).
//
// Header lists are written as bytes, not by JSON.stringify: a header is logged as `Name: value`, and its JSON
// `["Name","value"]` is those chars with three more when they are printable ASCII (nearly always), so it is
// written from the logged line, with no pair of strings or array made for it and no serializer call (header
// strings were 70% of JSON.stringify's time). JSON.stringify writes the rest, each list left empty under a key of
// its own, `"~":[]`, which only a key can be (in a string, `"` is `\"`), so the lists go in at its occurrences, in
// order, under their key. A header with a char outside ASCII goes through JSON.stringify, so the text is the same
// as its by construction; test/json-writer.test.ts compares the ASCII path with it on generated text.

import { OutputBuffer } from '../output.js'
import { header } from '../vsl/fields.js'
import type { BackendFetch, ClientRecord, Header, HttpRequest, HttpResponse } from '../vsl/types.js'
import { escapeJsonText } from './escape.js'

/** The record as JSON text, without its LF (for the parallel reader's merge, which pushes text). */
export function renderJson(rec: ClientRecord): string {
  scratch.rewind()
  writeJson(rec, scratch)
  const b = scratch.take()!
  // A buffer grown for a large record is not kept for the next ones.
  if (b.length > SCRATCH_KEEP) scratch = new OutputBuffer()
  return b.toString('utf8', 0, b.length - 1)
}

const SCRATCH_KEEP = 64 * 1024
let scratch = new OutputBuffer()

/** The header lists of the record being written, in the order of their `"~":[]` in the text. */
const lists: (HttpRequest | HttpResponse)[] = []
const EMPTY: Header[] = []

/** Writes the record's JSON line (with its LF) into `out`. */
export function writeJson(rec: ClientRecord, out: OutputBuffer): void {
  lists.length = 0
  let text = JSON.stringify(jsonRecord(rec))
  if (text.indexOf('\x7f') >= 0) text = escapeJsonText(text)
  sink = out
  buf = out.block
  o = out.at
  if (!spliced(text, text.length)) {
    // Not ASCII: escapeJsonText may have more to escape (C1, bidi) than DEL. Written again, from its start (in
    // the block it has moved to if it grew).
    o = out.at
    spliced(escapeJsonText(text), -1)
  }
  room(1)
  buf[o++] = 10
  out.commit(o)
  // Nothing of this record is kept referenced: its lists, and the output's block.
  lists.length = 0
  buf = NO_BYTES
  sink = scratch
}

/** Writes the text with the header lists in it; false when its chars are not all ASCII (units: its length, or -1
 *  not to check). */
function spliced(text: string, units: number): boolean {
  let from = 0
  let bytes = 0
  for (let k = 0; k < lists.length; k++) {
    const m = markAt(text, from)
    bytes += part(text, from, m)
    put(HEADERS)
    headers(lists[k])
    from = m + 4
  }
  bytes += part(text, from, text.length)
  return units < 0 || bytes === units - 4 * lists.length
}

/** Where the next header list's key is, from `from`: the `~` of `"~":[`. Searched for by its one char (a search for
 *  `"headers":[`, from a char as common as `"`, was 2% of a --json run); only a key can be `~` and followed by `":`,
 *  as a `"` in a string is `\"`, and the record has no other key `~`. */
function markAt(text: string, from: number): number {
  let i = text.indexOf('~', from)
  while (i >= 0 && !(text.charCodeAt(i - 1) === 0x22 && text.charCodeAt(i + 1) === 0x22 && text.charCodeAt(i + 2) === 0x3a)) i = text.indexOf('~', i + 1)
  return i
}

/** The key the lists go under, after the quote that opened the mark's. */
const HEADERS = Buffer.from('headers":[', 'latin1')

function put(b: Uint8Array): void {
  room(b.length)
  for (let i = 0; i < b.length; i++) buf[o++] = b[i]
}

/** Writes text[from, to) as UTF-8; the bytes written. */
function part(text: string, from: number, to: number): number {
  room((to - from) * 3)
  const n = buf.utf8Write(from === 0 && to === text.length ? text : text.slice(from, to), o)
  o += n
  return n
}

function jsonRecord(r: ClientRecord): object {
  return {
    vxid: r.vxid,
    side: r.side,
    reason: r.reason,
    parent: r.parent,
    session: r.session,
    start: r.start,
    client: r.client,
    request: jsonRequest(r.request),
    response: jsonResponse(r.response),
    handling: r.handling,
    grace: r.grace,
    streaming: r.streaming,
    restarts: r.restarts,
    restarted_vxids: r.restarted_vxids,
    timing: r.timing,
    bytes: r.bytes,
    backend: jsonBackend(r.backend),
    bgfetch: jsonBackend(r.bgfetch),
    esi: r.esi.map(jsonRecord),
    vcl_log: r.vcl_log,
    incomplete: r.incomplete,
  }
}

function jsonBackend(b: BackendFetch | null): object | null {
  if (b === null) return null
  return {
    vxid: b.vxid,
    reason: b.reason,
    name: b.name,
    status: b.status,
    error: b.error,
    retries: b.retries,
    retried_vxids: b.retried_vxids,
    timing: b.timing,
    bytes: b.bytes,
    request: jsonRequest(b.request),
    response: jsonResponse(b.response),
    incomplete: b.incomplete,
  }
}

// The object literals are evaluated in key order, which is the order JSON.stringify writes them in: each list is
// queued where its empty one will be.
function jsonRequest(q: HttpRequest): object {
  lists.push(q)
  return { method: q.method, url: q.url, protocol: q.protocol, '~': EMPTY }
}

function jsonResponse(p: HttpResponse): object {
  lists.push(p)
  return { status: p.status, reason: p.reason, protocol: p.protocol, '~': EMPTY }
}

// The writer's state while it writes one record (synchronously): the output buffer, its current block, and
// where the next byte goes in it. `room(n)` before writing up to n bytes.
const NO_BYTES = Buffer.alloc(0)
let sink: OutputBuffer = scratch
let buf: Buffer = NO_BYTES
let o = 0

function room(n: number): void {
  if (o + n > buf.length) {
    o = sink.grow(o, n)
    buf = sink.block
  }
}

/** The items of a header list (its brackets are the text's): from the logged lines when the record has them
 *  (src/vsl/record.ts), else from the pairs. */
function headers(h: HttpRequest | HttpResponse): void {
  const lines = h.lines
  if (lines === undefined) {
    const pairs = h.headers
    for (let i = 0; i < pairs.length; i++) pair(pairs[i], i > 0)
    return
  }
  for (let i = 0; i < lines.length; i++) line(lines[i], i > 0)
}

/** A logged header line (latin1: a char per byte) as the pair header() reads from it, written from its chars
 *  when they are ASCII. */
function line(d: string, comma: boolean): void {
  const colon = d.indexOf(':')
  if (colon < 0) return pair(header(d), comma)
  let v = colon + 1
  while (v < d.length && d.charCodeAt(v) === 32) v++
  room(d.length * 6 + 8)
  const at = o
  if (comma) buf[o++] = 0x2c
  buf[o++] = 0x5b
  buf[o++] = 0x22
  if (ascii(d, 0, colon)) {
    buf[o++] = 0x22
    buf[o++] = 0x2c
    buf[o++] = 0x22
    if (ascii(d, v, d.length)) {
      buf[o++] = 0x22
      buf[o++] = 0x5d
      return
    }
  }
  o = at
  pair(header(d), comma)
}

function pair(p: Header, comma: boolean): void {
  room(4)
  if (comma) buf[o++] = 0x2c
  buf[o++] = 0x5b
  str(p[0])
  room(2)
  buf[o++] = 0x2c
  str(p[1])
  room(1)
  buf[o++] = 0x5d
}

/** A string: its chars when they are ASCII, else JSON.stringify's text of it, made safe for a terminal. */
function str(s: string): void {
  room(s.length * 6 + 2)
  const at = o
  buf[o++] = 0x22
  if (ascii(s, 0, s.length)) {
    buf[o++] = 0x22
    return
  }
  o = at
  const json = escapeJsonText(JSON.stringify(s))
  room(json.length * 3)
  o += buf.utf8Write(json, o)
}

/** JSON's escape of each char below 0x20 (JSON.stringify's: the five short ones, else \u00XX), of `"` and `\`,
 *  and of DEL (escapeJsonText's); null for a char written as itself. */
const ESCAPE: (Uint8Array | null)[] = Array.from({ length: 128 }, (_, c) => {
  if (c === 0x7f) return Buffer.from('\\u007f')
  if (c >= 0x20 && c !== 0x22 && c !== 0x5c) return null
  return Buffer.from(JSON.stringify(String.fromCharCode(c)).slice(1, -1), 'latin1')
})
const PLAIN = new Uint8Array(128).map((_, c) => (ESCAPE[c] === null ? 1 : 0))

/** Writes s[from, to) (room made for 6 bytes a char) and true when it is ASCII; false at the first char that is
 *  not (what was written is then to be rewritten). */
function ascii(s: string, from: number, to: number): boolean {
  const b = buf
  let p = o
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 128 && PLAIN[c] === 1) {
      b[p++] = c
      continue
    }
    if (c >= 128) return false
    const e = ESCAPE[c]!
    for (let k = 0; k < e.length; k++) b[p++] = e[k]
  }
  o = p
  return true
}
