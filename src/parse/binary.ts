// Owns reading binary VSL (`varnishlog -w` files): bytes in, the log records varnishlog would print for them out,
// handed to a LineSink as raw-layout records (level 0), with the same data text varnishlog prints
// (lib/libvarnishapi/vsl.c, vsl_print): a plain tag's data up to its NUL, an unsafe tag's (Debug, HttpGarbage,
// Hash) quoted with %XX escapes, a binary tag's (H2*) as hex in brackets. Total: it never throws, whatever the
// bytes; what is not a record is counted and skipped, and a record after bad bytes is believed only when it and
// the records after it hold up (see `confirmed`). The parallel reader's walker is a scanner too (walkOnly).
//
// The format (include/vapi/vsl_int.h; lib/libvarnishapi/vsl_cursor.c, vslc_file_next): a file header, then records
// of 32-bit little-endian words, each padded to a whole word:
//   "VSL\0" (4.1-7.2):  [tag:8 | unused:8 | len:16] [B:1 C:1 vxid:30]          data (len bytes, NUL-terminated)
//   "VSL2"  (7.3+):     [tag:8 | unused:6 ver:2 | len:16] [vxid low 32] [B:1 C:1 zero:11 vxid high:19]  data
// B and C mark backend and client transactions. Tag 255 is a batch header (skipped, as varnishlog does). A file
// header where a record should start is a file appended to another (`cat a.vsl b.vsl`): it is read on, with the
// numbering of its own version.

import { FLAGS_VSL1, FLAGS_VSL2, TAGS_VSL1, TAGS_VSL2, type TagFlag } from '../vsl/binary-tags.js'
import { stampOfBytes, type StampTimes } from '../vsl/fields.js'
import type { LineSink } from './line.js'

export type VslVersion = 1 | 2

const MAGIC_VSL1 = 0x004c5356 // "VSL\0" read as a little-endian word
const MAGIC_VSL2 = 0x324c5356 // "VSL2"
const BATCH = 255
const SIDE_CLIENT = 99 // 'c'
const SIDE_BACKEND = 98 // 'b'
const SIDE_NONE = 45 // '-'
/** Bytes decoded to a string at once (see BinaryScanner.text). */
const WINDOW = 16 * 1024
/** Records whose header is not trusted until this many in a row follow it (after a bad span). */
const RESYNC_CONFIRM = 3

/** The layout name of a binary file of version v, for the summary. */
export function binaryLayout(v: VslVersion): string {
  return v === 1 ? 'binary VSL' : 'binary VSL2'
}

/** The file header's version, null for another file; `VSL` followed by any other byte: 'unknown'. */
export function vslVersion(head: Uint8Array): VslVersion | 'unknown' | null {
  if (head.length < 4 || head[0] !== 0x56 || head[1] !== 0x53 || head[2] !== 0x4c) return null
  if (head[3] === 0) return 1
  if (head[3] === 0x32) return 2
  return 'unknown'
}

interface Table {
  names: readonly string[]
  /** Per tag number: 0 plain, 1 unsafe, 2 binary. */
  kinds: Uint8Array
  /** Per tag number: 1 when the grouper reads the record's data (BinaryScanner.lazy). */
  grouped: Uint8Array
  /** The number of the Timestamp tag. */
  stamp: number
  overhead: number
}

/** The tags whose data the grouper reads (src/group/grouper.ts: links, times, sessions' addresses). */
const GROUPED = new Set(['Begin', 'End', 'Link', 'Timestamp', 'VSL', 'SessOpen', 'Proxy', 'SessClose'])

function table(names: readonly string[], flags: ReadonlyArray<readonly [number, TagFlag]>, overhead: number): Table {
  const kinds = new Uint8Array(256)
  for (const [n, f] of flags) kinds[n] = f === 'unsafe' ? 1 : 2
  const grouped = new Uint8Array(256)
  names.forEach((name, n) => (grouped[n] = GROUPED.has(name) ? 1 : 0))
  return { names, kinds, grouped, stamp: names.indexOf('Timestamp'), overhead }
}

const TABLES: Record<VslVersion, Table> = {
  1: table(TAGS_VSL1, FLAGS_VSL1, 8),
  2: table(TAGS_VSL2, FLAGS_VSL2, 12),
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Where the first bad bytes were, and why: for the message at the end of the file. */
export interface BadSpot {
  pos: number
  why: string
}

/** What was not records, in one input (or one block of it): runs of bytes, their size, the first and why, and a
 *  record the input ended inside of. */
export interface BadBytes {
  spans: number
  bytes: number
  first: BadSpot | null
  cutShort: { pos: number; want: number; have: number } | null
}

/** Adds what a later part of the same input had (a block of the parallel reader). */
export function addBadBytes(into: BadBytes, from: BadBytes): void {
  into.spans += from.spans
  into.bytes += from.bytes
  into.first ??= from.first
  into.cutShort ??= from.cutShort
}

export class BinaryScanner {
  /** Records read (each one line of varnishlog's raw output). */
  records = 0
  readonly bad: BadBytes = { spans: 0, bytes: 0, first: null, cutShort: null }
  /** Block mode (src/parallel): set to each record's position before it goes to the sink. */
  onRecord: ((pos: number) => void) | null = null
  /** A file header where a record should start: another file begins (its transactions are not this one's). */
  onFileHeader: (() => void) | null = null
  /** The file versions read (a file appended to another may be of another version). */
  readonly versions = new Set<VslVersion>()
  private t: Table
  private inBad = false
  /** The parallel reader's walker: finds where records end, as the reader of the whole file would (the same
   *  checks, the same resync after damage), without making records; and stops before another file's header. */
  walkOnly = false
  /** Block mode, with a RecordStore (src/group/store.ts): only the records the grouper reads carry their data
   *  (the others '': the store keeps their positions, and pushRecord decodes them when their tree is read). */
  lazy = false
  /** Walker: the last scan stopped before another file's header. */
  atFileHeader = false
  /** Where the bad bytes being resynced began (an input position). */
  badFrom = -1
  /** The window of the buffer being read, decoded (see text()). */
  private win = ''
  /** A Timestamp's times, read for the sink (stampRecord). */
  private readonly stamp: StampTimes = { since: 0, seconds: 0 }
  private winStart = 0
  private winEnd = -1
  /** The end of the range being scanned: a window stops there (the parallel reader's merge scans leftovers one
   *  record at a time, and a window to the end of all of them, made for each, cost 1.6 times the input). */
  private scanEnd = 0
  private readonly startVersion: VslVersion
  /** Where a file header switched the version: position, version, … */
  private readonly switches: number[] = []

  constructor(
    version: VslVersion,
    private readonly sink: LineSink,
  ) {
    this.t = TABLES[version]
    this.startVersion = version
    this.versions.add(version)
  }

  /** The version being read. */
  get version(): VslVersion {
    return this.t === TABLES[1] ? 1 : 2
  }

  /** After bad bytes, looking for the next record. */
  get resyncing(): boolean {
    return this.inBad
  }

  /** Block mode: the block starts inside bad bytes the block before it counted (the walker was resyncing). */
  continueBad(): void {
    this.inBad = true
  }

  /** Walker: reads on from where the bad bytes being resynced began, as if they had not been read yet. */
  backToBad(): void {
    this.inBad = false
  }

  /** Reads on in another version's numbering (the parallel reader's leftovers, each of the version it had). */
  setVersion(v: VslVersion): void {
    this.t = TABLES[v]
  }

  /** The version the record at `pos` was read in. */
  versionAt(pos: number): VslVersion {
    let v = this.startVersion
    for (let i = 0; i < this.switches.length && this.switches[i] <= pos; i += 2) v = this.switches[i + 1] as VslVersion
    return v
  }

  /** Reads the records of buf[start, end) (`base` is the position of buf[0] in the input). Returns where the
   *  first record that does not end within `end` starts: the caller gives those bytes again with more after them.
   *  With `last` (the input ends at `end`) it reads to the end: a record cut short there is counted. */
  scan(buf: Buffer, start: number, end: number, base: number, last = false): number {
    this.winEnd = -1
    this.scanEnd = end
    this.atFileHeader = false
    let p = start
    while (end - p >= 4) {
      // Records whose headers hold up, one after the other, the usual case: the careful reading below is for the
      // rest (a file header, a batch, bad bytes, a record the range cuts, after damage).
      if (!this.inBad) {
        p = this.walkOnly ? this.passGood(buf, p, end) : this.readGood(buf, p, end, base)
        if (end - p < 4) break
      }
      const w0 = u32(buf, p)
      if (w0 === MAGIC_VSL1 || w0 === MAGIC_VSL2) {
        if (this.walkOnly && p > start) {
          this.atFileHeader = true
          return p
        }
        // Another file's header: read on in its version.
        const v = w0 === MAGIC_VSL1 ? 1 : 2
        this.t = TABLES[v]
        this.versions.add(v)
        this.switches.push(base + p, v)
        this.inBad = false
        this.onFileHeader?.()
        p += 4
        continue
      }
      const oh = this.t.overhead
      const tag = w0 >>> 24
      // A batch header is followed by its records, read one by one.
      const size = tag === BATCH ? oh : oh + (((w0 & 0xffff) + 3) & ~3)
      const why = this.headerProblem(buf, p, tag, end)
      if (why === null && end - p < size) {
        if (!last) break // the rest of it is in the next chunk
        if (!this.inBad) {
          this.bad.cutShort = { pos: base + p, want: size, have: end - p }
          this.skip(base + p, 'cut short', end - p)
          return end
        }
      }
      const sure = why !== null || end - p < size || !this.inBad ? null : this.confirmed(buf, p, end, last)
      if (sure === 'wait') break
      if (why !== null || end - p < size || sure === 'no') {
        this.skip(base + p, why ?? 'no record', 4)
        p += 4
        continue
      }
      this.inBad = false
      if (tag !== BATCH && !this.walkOnly) {
        this.onRecord?.(base + p)
        this.emit(buf, p, oh, tag, w0 & 0xffff)
      }
      p += size
    }
    if (last && end > p) {
      if (!this.inBad) this.bad.cutShort = { pos: base + p, want: this.t.overhead, have: end - p }
      this.skip(base + p, 'cut short', end - p)
      return end
    }
    return p
  }

  /** From p, the records whose headers hold up and that end within `end`, to the sink; returns where the first
   *  other one starts (see goodSize). */
  private readGood(buf: Buffer, p: number, end: number, base: number): number {
    const t = this.t
    if (this.lazy && this.sink.moreRun !== undefined) return this.readGoodRuns(buf, p, end, base)
    for (;;) {
      const size = goodSize(buf, p, end, t)
      if (size === 0) return p
      this.onRecord?.(base + p)
      this.emit(buf, p, t.overhead, buf[p + 3], buf[p] | (buf[p + 1] << 8))
      p += size
    }
  }

  /** readGood of a lazy scanner: records of tags the grouper does not read that follow one of the same vxid go
   *  to the sink together, as a run (LineSink.moreRun: most records, in runs of about ten). */
  private readGoodRuns(buf: Buffer, p: number, end: number, base: number): number {
    const t = this.t
    const oh = t.overhead
    let last = -1 // the vxid of the record before, which went to the sink on its own
    let run = -1
    let n = 0
    for (;;) {
      const size = goodSize(buf, p, end, t)
      if (size === 0) break
      const tag = buf[p + 3]
      const vxid = vxidAt(buf, p, oh)
      if (vxid === last && t.grouped[tag] === 0) {
        if (n++ === 0) run = p
      } else {
        if (n > 0) this.run(buf, run, n, last, base)
        n = 0
        this.onRecord?.(base + p)
        this.emit(buf, p, oh, tag, buf[p] | (buf[p + 1] << 8))
        last = vxid
      }
      p += size
    }
    if (n > 0) this.run(buf, run, n, last, base)
    return p
  }

  /** n records from p, of the vxid of the record before them: to the sink as a run, or (when it does not take them
   *  so: they are not of the transaction that record went to) each on its own. */
  private run(buf: Buffer, p: number, n: number, vxid: number, base: number): void {
    if (this.sink.moreRun!(vxid, base + p, n)) {
      this.records += n
      return
    }
    const oh = this.t.overhead
    for (let k = 0; k < n; k++) {
      const len = buf[p] | (buf[p + 1] << 8)
      this.onRecord?.(base + p)
      this.emit(buf, p, oh, buf[p + 3], len)
      p += oh + ((len + 3) & ~3)
    }
  }

  /** The walker's readGood: passes over them. */
  private passGood(buf: Buffer, p: number, end: number): number {
    const t = this.t
    for (;;) {
      const size = goodSize(buf, p, end, t)
      if (size === 0) return p
      p += size
    }
  }

  private emit(buf: Buffer, p: number, oh: number, tag: number, len: number): void {
    const vxid = vxidAt(buf, p, oh)
    const marks = buf[p + oh - 1] >>> 6
    const side = marks & 1 ? SIDE_CLIENT : marks & 2 ? SIDE_BACKEND : SIDE_NONE
    this.records++
    const t = this.t
    const name = t.names[tag]
    const more = t.grouped[tag] === 0 && this.sink.more !== undefined
    if (this.lazy) {
      // One record in seven or so: sliced on its own (a window would decode all the others too); a Timestamp,
      // the most of them, is read from its bytes.
      if (more && this.sink.more!(vxid, name, '')) return
      if (tag === t.stamp && this.sink.stampRecord !== undefined) this.stampRecord(buf, p + oh, len, vxid, side)
      else this.sink.record(0, vxid, name, t.grouped[tag] === 1 ? dataOf(buf, p + oh, t.kinds[tag], len, null) : '', side)
    } else {
      const data = dataOf(buf, p + oh, t.kinds[tag], len, this)
      if (!(more && this.sink.more!(vxid, name, data))) this.sink.record(0, vxid, name, data, side)
    }
  }

  /** A Timestamp's data d..d+len (up to its NUL, as dataOf reads it) to the sink as its times. */
  private stampRecord(buf: Buffer, d: number, len: number, vxid: number, side: number): void {
    stampOfBytes(buf, d, d + len, this.stamp)
    this.sink.stampRecord!(vxid, this.stamp.since, this.stamp.seconds, side)
  }

  /** The tag name of the record at input position `pos` (in buf at pos - base), one this scanner read. */
  tagAt(buf: Buffer, pos: number, base: number): string {
    return TABLES[this.versionAt(pos)].names[buf[pos - base + 3]]
  }

  /** Decodes the record at input position `pos` (in buf at pos - base), one this scanner read, onto the end of
   *  tags and data; returns its size (RecordStore's DecodeAt). */
  pushRecord(buf: Buffer, pos: number, base: number, tags: string[], data: string[]): number {
    const t = TABLES[this.versionAt(pos)]
    const p = pos - base
    const tag = buf[p + 3]
    const len = buf[p] | (buf[p + 1] << 8)
    tags.push(t.names[tag])
    data.push(dataOf(buf, p + t.overhead, t.kinds[tag], len, null))
    return t.overhead + ((len + 3) & ~3)
  }

  /** The size of the record at input position `pos` (in buf at pos - base), one this scanner read. */
  sizeAt(buf: Buffer, pos: number, base: number): number {
    return recordSize(buf, pos - base, this.versionAt(pos))
  }

  /** buf[a, b) as a latin1 string (one char per byte): a slice of a window of the buffer decoded at once, so that
   *  a record costs no call into the runtime. Windows are small: a record still pending keeps its window alive. */
  text(buf: Buffer, a: number, b: number): string {
    if (b > this.winEnd || a < this.winStart) {
      this.winStart = a
      this.winEnd = Math.min(this.scanEnd, Math.max(b, a + WINDOW))
      this.win = buf.latin1Slice(a, this.winEnd)
    }
    return this.win.slice(a - this.winStart, b - this.winStart)
  }

  /** Why the header at p is not a record's, or null. */
  private headerProblem(buf: Buffer, p: number, tag: number, end: number): string | null {
    if (tag === BATCH) return null
    if (tag === 0 || tag >= this.t.names.length) return `tag number ${tag} is not in the table of VSL${this.t.overhead === 8 ? '' : '2'} files`
    if (this.t.overhead === 12 && end - p >= 12 && (u32(buf, p + 8) & 0x3ff80000) !== 0) return 'bits that must be zero are set'
    return null
  }

  /** After bad bytes, a header that looks right is believed when it and the records after it hold up: each
   *  header right, each plain tag's data ending in its NUL, until RESYNC_CONFIRM records or the end of the input.
   *  'wait': the chunk ends before that is known. */
  private confirmed(buf: Buffer, p: number, end: number, last: boolean): 'yes' | 'no' | 'wait' {
    let q = p
    for (let k = 0; k < RESYNC_CONFIRM; k++) {
      if (q === end) return last ? 'yes' : 'wait'
      const oh = this.t.overhead
      // The input ends in a record cut short: at a block's start (no damage known) the chain held up to there,
      // and the cut is counted by itself; after damage it is not enough.
      const upToCut = k > 0 && !this.inBad
      if (end - q < oh) return last ? (upToCut ? 'yes' : 'no') : 'wait'
      const w0 = u32(buf, q)
      if (w0 === MAGIC_VSL1 || w0 === MAGIC_VSL2) return 'yes'
      const len = w0 & 0xffff
      const tag = w0 >>> 24
      if (tag === BATCH || this.headerProblem(buf, q, tag, end) !== null) return 'no'
      if (buf[q + oh - 1] >>> 6 === 3) return 'no' // both the client and the backend mark
      const sz = oh + ((len + 3) & ~3)
      if (end - q < sz) return last ? (upToCut ? 'yes' : 'no') : 'wait'
      if (this.t.kinds[tag] === 0 && (len === 0 || buf[q + oh + len - 1] !== 0)) return 'no'
      q += sz
    }
    return 'yes'
  }

  private skip(pos: number, why: string, bytes: number): void {
    if (!this.inBad) {
      this.badFrom = pos
      this.bad.spans++
      this.bad.first ??= { pos, why }
    }
    this.inBad = true
    this.bad.bytes += bytes
  }
}

/** The size of the record at p when the careful reading of scan() would take it as it is, with nothing else to
 *  do: a whole record (within `end`), of a tag in the table, not a batch or a file header, its must-be-zero bits
 *  clear (VSL2); else 0. The header's word 0 is [len:16 LE][unused][tag]. */
function goodSize(buf: Uint8Array, p: number, end: number, t: Table): number {
  const oh = t.overhead
  if (end - p < oh) return 0
  const tag = buf[p + 3]
  if (tag === 0 || tag >= t.names.length) return 0
  if (tag === 0x32 && buf[p] === 0x56 && buf[p + 1] === 0x53 && buf[p + 2] === 0x4c) return 0 // "VSL2"
  if (oh === 12 && ((buf[p + 10] & 0xf8) | (buf[p + 11] & 0x3f)) !== 0) return 0
  const size = oh + (((buf[p] | (buf[p + 1] << 8)) + 3) & ~3)
  return end - p < size ? 0 : size
}

/** The size in bytes of the record at p (its header there), in a file of version v. */
export function recordSize(buf: Uint8Array, p: number, v: VslVersion): number {
  const w0 = u32(buf, p)
  const oh = TABLES[v].overhead
  return w0 >>> 24 === BATCH ? oh : oh + (((w0 & 0xffff) + 3) & ~3)
}

/** A file header at p: the start of a file appended to the one before. */
export function isFileHeader(buf: Uint8Array, p: number): boolean {
  if (buf.length - p < 4) return false
  const w0 = u32(buf, p)
  return w0 === MAGIC_VSL1 || w0 === MAGIC_VSL2
}

/** The vxid of the record at p (its header there: `oh` bytes, 8 in VSL\0 files, 12 in VSL2 ones). */
function vxidAt(buf: Uint8Array, p: number, oh: number): number {
  const w1 = u32(buf, p + 4)
  return oh === 8 ? w1 & 0x3fffffff : (u32(buf, p + 8) & 0x7ffff) * 0x100000000 + w1
}

/** The little-endian word at p (p + 4 <= length, checked by the caller). */
function u32(buf: Uint8Array, p: number): number {
  return (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0
}

/** The data of a record as varnishlog prints it (d: where it starts, len: its length): of a plain tag (kind 0),
 *  the C string, up to its first NUL (printed with %.*s), decoded in `windows` or on its own; of an unsafe or a
 *  binary tag, escaped. */
function dataOf(buf: Buffer, d: number, kind: number, len: number, windows: BinaryScanner | null): string {
  if (kind !== 0) return kind === 1 ? unsafe(buf, d, len) : binary(buf, d, len)
  if (len === 0) return ''
  const e = buf[d + len - 1] === 0 ? d + len - 1 : d + len
  const data = windows === null ? buf.latin1Slice(d, e) : windows.text(buf, d, e)
  const nul = data.indexOf('\0')
  return nul >= 0 ? data.slice(0, nul) : data
}

/** vsl_print_unsafe: `"…"`, printable ASCII as it is, every other byte as %XX. */
function unsafe(buf: Buffer, d: number, len: number): string {
  let s = '"'
  for (let i = d; i < d + len; i++) {
    const c = buf[i]
    s += c >= 32 && c <= 126 ? String.fromCharCode(c) : '%' + HEX[c]
  }
  return s + '"'
}

/** vsl_print_binary: `[…]`, every byte as two hex digits. */
function binary(buf: Buffer, d: number, len: number): string {
  let s = '['
  for (let i = d; i < d + len; i++) s += HEX[buf[i]]
  return s + ']'
}
