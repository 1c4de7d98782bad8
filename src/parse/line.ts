// Owns the text layouts of varnishlog 4–7: one line in, a LogRecord, a TxHeader or an OtherLine out. Total: it
// never throws, whatever the line. Uses charCodeAt/indexOf/slice only (no split, no regex) on the hot path.
//
//   grouped (-g vxid|request|session):  "*   << Request  >> 5         "      "-   ReqURL         /x"
//   grouped with -v:                    "*              << Request  >>   5"  "-            5 ReqURL         c /x"
//   raw (-g raw):                       "         5 ReqURL         c /x"
// Levels: `*`/`-` repeated up to 3, then written as `*4*`/`-4-` (vsl.c). The tag is padded to 14 columns and
// followed by one space; data may itself start with a space (`Filters         esi`… ` gunzip`).

import type { OtherLine, ParsedLine, TxType } from '../vsl/types.js'

const TAG_WIDTH = 14
const SPACE = 32
const STAR = 42
const DASH = 45
const LT = 60
const GT = 62

const BLANK: OtherLine = Object.freeze({ kind: 'blank', text: '' }) as OtherLine

export function parseLine(line: string): ParsedLine {
  const len = line.length
  if (len === 0) return BLANK
  const c0 = line.charCodeAt(0)
  if (c0 === DASH) return parseGroupedRecord(line, len)
  if (c0 === SPACE || (c0 >= 48 && c0 <= 57)) return parseRawRecord(line, len)
  if (c0 === STAR) return parseHeader(line, len)
  return other(line)
}

/** `-   Tag  data`, `--  Tag  data`, `-4- Tag  data`, or with -v `-     12 Tag  c data`. */
function parseGroupedRecord(line: string, len: number): ParsedLine {
  let i = 1
  let level = 1
  let c = line.charCodeAt(1)
  if (c === DASH) {
    level = 2
    i = 2
    if (line.charCodeAt(2) === DASH) {
      level = 3
      i = 3
    }
  } else if (c >= 48 && c <= 57) {
    // -4- and deeper
    let n = 0
    while (i < len && (c = line.charCodeAt(i)) >= 48 && c <= 57) {
      n = n * 10 + (c - 48)
      i++
    }
    if (line.charCodeAt(i) !== DASH) return other(line)
    level = n
    i++
  }
  if (line.charCodeAt(i) !== SPACE) return other(line)
  while (i < len && line.charCodeAt(i) === SPACE) i++
  c = line.charCodeAt(i)
  if (c >= 48 && c <= 57) {
    // -v: vxid, tag, side marker, data
    let vxid = 0
    while (i < len && (c = line.charCodeAt(i)) >= 48 && c <= 57) {
      vxid = vxid * 10 + (c - 48)
      i++
    }
    if (line.charCodeAt(i) !== SPACE) return other(line)
    return tagWithSide(line, len, i + 1, level, vxid)
  }
  const tagStart = i
  const tagEnd = tagEndAt(line, len, tagStart)
  if (tagEnd < 0) return other(line)
  const dataStart = Math.max(tagEnd, tagStart + TAG_WIDTH) + 1
  return {
    kind: 'record',
    level,
    vxid: -1,
    tag: line.slice(tagStart, tagEnd),
    data: dataStart < len ? line.slice(dataStart) : '',
  }
}

/** `%10u %-14s %c %s`: the raw layout. */
function parseRawRecord(line: string, len: number): ParsedLine {
  let i = 0
  while (i < len && line.charCodeAt(i) === SPACE) i++
  let c = line.charCodeAt(i)
  if (!(c >= 48 && c <= 57)) return other(line)
  let vxid = 0
  while (i < len && (c = line.charCodeAt(i)) >= 48 && c <= 57) {
    vxid = vxid * 10 + (c - 48)
    i++
  }
  if (line.charCodeAt(i) !== SPACE) return other(line)
  return tagWithSide(line, len, i + 1, 0, vxid)
}

/** Parses `Tag<pad> c data` from `start` (the tag's first column). */
function tagWithSide(line: string, len: number, start: number, level: number, vxid: number): ParsedLine {
  const tagEnd = tagEndAt(line, len, start)
  if (tagEnd < 0) return other(line)
  let side = Math.max(tagEnd, start + TAG_WIDTH) + 1
  if (!isSideAt(line, len, side)) {
    // Tolerate other padding (hand-edited or re-spaced text): the first non-space after the tag.
    side = tagEnd
    while (side < len && line.charCodeAt(side) === SPACE) side++
    if (!isSideAt(line, len, side)) return other(line)
  }
  return {
    kind: 'record',
    level,
    vxid,
    tag: line.slice(start, tagEnd),
    data: side + 2 < len ? line.slice(side + 2) : '',
  }
}

/** True for a `c`, `b` or `-` marker followed by a space or the end of the line. */
function isSideAt(line: string, len: number, i: number): boolean {
  if (i >= len) return false
  const c = line.charCodeAt(i)
  if (c !== 99 && c !== 98 && c !== DASH) return false
  return i + 1 === len || line.charCodeAt(i + 1) === SPACE
}

/** End of a tag name (letters, digits, `_`; VSL tags start with a capital) at `i`; -1 if there is none. */
function tagEndAt(line: string, len: number, i: number): number {
  let c = line.charCodeAt(i)
  if (!(c >= 65 && c <= 90)) return -1
  i++
  while (i < len) {
    c = line.charCodeAt(i)
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95) i++
    else break
  }
  if (i < len && c !== SPACE) return -1
  return i
}

/** `*   << Request  >> 5`, `**  << BeReq    >> 6`, `*4* << BeReq >> 9`, `*    << Session  >>   4`. */
function parseHeader(line: string, len: number): ParsedLine {
  let i = 1
  let level = 1
  let c = line.charCodeAt(1)
  if (c === STAR) {
    level = 2
    i = 2
    if (line.charCodeAt(2) === STAR) {
      level = 3
      i = 3
    }
  } else if (c >= 48 && c <= 57) {
    let n = 0
    while (i < len && (c = line.charCodeAt(i)) >= 48 && c <= 57) {
      n = n * 10 + (c - 48)
      i++
    }
    if (line.charCodeAt(i) !== STAR) return other(line)
    level = n
    i++
  }
  while (i < len && line.charCodeAt(i) === SPACE) i++
  if (line.charCodeAt(i) !== LT || line.charCodeAt(i + 1) !== LT) return other(line)
  i += 2
  while (i < len && line.charCodeAt(i) === SPACE) i++
  const typeStart = i
  while (i < len && line.charCodeAt(i) !== SPACE) i++
  const type = headerType(line.slice(typeStart, i))
  if (type === undefined) return other(line)
  while (i < len && line.charCodeAt(i) === SPACE) i++
  if (line.charCodeAt(i) !== GT || line.charCodeAt(i + 1) !== GT) return other(line)
  i += 2
  while (i < len && line.charCodeAt(i) === SPACE) i++
  let vxid = 0
  const digits = i
  while (i < len && (c = line.charCodeAt(i)) >= 48 && c <= 57) {
    vxid = vxid * 10 + (c - 48)
    i++
  }
  if (i === digits) return other(line)
  return { kind: 'header', level, vxid, type }
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

/** varnishlog's own messages on its output (`Log overrun`, `Log reacquired`, `Log abandoned`) are noise; any other
 *  text may be the continuation of a record whose data held a newline. */
function other(line: string): OtherLine {
  if (line.startsWith('Log ') && /^Log (overrun|reacquired|abandoned)/.test(line)) return { kind: 'noise', text: line }
  let allSpace = true
  for (let i = 0; i < line.length; i++) {
    if (line.charCodeAt(i) !== SPACE && line.charCodeAt(i) !== 9) {
      allSpace = false
      break
    }
  }
  if (allSpace) return BLANK
  return { kind: 'text', text: line }
}
