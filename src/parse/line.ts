// Owns the text layouts of varnishlog 4–7: the bytes of one line in, a record, a group header or another line out,
// handed to a LineSink (no object per line on the hot path; `parseLine` wraps it for tests and tools). Total: it
// never throws, whatever the bytes. Works on the Buffer directly: tag names are interned (the same string object
// for every `ReqHeader`), and only the record's data becomes a new string.
//
//   grouped (-g vxid|request|session):  "*   << Request  >> 5         "      "-   ReqURL         /x"
//   grouped with -v:                    "*              << Request  >>   5"  "-            5 ReqURL         c /x"
//   raw (-g raw):                       "         5 ReqURL         c /x"
// Levels: `*`/`-` repeated up to 3, then written as `*4*`/`-4-` (vsl.c). The tag is padded to 14 columns and
// followed by one space; data may itself start with a space (`Filters         esi`… ` gunzip`).

import type { OtherLine, ParsedLine, TxType } from '../vsl/types.js'

export interface LineSink {
  /** A log record; vxid -1 when the layout does not print it (grouped, terse). Level 0 in the raw layout, where
   *  a negative number (Varnish 2.1's fd -1) arrives as -2. `side` is the c/b/- marker's char code, 0 if none. */
  record(level: number, vxid: number, tag: string, data: string, side: number): void
  header(level: number, vxid: number, type: TxType): void
  /** Optional, for the binary reader of a block whose records are kept as positions (BinaryScanner.lazy): a
   *  Timestamp record, read from its bytes: record() of it, its since-start time (sinceStartQuick of its data) and
   *  its absolute time's whole seconds (stampSeconds) given in place of its data. */
  stampRecord?(vxid: number, since: number, secs: number, side: number): void
  /** Optional, for the binary reader: a record of a tag whose data the sink does not read, of the transaction of
   *  the record before it (its data '' when lazy); false when the sink wants it as a record(). */
  more?(vxid: number, tag: string, data: string): boolean
  /** Optional, for the binary reader of a block whose records are kept as positions: more() of `n` such records,
   *  one after the other in the input from `pos`. */
  moreRun?(vxid: number, pos: number, n: number): boolean
  /** A line that is not a log line: blank, varnishlog's own message (noise), or text that may continue the record
   *  before it. */
  other(kind: OtherLine['kind'], text: string): void
}

/** Column width of the tag in the 4–7 layouts (`%-14s`). */
export const TAG_WIDTH = 14
const SPACE = 32
const STAR = 42
const DASH = 45
const LT = 60
const GT = 62

declare module 'node:buffer' {
  interface Buffer {
    /** What toString('latin1', start, end) calls after checking its arguments; ours are checked already. */
    latin1Slice(start: number, end: number): string
  }
}

/** Interned tag names, keyed by the FNV-1a hash of their bytes that tagEndAt computes while it scans them (one
 *  pass, no second comparison: measured 118 -> 165 MB/s for parsing alone). Two names of the same length share a
 *  key only by a 32-bit hash collision, never by one changed byte (FNV-1a steps are bijective), and tag names are
 *  varnishlog's, not the clients'. Bounded, so garbage input cannot grow it. */
const tagCache = new Map<number, string>()
const TAG_CACHE_MAX = 1024
/** The hash of the tag tagEndAt scanned last. */
let tagHash = 0

function tagString(buf: Buffer, s: number, e: number): string {
  const n = e - s
  const key = (tagHash ^ (n << 27)) >>> 0
  const t = tagCache.get(key)
  if (t !== undefined && t.length === n) return t
  const str = buf.latin1Slice(s, e)
  if (t === undefined && tagCache.size < TAG_CACHE_MAX) tagCache.set(key, str)
  return str
}

/** Column width of the tag in the raw layouts: 14 (`%-14s`) in 4–7, 12 (`%-12s`) in 2.1/3.0. */
export const TAG_WIDTH_LEGACY = 12

/** Parses the line buf[start, end) (no line end) and hands it to the sink. */
export function scanLine(buf: Buffer, start: number, end: number, sink: LineSink, tagWidth = TAG_WIDTH): void {
  if (end <= start) {
    sink.other('blank', '')
    return
  }
  const c0 = buf[start]
  if (c0 === DASH) {
    if (groupedRecord(buf, start, end, sink)) return
  } else if (c0 === SPACE || (c0 >= 48 && c0 <= 57)) {
    if (rawRecord(buf, start, end, sink, tagWidth)) return
  } else if (c0 === STAR) {
    if (header(buf, start, end, sink)) return
  }
  other(buf, start, end, sink)
}

/** `-   Tag  data`, `--  Tag  data`, `-4- Tag  data`, or with -v `-     12 Tag  c data`. */
function groupedRecord(buf: Buffer, start: number, end: number, sink: LineSink): boolean {
  let i = start + 1
  let level = 1
  let c = buf[i]
  if (c === DASH) {
    level = 2
    i++
    if (buf[i] === DASH) {
      level = 3
      i++
    }
  } else if (c >= 48 && c <= 57) {
    // -4- and deeper
    let n = 0
    while (i < end && (c = buf[i]) >= 48 && c <= 57) {
      n = n * 10 + (c - 48)
      i++
    }
    if (buf[i] !== DASH) return false
    level = n
    i++
  }
  if (i >= end || buf[i] !== SPACE) return false
  while (i < end && buf[i] === SPACE) i++
  c = buf[i]
  if (c >= 48 && c <= 57) {
    // -v: vxid, tag, side marker, data
    let vxid = 0
    while (i < end && (c = buf[i]) >= 48 && c <= 57) {
      vxid = vxid * 10 + (c - 48)
      i++
    }
    if (i >= end || buf[i] !== SPACE) return false
    return tagWithSide(buf, end, i + 1, level, vxid, sink, TAG_WIDTH)
  }
  const tagStart = i
  const tagEnd = tagEndAt(buf, end, tagStart)
  if (tagEnd < 0) return false
  const dataStart = Math.max(tagEnd, tagStart + TAG_WIDTH) + 1
  sink.record(level, -1, tagString(buf, tagStart, tagEnd), dataStart < end ? buf.latin1Slice(dataStart, end) : '', 0)
  return true
}

/** `%10u %-14s %c %s`: the raw layout; `%5d %-12s %c %s` in Varnish 2.1/3.0. */
function rawRecord(buf: Buffer, start: number, end: number, sink: LineSink, tagWidth: number): boolean {
  let i = start
  while (i < end && buf[i] === SPACE) i++
  let negative = false
  if (buf[i] === DASH && i + 1 < end && buf[i + 1] >= 48 && buf[i + 1] <= 57) {
    negative = true
    i++
  }
  let c = buf[i]
  if (i >= end || !(c >= 48 && c <= 57)) return false
  let vxid = 0
  while (i < end && (c = buf[i]) >= 48 && c <= 57) {
    vxid = vxid * 10 + (c - 48)
    i++
  }
  if (i >= end || buf[i] !== SPACE) return false
  return tagWithSide(buf, end, i + 1, 0, negative ? -2 : vxid, sink, tagWidth)
}

/** Parses `Tag<pad> c data` from `start` (the tag's first column). */
function tagWithSide(buf: Buffer, end: number, start: number, level: number, vxid: number, sink: LineSink, tagWidth: number): boolean {
  const tagEnd = tagEndAt(buf, end, start)
  if (tagEnd < 0) return false
  let side = Math.max(tagEnd, start + tagWidth) + 1
  if (!isSideAt(buf, end, side)) {
    // Tolerate other padding (hand-edited or re-spaced text): the first non-space after the tag.
    side = tagEnd
    while (side < end && buf[side] === SPACE) side++
    if (!isSideAt(buf, end, side)) return false
  }
  sink.record(level, vxid, tagString(buf, start, tagEnd), side + 2 < end ? buf.latin1Slice(side + 2, end) : '', buf[side])
  return true
}

/** True for a `c`, `b` or `-` marker followed by a space or the end of the line. */
function isSideAt(buf: Buffer, end: number, i: number): boolean {
  if (i >= end) return false
  const c = buf[i]
  if (c !== 99 && c !== 98 && c !== DASH) return false
  return i + 1 === end || buf[i + 1] === SPACE
}

/** End of a tag name (letters, digits, `_`; VSL tags start with a capital) at `i`; -1 if there is none. */
function tagEndAt(buf: Buffer, end: number, i: number): number {
  let c = buf[i]
  if (i >= end || !(c >= 65 && c <= 90)) return -1
  let h = Math.imul(0x811c9dc5 ^ c, 0x01000193)
  i++
  while (i < end) {
    c = buf[i]
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95) {
      h = Math.imul(h ^ c, 0x01000193)
      i++
    } else break
  }
  tagHash = h
  if (i < end && c !== SPACE) return -1
  return i
}

/** `*   << Request  >> 5`, `**  << BeReq    >> 6`, `*4* << BeReq >> 9`, `*    << Session  >>   4`. */
function header(buf: Buffer, start: number, end: number, sink: LineSink): boolean {
  let i = start + 1
  let level = 1
  let c = buf[i]
  if (c === STAR) {
    level = 2
    i++
    if (buf[i] === STAR) {
      level = 3
      i++
    }
  } else if (c >= 48 && c <= 57) {
    let n = 0
    while (i < end && (c = buf[i]) >= 48 && c <= 57) {
      n = n * 10 + (c - 48)
      i++
    }
    if (buf[i] !== STAR) return false
    level = n
    i++
  }
  while (i < end && buf[i] === SPACE) i++
  if (i + 1 >= end || buf[i] !== LT || buf[i + 1] !== LT) return false
  i += 2
  while (i < end && buf[i] === SPACE) i++
  const typeStart = i
  while (i < end && buf[i] !== SPACE) i++
  const type = headerType(buf.latin1Slice(typeStart, i))
  if (type === undefined) return false
  while (i < end && buf[i] === SPACE) i++
  if (i + 1 >= end || buf[i] !== GT || buf[i + 1] !== GT) return false
  i += 2
  while (i < end && buf[i] === SPACE) i++
  let vxid = 0
  const digits = i
  while (i < end && (c = buf[i]) >= 48 && c <= 57) {
    vxid = vxid * 10 + (c - 48)
    i++
  }
  if (i === digits) return false
  sink.header(level, vxid, type)
  return true
}

function headerType(word: string): TxType | undefined {
  switch (word) {
    case 'Request':
      return 'req'
    case 'BeReq':
      return 'bereq'
    case 'Session':
      return 'sess'
    case 'Record':
      return 'raw'
    default:
      return undefined
  }
}

/** varnishlog's own messages on its output (`Log overrun`, `Log reacquired`, `Log abandoned`) are noise; a line
 *  of spaces is blank; any other text may be the continuation of a record whose data held a newline. */
function other(buf: Buffer, start: number, end: number, sink: LineSink): void {
  let allSpace = true
  for (let i = start; i < end; i++) {
    if (buf[i] !== SPACE && buf[i] !== 9) {
      allSpace = false
      break
    }
  }
  if (allSpace) {
    sink.other('blank', '')
    return
  }
  const line = buf.latin1Slice(start, end)
  if (line.startsWith('Log ') && /^Log (overrun|reacquired|abandoned)/.test(line)) sink.other('noise', line)
  else sink.other('text', line)
}

/** Collects what scanLine reports as a ParsedLine object. */
class Collector implements LineSink {
  last: ParsedLine = { kind: 'blank', text: '' }
  record(level: number, vxid: number, tag: string, data: string): void {
    this.last = { kind: 'record', level, vxid, tag, data }
  }
  header(level: number, vxid: number, type: TxType): void {
    this.last = { kind: 'header', level, vxid, type }
  }
  other(kind: OtherLine['kind'], text: string): void {
    this.last = { kind, text }
  }
}

const KIND = new Collector()

/** What scanLine makes of the line buf[start, end): a record, a header, or the kind of other line (the parallel
 *  reader's cuts: once per block). */
export function lineKind(buf: Buffer, start: number, end: number): ParsedLine['kind'] {
  scanLine(buf, start, end, KIND)
  return KIND.last.kind
}

/** One line of text (latin1: one char per byte) as a ParsedLine. For tests and tools; the pipeline uses scanLine. */
export function parseLine(line: string): ParsedLine {
  const c = new Collector()
  const buf = Buffer.from(line, 'latin1')
  scanLine(buf, 0, buf.length, c)
  return c.last
}
