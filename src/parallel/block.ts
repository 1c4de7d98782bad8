// Owns one block of the parallel reader: a run of whole lines (bytes) in; the records that block completes,
// rendered, and what it leaves unfinished (as lines) out. Runs in a worker thread; a pure function of the block,
// so tests call it in-process. The grouper never evicts here (no -L, no -T): that is the main thread's call, which
// sees the unfinished lines of every block in order (src/parallel/reader.ts).

import { Grouper, PositionLog, type LineCounts, type Leftovers, type SessionEvent } from '../group/grouper.js'
import { RecordStore } from '../group/store.js'
import { BinaryScanner, recordSize, type BadBytes, type VslVersion } from '../parse/binary.js'
import { scanLine, type LineSink } from '../parse/line.js'
import { LineSplitter } from '../parse/lines.js'
import { OutputBuffer, type TextEncoding } from '../output.js'
import { buildRecord } from '../vsl/record.js'
import { countRecord, countTree, newRecordCounts, type RecordCounts } from '../record-counts.js'
import type { TreePredicate } from '../filter/tree.js'
import type { ClientRecord } from '../vsl/types.js'
import { compileWriter } from '../render/renderer.js'

export interface BlockJob {
  seq: number
  /** Position (byte offset in the input) of the block's first byte. */
  base: number
  /** The lane's input slot that holds the block, and the block's length there. */
  slot: number
  length: number
  /** The input's last block: a last line without a newline is read too. */
  last: boolean
  /** 0: text lines; 1, 2: binary VSL records of that file version (src/parse/binary.ts) from the block's start. */
  format: 0 | VslVersion
  /** Binary: the block starts inside bad bytes that the block before it counted. */
  resync?: boolean
  /** Text in the vxid grouping (Grouper.vxidLayout). */
  vxidLayout?: boolean
}

export interface BlockResult extends RecordCounts {
  seq: number
  /** The shown records, rendered, in the order they completed: in `out`, or in the lane's output slot `outSlot`
   *  when they fit there (-1 when not, and when the main thread copied them out). */
  out: Uint8Array
  outSlot: number
  outLength: number
  /** Per shown record: the position of the line that completed it, and where its text ends in `out`. */
  marks: Float64Array
  counts: LineCounts
  lines: number
  overlong: number
  /** The lines of the transactions still pending at the block's end, each ending with LF, in input order; or,
   *  of a binary block, their records as they are in the file, each of the version in leftVer. */
  leftBytes: Uint8Array
  leftPos: Float64Array
  leftVer: Uint8Array
  /** Binary blocks: what was not records, and the file versions read (bit 1: VSL\0, bit 2: VSL2). */
  bad: BadBytes | null
  versions: number
  sessions: SessionEvent[]
  /** The vxid and position of each transaction's Begin the block read, in order (Leftovers.begun). */
  begun: Float64Array
  /** Each time the block's log time moved on, and where (Leftovers.ticks). */
  ticks: Float64Array
  /** The latest log time the block saw (epoch seconds). */
  clock: number
  /** The block's last group ended in it (Grouper.groupClosed). */
  closed: boolean
}

export interface BlockStages {
  keep: ((rec: ClientRecord) => boolean) | null
  /** Whether a tree's record can be shown, before it is built (src/filter/tree.ts). */
  keepTree: TreePredicate | null
  /** The part of keepTree that reads no record's data, only the grouper's bounds (src/filter/tree.ts): with it, the
   *  groupers keep Transaction.slowest, and a binary block's records are kept as positions until a tree passes it
   *  (src/group/store.ts). */
  keepBound: TreePredicate | null
  render: (rec: ClientRecord) => string
  /** How the rendered text is written. */
  encoding: TextEncoding
}

/** Runs blocks into a lane's output slots in turn (see src/parallel/reader.ts for why that is safe): the records
 *  are rendered straight into this turn's slot, and only what overflows it needs memory of its own. Used by each
 *  worker thread, and by the main thread for its own share of the blocks (whose small outputs are copied out). */
export class BlockRunner {
  private readonly out = new OutputBuffer()
  private turn = 0
  private readonly log = new PositionLog()
  private readonly store = new RecordStore()
  constructor(
    private readonly stages: BlockStages,
    private readonly input: Uint8Array[],
    private readonly output: Buffer[],
    /** Output up to this many bytes is copied out of the slot (which is then free again at once). */
    private readonly copyUpTo = 0,
  ) {}

  run(job: BlockJob): BlockResult {
    const slot = this.output[this.turn]
    this.out.rewind(slot)
    const r = processBlock(job, this.input[job.slot], this.stages, this.out, this.log, this.store)
    if (r.outLength > this.copyUpTo && r.out.buffer === slot.buffer && r.out.byteOffset === slot.byteOffset) {
      r.out = new Uint8Array(0)
      r.outSlot = this.turn
      this.turn = (this.turn + 1) % this.output.length
    } else if (r.outLength > 0) r.out = new Uint8Array(r.out) // a copy of its own, to hand over
    return r
  }
}

/** The buffers a result can hand over (not the shared slots). */
export function transferList(r: BlockResult): ArrayBuffer[] {
  return [r.out.buffer, r.marks.buffer, r.leftBytes.buffer, r.leftPos.buffer, r.leftVer.buffer, r.begun.buffer, r.ticks.buffer] as ArrayBuffer[]
}

export function processBlock(job: BlockJob, bytes: Uint8Array, stages: BlockStages, out = new OutputBuffer(), log = new PositionLog(), records = new RecordStore()): BlockResult {
  const { keep, keepTree, keepBound } = stages
  const write = compileWriter(stages.render, stages.encoding)
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, job.length)
  const tally = newRecordCounts()
  const marks: number[] = []
  const store = job.format !== 0 && keepBound !== null ? records : undefined
  const grouper = new Grouper({ maxPending: Infinity, timeout: 0, track: true, log, slowest: keepBound !== null, store }, (root, incomplete) => {
    if (keepBound !== null && !keepBound(root)) {
      countTree(tally, root, incomplete)
      return
    }
    store?.loadTree(root)
    if (keepTree !== null && !keepTree(root)) {
      countTree(tally, root, incomplete)
      return
    }
    const rec = buildRecord(root, incomplete)
    countRecord(tally, rec)
    if (keep !== null && !keep(rec)) return
    tally.shown++
    write(rec, out)
    marks.push(grouper.pos, out.length)
  })
  grouper.vxidLayout = job.vxidLayout === true
  const read = job.format === 0 ? readLines(buf, job, grouper) : readRecords(buf, job, grouper, store)
  const rendered = out.take()
  if (grouper.reused) return handedOn(job, buf, read, grouper.clock)
  return {
    seq: job.seq,
    ...tally,
    out: rendered ?? new Uint8Array(0),
    outSlot: -1,
    outLength: rendered?.length ?? 0,
    marks: Float64Array.from(marks),
    counts: grouper.counts,
    ...read,
    clock: grouper.clock,
    closed: grouper.groupClosed,
  }
}

interface BlockRead {
  bad: BadBytes | null
  versions: number
  lines: number
  overlong: number
  leftBytes: Uint8Array
  leftPos: Float64Array
  leftVer: Uint8Array
  sessions: Leftovers['sessions']
  begun: Float64Array
  ticks: Float64Array
}

/** A block in which a vxid began again (Grouper.reused): what it read is dropped, and every line of it (every
 *  record, of a binary block) is handed on, to be read by the grouper that reads on, as the sequential reader
 *  reads them. Only what that grouper does not read is counted here: the lines, and a binary block's bad bytes. */
function handedOn(job: BlockJob, buf: Buffer, read: BlockRead, clock: number): BlockResult {
  const positions: number[] = []
  const vers: number[] = []
  if (job.format === 0) {
    const splitter = new LineSplitter((b, start) => positions.push(job.base + lineStart(buf, b, start)))
    splitter.push(buf)
    if (job.last) splitter.end()
  } else {
    const scanner = blockScanner(buf, job, NO_LINES)
    scanner.onRecord = (pos) => positions.push(pos)
    scanner.scan(buf, 0, buf.length, job.base, true)
    for (const p of positions) vers.push(scanner.versionAt(p))
  }
  const ends = positions.map((p, i) => (job.format === 0 ? lineEnd(buf, p - job.base) : p - job.base + recordSize(buf, p - job.base, vers[i] as VslVersion)))
  const counts: LineCounts = { tx: 0, session: 0, nontx: 0, blank: 0, noise: 0, bad: read.bad?.spans ?? 0 }
  return {
    seq: job.seq,
    ...newRecordCounts(),
    out: new Uint8Array(0),
    outSlot: -1,
    outLength: 0,
    marks: new Float64Array(0),
    counts,
    ...read,
    leftBytes: copyOut(buf, job.base, positions, ends, job.format === 0 ? 10 : -1),
    leftPos: Float64Array.from(positions),
    leftVer: Uint8Array.from(vers),
    sessions: [],
    begun: new Float64Array(0),
    ticks: new Float64Array(0),
    clock,
    closed: false,
  }
}

/** Where in the block a line the splitter gives (in `b`, from `start`) begins: the last line, without its LF, comes
 *  from the splitter's own copy at end(), and is the block's tail. */
function lineStart(buf: Buffer, b: Buffer, start: number): number {
  return b === buf ? start : buf.lastIndexOf(10) + 1
}

/** The end of the text line at p: its LF, or the block's end. */
function lineEnd(buf: Buffer, p: number): number {
  const nl = buf.indexOf(10, p)
  return nl < 0 ? buf.length : nl
}

/** A text block: its lines to the grouper; what it leaves, as lines (each up to its LF, or to the block's end). */
function readLines(buf: Buffer, job: BlockJob, grouper: Grouper): BlockRead {
  let lines = 0
  const base = job.base
  const splitter = new LineSplitter((b, start, end) => {
    lines++
    grouper.pos = base + lineStart(buf, b, start)
    scanLine(b, start, end, grouper)
  })
  splitter.push(buf)
  if (job.last) splitter.end()
  const left = grouper.leftovers()
  const ends = left.positions.map((p) => lineEnd(buf, p - base))
  const leftBytes = copyOut(buf, base, left.positions, ends, 10)
  const leftPos = Float64Array.from(left.positions)
  const overlong = splitter.overlong
  return { lines: lines + overlong, overlong, leftBytes, leftPos, leftVer: new Uint8Array(0), ...events(left), bad: null, versions: 0 }
}

/** A binary block: its records to the grouper; what it leaves, as the records (of the version each was read in). */
function readRecords(buf: Buffer, job: BlockJob, grouper: Grouper, store: RecordStore | undefined): BlockRead {
  const scanner = blockScanner(buf, job, grouper)
  scanner.onRecord = (pos) => (grouper.pos = pos)
  if (store !== undefined) {
    scanner.lazy = true
    store.decode = (pos, tags, data) => scanner.pushRecord(buf, pos, job.base, tags, data)
    store.tagAt = (pos) => scanner.tagAt(buf, pos, job.base)
    store.sizeAt = (pos) => scanner.sizeAt(buf, pos, job.base)
  }
  scanner.scan(buf, 0, buf.length, job.base, true)
  if (!job.last) scanner.bad.cutShort = null
  grouper.counts.bad += scanner.bad.spans
  const left = grouper.leftovers()
  const base = job.base
  const vers = left.positions.map((p) => scanner.versionAt(p))
  const ends = left.positions.map((p, i) => p - base + recordSize(buf, p - base, vers[i]))
  const leftBytes = copyOut(buf, base, left.positions, ends, -1)
  const lines = scanner.records + scanner.bad.spans
  const versions = [...scanner.versions].reduce((m, v) => m | v, 0)
  const leftPos = Float64Array.from(left.positions)
  return { lines, overlong: 0, leftBytes, leftPos, leftVer: Uint8Array.from(vers), ...events(left), bad: scanner.bad, versions }
}

/** What the block read that the grouper reading on must know at its place among the lines (Leftovers). */
function events(left: Leftovers): Pick<BlockRead, 'sessions' | 'begun' | 'ticks'> {
  return { sessions: left.sessions, begun: Float64Array.from(left.begun), ticks: Float64Array.from(left.ticks) }
}

/** A scanner of a binary block. The block starts where the walker cut, which reads the file as the sequential
 *  reader does: at a record it read as one (trusted, as it was there), or inside bad bytes it was resyncing. It is
 *  read to its end (a record cut there is damage; only the file's last block may end inside one for real). */
function blockScanner(buf: Buffer, job: BlockJob, sink: LineSink): BinaryScanner {
  const scanner = new BinaryScanner(job.format as VslVersion, sink)
  if (job.resync === true) scanner.continueBad()
  return scanner
}

/** A sink that keeps nothing (the records of a block handed on are only found). */
const NO_LINES: LineSink = { record(): void {}, header(): void {}, other(): void {} }

/** The bytes buf[pos - base, end) of each unit, one after the other, each followed by `sep` (unless -1). */
function copyOut(buf: Buffer, base: number, positions: number[], ends: number[], sep: number): Uint8Array {
  let size = 0
  for (let i = 0; i < positions.length; i++) size += ends[i] - (positions[i] - base) + (sep < 0 ? 0 : 1)
  const bytes = new Uint8Array(size)
  let at = 0
  for (let i = 0; i < positions.length; i++) {
    const s = positions[i] - base
    bytes.set(buf.subarray(s, ends[i]), at)
    at += ends[i] - s
    if (sep >= 0) bytes[at++] = sep
  }
  return bytes
}
