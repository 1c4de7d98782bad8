// Owns the parallel reader: a large plain file in, the same records out as the sequential reader, on every core.
// The main thread cuts the file into blocks of whole lines (at a blank line where it can: a group boundary in the
// grouped layouts) and hands them to worker threads first (see Lanes); a worker groups, builds, filters and renders
// what its block completes (src/parallel/block.ts). What a block leaves unfinished — a transaction that began
// in an earlier block or ends in a later one, a request whose backend fetch is elsewhere — comes back as lines,
// with their positions, and is read here, in input order, by one grouper that owns -L and -T, with what the block
// read that this grouper must know at its place among those lines (BlockEvents: Begins, sessions, log time). Each
// record carries the position of the line that completed it, so the output is merged back into input order: the
// same records in the same order as one thread reading line by line, up to evictions: -L counts what blocks leave,
// and -T evicts only that (README, Incomplete records).

import { open } from 'node:fs/promises'
import { readSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import type { MessagePort, Worker } from 'node:worker_threads'
import type { Options } from '../args.js'
import { addLineCounts, Grouper, type GrouperOptions, type LineCounts } from '../group/grouper.js'
import { DEFAULT_MAX_LINE } from '../parse/lines.js'
import { lineKind, scanLine } from '../parse/line.js'
import { addBadBytes, BinaryScanner, binaryLayout, isFileHeader, recordSize, type BadBytes, type VslVersion } from '../parse/binary.js'
import { OutputBuffer, OutputTurns } from '../output.js'
import { keepYoung } from '../heap.js'
import { addRecordCounts, newRecordCounts, type RecordCounts } from '../record-counts.js'
import type { IncompleteReason, Transaction } from '../vsl/types.js'
import { BlockRunner, type BlockJob, type BlockResult, type BlockStages } from './block.js'

export interface WorkerSettings extends Options {
  useColor: boolean
}

/** What a worker starts with: the settings, its SLOTS input and SLOTS output slots (shared memory), and the port
 *  its results go by. */
export interface WorkerData {
  settings: WorkerSettings
  inSlots: SharedArrayBuffer[]
  outSlots: SharedArrayBuffer[]
  results: MessagePort
}

export interface ParallelSettings {
  /** Threads that read blocks: the main thread and threads - 1 workers. */
  threads: number
  /** Bytes per block. Lines up to half a block are kept: the default, 1 MiB, keeps what one thread keeps. */
  blockBytes: number
}

export const DEFAULT_BLOCK = 1024 * 1024

/** Binary VSL is read in blocks of at most this much (of the same slots: what a block does not fill is never
 *  touched, so not in memory). It is three to four times denser than varnishlog's text: a block holds that many more
 *  records, rendered (--json: 0.72 bytes per byte of input) and decoded. Measured on 1 GB, --json, two threads, 3
 *  runs each interleaved (min-median): 1 MiB 7.20-7.29 s, 101.6 MiB; 768 KiB 7.21-7.23 s, 98.4 MiB; 512 KiB
 *  7.51-7.70 s, 94.7 MiB. The price is paid by the filters, which print little: --misses --slow 200, 4 runs,
 *  2.32-2.48 s (1 MiB) against 2.50-2.57 s. (Text keeps 1 MiB: lines up to half a block are kept, as one thread
 *  keeps them.) */
const BINARY_BLOCK = 768 * 1024

/** Blocks a worker may have whose results are not taken (its input and output slots). With two, a worker waited a
 *  quarter of its time: the main thread, running a block of its own, took its results late. */
const SLOTS = 3

/** Blocks the main thread may have run whose results are not taken (they wait for a worker's, which come first):
 *  measured on 1 GB of binary VSL, two threads, --misses --slow 200, the idle time of the two was 1.5 and 0.7 s at
 *  2 ahead, 0.3 and 0.2 s at 8. Its one input slot is free once its block is run; the output of a block, up to
 *  MAIN_COPY bytes (a filter's), is copied out of its output slot, and more (--json: 0.7 MiB a block) keeps one of
 *  its MAIN_OUT output slots (then another block waits: copies of that size were garbage enough to cost 4 MiB of
 *  RSS). With two output slots the main thread idled a quarter of a --json run (it had run two blocks and waited
 *  for the worker's third); with three, --json of 1 GB took 7.35-7.47 s against 7.99-8.31 (4 runs each,
 *  interleaved), for 1 MiB more. */
const MAIN_AHEAD = 8
const MAIN_COPY = 64 * 1024
const MAIN_OUT = 3

/** Blocks taken between turns of the event loop (see read): about 20 ms of the main thread's work. */
const YIELD_EVERY = 8

/** Young generation of a worker's V8 heap, in MiB (V8's default is 32: two 16 MiB semi-spaces). */
const WORKER_YOUNG_MB = 8

/** V8's parallel scavenging (young collections shared with a helper thread), off while worker threads read: every
 *  core is then busy with a thread of ours, and the helper only made the collecting thread wait for it. With a core
 *  free (one thread reading) it helps, so it is back on after. V8 reads the flag at each scavenge. --json of 1 GB of
 *  binary VSL, runs interleaved: as a node flag, two threads 8.45 -> 7.33 s median (4 runs), 15.2 -> 13.6 CPU-s,
 *  but --threads 1 on 200 MB 2.44 -> 2.61 s; set here, two threads 7.46 -> 7.22 s (5 runs, a faster hour). */
function parallelScavenge(on: boolean): void {
  setFlagsFromString(on ? '--parallel-scavenge' : '--no-parallel-scavenge')
}

/** Whether isolates set up from now on compile optimized code in the background (V8's concurrent recompilation):
 *  off while the workers start, so that theirs is compiled on their own thread. Every core is then busy with a
 *  thread of ours, and V8's one background thread (the bin's --v8-pool-size=1), which both heaps' concurrent
 *  marking shares, was late with it: the workers ran their code unoptimized meanwhile. V8 reads the flag when it
 *  sets up an isolate, so the main thread's, set up already, keeps compiling in the background (a run in one
 *  thread, with a core to spare, is faster so: as a node flag, --json of 10 MB took 0.59 s against 0.40). 1 GB,
 *  two threads, 4 runs each interleaved, medians: binary --misses --slow 200 3.10 -> 2.78 s, --json 10.13 ->
 *  9.67 s; -g vxid compact 6.68 -> 5.67 s, --json 9.35 -> 8.72 s; CPU seconds 5-12% less. */
function backgroundCompiles(on: boolean): void {
  setFlagsFromString(on ? '--concurrent-recompilation' : '--no-concurrent-recompilation')
}

/** The walker makes no records (walkOnly): nothing reaches its sink. */
const NO_SINK = { record(): void {}, header(): void {}, other(): void {} }

/** What the caller does with a record the main thread's grouper completes: its rendered text, or null. */
export type MergeEmit = (root: Transaction, incomplete: IncompleteReason | null) => string | null

export interface ReadHooks {
  emit: MergeEmit
  /** Writes bytes to the output; resolves when they are written (their memory is then reused). */
  write: (bytes: Buffer) => Promise<void>
  /** True when reading should stop (stdout closed, Ctrl-C). */
  stopped: () => boolean
}

export interface ReadTotals extends RecordCounts {
  counts: LineCounts
  lines: number
  overlong: number
  /** Binary files: what was not records, and the file versions read (bit 1: VSL\0, bit 2: VSL2). */
  bad?: BadBytes
  versions?: number
  /** Transactions still pending when reading stopped early. */
  pending: number
}

/** A block must not start with a line that may continue the one before it (text that is not a log line: it
 *  belongs where the line before it went, which only the block before knows). Moves the cut back before such
 *  lines, a few at the most (and before the last line, when the cut is where the bytes read end); the cut stays
 *  where it was if there is no better one. */
function beforeText(buf: Buffer, start: number, cut: number, n: number): number {
  let at = cut
  for (let k = 0; k < 64; k++) {
    // (At the end of what was read, the line after the cut is not known yet: it may be text.)
    if (at < n && opensContext(buf, at, n)) return at
    const p = at - 2 < start ? -1 : buf.lastIndexOf(10, at - 2)
    if (p < start) return cut
    at = p + 1
  }
  return cut
}

/** Whether the line at `at` is a record, a group header or a blank line: what a line after it continues does not
 *  depend on the lines before it. (Text, even text that starts as a header does, continues the line before.) */
function opensContext(buf: Buffer, at: number, n: number): boolean {
  const c = buf[at]
  if (c === 10 || c === 13) return true
  // A record (`-`, a raw line's padded vxid), a group header (`*`).
  if (!(c === 45 || c === 32 || (c >= 48 && c <= 57) || c === 42)) return false
  const nl = buf.indexOf(10, at)
  // A line cut by the end of what was read is not known yet (a few spaces may be the start of text).
  if (nl < 0 || nl >= n) return false
  const end = nl > at && buf[nl - 1] === 13 ? nl - 1 : nl
  const kind = lineKind(buf, at, end)
  return kind !== 'text' && kind !== 'noise'
}

/** Which lane (0: the main thread, then the workers) runs each block, and with which of its input slots. */
class Lanes {
  private readonly out: number[]
  private readonly next: number[]
  private readonly laneOf = new Map<number, number>()
  /** The main thread's results that hold one of its output slots (see MAIN_COPY). */
  private readonly holds = new Set<number>()

  constructor(readonly count: number) {
    this.out = new Array<number>(count).fill(0)
    this.next = new Array<number>(count).fill(0)
  }

  /** The lane for the next block: the worker with the fewest blocks out, while it has fewer than SLOTS; else the
   *  main thread, while it has fewer than MAIN_AHEAD results not taken and one of its output slots is free; else -1
   *  (wait for a result). */
  pick(): number {
    let best = -1
    for (let w = 1; w < this.count; w++) if (this.out[w] < SLOTS && (best < 0 || this.out[w] < this.out[best])) best = w
    if (best < 0 && this.out[0] < MAIN_AHEAD && this.holds.size < MAIN_OUT) best = 0
    return best
  }

  /** The main thread ran block seq: its result holds an output slot until it is taken. */
  hold(seq: number): void {
    this.holds.add(seq)
  }

  /** The input slot of lane w's next block (a worker's blocks take its slots in turn; the main thread has one). */
  slot(w: number): number {
    return this.next[w]
  }

  send(seq: number, w: number): void {
    this.laneOf.set(seq, w)
    this.out[w]++
    if (w > 0) this.next[w] = (this.next[w] + 1) % SLOTS
  }

  /** Block seq's result is taken: its lane, which may have another block. */
  taken(seq: number): number {
    const w = this.laneOf.get(seq)!
    this.laneOf.delete(seq)
    this.out[w]--
    this.holds.delete(seq)
    return w
  }
}

/** What a block read that the main grouper must know at its place among the lines the block hands on, as when
 *  reading line by line: the Begins (a vxid that begins again evicts the transaction of an earlier run still
 *  pending here), what it read of sessions (their addresses, and their Ends), and its log time moving on (-T). */
class BlockEvents {
  private readonly sessions: BlockResult['sessions']
  private k = 0
  private b = 0
  private t = 0

  constructor(
    private readonly r: BlockResult,
    private readonly merge: Grouper,
    private readonly at: (pos: number) => void,
  ) {
    this.sessions = r.sessions.sort((a, b) => a[2] - b[2])
  }

  /** The events before the line at `pos`, in input order; a Begin or session event at it too (that line is the
   *  Begin, or the header of a session group the block began: read after the session is made, so that the lines
   *  after it go to that session), but not a step of log time (that line moved it, and is read first). */
  upTo(pos: number): void {
    const { begun, ticks } = this.r
    const sessions = this.sessions
    for (;;) {
      const b = this.b < begun.length ? begun[this.b + 1] : Infinity
      const s = this.k < sessions.length ? sessions[this.k][2] : Infinity
      const t = this.t < ticks.length ? ticks[this.t + 1] : Infinity
      const next = Math.min(b, s, t)
      if (next === Infinity || next > pos || (next === pos && b !== pos && s !== pos)) return
      this.at(next)
      if (next === b) {
        this.merge.beganElsewhere(begun[this.b])
        this.b += 2
      } else if (next === s) this.merge.sessionEvent(...sessions[this.k++])
      else {
        // Log time moved on (-T evicts what waits too long), by the line at `next`: one the block hands on is read
        // first, and moves it on itself.
        this.merge.advanceTo(ticks[this.t])
        this.t += 2
      }
    }
  }
}

export class ParallelReader {
  private workers: Worker[] = []
  /** The main thread's end of each worker's result port: read between blocks too, not only when it waits (see
   *  poll). */
  private ports: MessagePort[] = []
  private receive: ((port: MessagePort) => { message: unknown } | undefined) | null = null
  /** Per lane (0: the main thread, then one per worker): its input and output slots (a worker's SLOTS each; the
   *  main thread's one input and MAIN_OUT output slots). */
  private inSlots: Buffer[][] = []
  private outSlots: Buffer[][] = []
  private main: BlockRunner | null = null
  private failure: Error | null = null
  /** The number of the next block dealt (never reused: see read). */
  private nextSeq = 0

  constructor(
    private readonly settings: WorkerSettings,
    private readonly par: ParallelSettings,
    /** The run's compiled stages, for the main thread's own blocks. */
    private readonly stages: BlockStages,
  ) {}

  /** Reads the file at `path`. Stopped early, what is pending is counted, not flushed. */
  async read(path: string, hooks: ReadHooks, limits: GrouperOptions, layout: string): Promise<ReadTotals> {
    await this.start()
    // A worker that failed or ended before (between files): nothing of this file is read.
    if (this.failure !== null) throw this.failure
    const totals: ReadTotals = { ...newRecordCounts(), counts: { tx: 0, session: 0, nontx: 0, blank: 0, noise: 0, bad: 0 }, lines: 0, overlong: 0, pending: 0 }
    // Records the main thread's grouper completes, with the position of the line that completed them.
    let pos = 0
    let merged: { pos: number; text: string }[] = []
    const merge = new Grouper(limits, (root, incomplete) => {
      const text = hooks.emit(root, incomplete)
      if (text !== null) merged.push({ pos, text })
    })
    merge.vxidLayout = layout === 'vxid' || layout === 'vxid -v'

    const outs = new OutputTurns()
    const write = (): Promise<void> => outs.flush(hooks.write)
    const encoding = this.stages.encoding
    const results = new Map<number, BlockResult>()
    let wake: (() => void) | null = null
    // Blocks are numbered on from the last read's: a result of a read that failed with blocks out is not this one's.
    const first = this.nextSeq
    const onResult = (r: BlockResult): void => {
      if (r.seq < first) return
      results.set(r.seq, r)
      wake?.()
    }
    // A worker failed or ended (start() records it as the failure).
    const onFailure = (): void => wake?.()
    for (const w of this.workers) for (const e of ['error', 'exit']) w.on(e, onFailure)
    for (const p of this.ports) p.on('message', onResult)
    // Results that came while the main thread ran: taken at once, so that the next block goes to their lane.
    const poll = (): void => {
      for (const p of this.ports) for (let m = this.receive!(p); m !== undefined; m = this.receive!(p)) onResult(m.message as BlockResult)
    }

    const binary: VslVersion | null = layout === binaryLayout(1) ? 1 : layout === binaryLayout(2) ? 2 : null
    const scanner = binary === null ? null : new BinaryScanner(binary, merge)
    // Binary: where records end, found as the sequential reader finds them (the walker reads the whole file,
    // making no records); bytes to pass over (the file header, a record larger than a block) before the next block.
    const walker = binary === null ? null : new BinaryScanner(binary, NO_SINK)
    if (walker !== null) walker.walkOnly = true
    let skipBytes = binary === null ? 0 : 4
    // Blocks that start another file (appended to the one before): what is pending is settled before them.
    const fileStarts = new Set<number>()
    const fh = await open(path, 'r')
    const block = binary === null ? this.par.blockBytes : Math.min(this.par.blockBytes, BINARY_BLOCK)
    const maxLine = Math.min(DEFAULT_MAX_LINE, block >> 1)
    let base = 0 // position of the next block's first byte
    let carry: Buffer | null = null
    let skipping = false // inside a line longer than maxLine
    let eof = false
    let sent = first
    let done = first
    // Blocks go to the workers first, and to the main thread (which runs its block at once) only while every
    // worker has SLOTS and the next result is not there to be taken (taking it lets its worker have another): the
    // main thread also walks, merges and writes, and a worker waiting for it was a third of the worker's time.
    // A worker's slots are used in turn, and its block goes out only once the result of the block SLOTS before it
    // on that lane is taken; the main thread runs up to MAIN_AHEAD blocks ahead (see there).
    // Workers' results are polled for (receiveMessageOnPort) before each block, and blocks are read with readSync:
    // awaiting a read let results in, but the main thread then idled half a second a GB waiting for the thread pool;
    // reading synchronously without polling, it saw no result until it had run MAIN_AHEAD blocks, and the worker
    // idled half its time. Both together, --misses --slow 200 of 1 GB, two threads, 6 runs interleaved (median):
    // 3.88 s before, 3.56 s, and 3.82 s polling with awaited reads.
    const lanes = new Lanes(this.workers.length + 1)
    parallelScavenge(this.workers.length === 0)
    try {
      while (!eof || done < sent) {
        let w: number
        while (!eof && (poll(), (w = lanes.pick()) >= 0) && !(w === 0 && results.has(done)) && !hooks.stopped()) {
          const slot = lanes.slot(w)
          const buf = this.inSlots[w][slot]
          let n = 0
          if (carry !== null) {
            carry.copy(buf)
            n = carry.length
            carry = null
          }
          const head = n
          while (n < block) {
            const bytesRead = readSync(fh.fd, buf, n, block - n, null)
            if (bytesRead === 0) {
              eof = true
              break
            }
            n += bytesRead
          }
          let start = 0
          let format: BlockJob['format'] = 0
          let resync = false
          let cut = n
          if (walker !== null) {
            start = Math.min(skipBytes, n)
            skipBytes -= start
            format = walker.version
            resync = walker.resyncing
            if (base + start > 0 && isFileHeader(buf, start)) fileStarts.add(sent)
            let at = walker.scan(buf, start, n, base, eof)
            if (!eof && walker.resyncing && walker.badFrom > base + start) {
              // Stopped inside bad bytes: the block ends before them, and the next reads all of them, with as much
              // after them as the sequential reader has to resync.
              at = walker.badFrom - base
              walker.backToBad()
            }
            const whole = !walker.resyncing && !eof && at === start && recordSize(buf, start, walker.version) > block
            if (whole) {
              // One record larger than a block: counted, and passed over, as a line too long is.
              totals.overlong++
              totals.lines++
              skipBytes = recordSize(buf, start, walker.version) - (n - start)
              cut = start
            } else if (walker.atFileHeader || (!eof && (at > start || n - start < block))) {
              // After the last whole record, or before another file: the rest goes with the next block.
              cut = at
              if (n > cut) carry = Buffer.from(buf.subarray(cut, n))
              if (walker.atFileHeader) eof = false // the next file's bytes are carried into the next block
            }
            // Otherwise (the end, or damage being resynced across a whole block): the block is read to its end.
          } else {
            if (skipping) {
              const nl = buf.indexOf(10, head)
              if (nl < 0 || nl >= n) {
                base += n
                continue
              }
              skipping = false
              start = nl + 1
            }
            if (!eof) {
              // The last line, whole or not: one longer than maxLine is counted and passed over (and the lines
              // before it are the block's: only it is too long); else the block ends at textCut, what follows
              // carried into the next one (no more than maxLine of it: else only the last line is).
              const last = buf.lastIndexOf(10, n - 1) + 1
              if (n - Math.max(last, start) > maxLine) {
                cut = Math.max(last, start)
                totals.overlong++
                totals.lines++
                skipping = true
              } else {
                cut = this.textCut(buf, start, n, layout !== 'raw')
                if (n - cut > maxLine) cut = last
                if (n > cut) carry = Buffer.from(buf.subarray(cut, n))
              }
            }
          }
          if (cut > start) {
            if (start > 0) buf.copy(buf, 0, start, cut)
            const job: BlockJob = { seq: sent, base: base + start, slot, length: cut - start, last: eof, format, resync, vxidLayout: merge.vxidLayout }
            lanes.send(sent, w)
            if (w === 0) {
              const r = this.main!.run(job)
              if (r.outSlot >= 0) lanes.hold(sent)
              results.set(sent, r)
            }
            else this.workers[w - 1].postMessage(job)
            sent++
          }
          // The next buffer starts with the carried part line, or after what was skipped.
          base += carry !== null ? cut : n
        }
        if (done === sent) break
        // The next block in order.
        let r: BlockResult | undefined
        while ((r = results.get(done)) === undefined) {
          if (this.failure !== null) throw this.failure
          await new Promise<void>((resolve) => (wake = resolve))
          wake = null
        }
        results.delete(done)
        if (fileStarts.delete(done) && !hooks.stopped()) {
          // Another file starts: what the one before left pending is settled first, as the sequential reader does.
          pos = -Infinity
          merge.flush('eof')
          for (const m of merged) outs.current.push(m.text, encoding)
          merged = []
        }
        done++
        if (hooks.stopped()) continue
        const out = outs.current
        this.take(r, merge, scanner, totals, (p) => (pos = p))
        // The lane may have another block once this one's output is copied out: nothing awaits in between.
        this.interleave(r, lanes.taken(r.seq), merged, out)
        merged = []
        // Time moved on in the block: what waits too long is evicted now, after the block's records.
        pos = Infinity
        merge.advanceTo(r.clock)
        for (const m of merged) out.push(m.text, encoding)
        merged = []
        await write()
        // Writes to a file or a terminal complete at once, and the main thread may never wait for a worker: the
        // event loop is let run every few blocks, or a signal (Ctrl-C) would be seen only at the end.
        if ((done - first) % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve))
      }
      if (hooks.stopped()) totals.pending = merge.pendingCount
      else {
        pos = Infinity
        merge.flush('eof')
        for (const m of merged) outs.current.push(m.text, encoding)
        merged = []
        await write()
      }
      await outs.settled()
    } finally {
      this.nextSeq = sent
      parallelScavenge(true)
      await fh.close()
      for (const w of this.workers) for (const e of ['error', 'exit']) w.off(e, onFailure)
      for (const p of this.ports) p.off('message', onResult)
    }
    addLineCounts(totals.counts, merge.counts)
    return totals
  }

  /** Ends the worker threads. */
  async close(): Promise<void> {
    const ws = this.workers
    for (const p of this.ports) p.close()
    this.ports = []
    this.workers = []
    this.inSlots = []
    this.outSlots = []
    this.main = null
    this.failure = null
    await Promise.all(ws.map((w) => w.terminate()))
  }

  private async start(): Promise<void> {
    if (this.main !== null) return
    const block = this.par.blockBytes
    this.inSlots.push([Buffer.allocUnsafeSlow(block)])
    this.outSlots.push(Array.from({ length: MAIN_OUT }, () => Buffer.allocUnsafeSlow(block)))
    this.main = new BlockRunner(this.stages, this.inSlots[0], this.outSlots[0], MAIN_COPY)
    // Loaded here, not at start-up: most runs never start a worker.
    const { MessageChannel, Worker, receiveMessageOnPort } = await import('node:worker_threads')
    this.receive = receiveMessageOnPort
    backgroundCompiles(false)
    try {
      this.startWorkers(Worker, MessageChannel, block)
      // Each has set up its isolate once it runs (or failed to: read() reports that).
      await Promise.all(this.workers.map((w) => new Promise((ran) => ['online', 'error', 'exit'].forEach((e) => w.once(e, ran)))))
    } catch (err) {
      // A worker that could not even be made (new Worker threw): none of them is used, and the next read starts
      // again from nothing rather than with part of them.
      await this.close()
      throw err
    } finally {
      backgroundCompiles(true)
    }
    // Started without the bin's flags (src/heap.ts): V8 set the growth factor of young generations back when it
    // sized each worker's heap, and it is set again now that they run, before anything is read.
    keepYoung()
  }

  private startWorkers(Worker: typeof import('node:worker_threads').Worker, MessageChannel: typeof import('node:worker_threads').MessageChannel, block: number): void {
    for (let i = 1; i < this.par.threads; i++) {
      const inSlots = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(block))
      // Rendered records are about half the input's size in JSON; what does not fit goes by a buffer of its own.
      const outSlots = Array.from({ length: SLOTS }, () => new SharedArrayBuffer(block))
      const { port1, port2 } = new MessageChannel()
      const data: WorkerData = { settings: this.settings, inSlots, outSlots, results: port2 }
      // A small young generation: the same speed (measured 12.65 vs 12.67 s for --json of 1 GB, min of 3) and
      // about 10 MiB less memory per worker than V8's default of 32 MiB.
      const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_MB }
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, resourceLimits, transferList: [port2] })
      // Between reads too (read() wakes itself on one): a worker's failure is the next read's, never uncaught.
      worker.on('error', (err) => (this.failure ??= err))
      // One that ends by itself (none should) fails the reads too: its blocks would never come back, and a read
      // waiting for them, with nothing else to wait for, let node end the run as if it had printed all.
      worker.on('exit', (code) => {
        if (this.workers.includes(worker)) this.failure ??= new Error(`a worker thread ended (exit code ${code})`)
      })
      this.workers.push(worker)
      this.ports.push(port1)
      this.inSlots.push(inSlots.map((s) => Buffer.from(s)))
      this.outSlots.push(outSlots.map((s) => Buffer.from(s)))
    }
  }

  /** Where a text block ends: after a blank line (a group boundary; LF or CRLF) in its second half, else after its
   *  last whole line, and not before a line that may continue the one before it. */
  private textCut(buf: Buffer, start: number, n: number, grouped: boolean): number {
    const nl = buf.lastIndexOf(10, n - 1)
    if (nl < start) return start
    // Searched for in the second half only, and not in the raw layout, which has none (searching half of each block
    // for one was 130 ms of the main thread's 6.3 s on 1 GB of -g raw); CRLF only where lines end so.
    const half = start + ((n - start) >> 1)
    const tail = buf.subarray(half, n)
    const blank = !grouped ? -1 : nl > 0 && buf[nl - 1] === 13 ? tail.lastIndexOf('\n\r\n') : tail.lastIndexOf('\n\n')
    const cut = blank >= 0 ? half + blank + (buf[nl - 1] === 13 ? 3 : 2) : nl + 1
    return beforeText(buf, start, cut, n)
  }

  /** Adds a block's figures and reads its leftover lines (or records) into the main grouper, in order. */
  private take(r: BlockResult, merge: Grouper, scanner: BinaryScanner | null, totals: ReadTotals, at: (pos: number) => void): void {
    addRecordCounts(totals, r)
    addLineCounts(totals.counts, r.counts)
    totals.lines += r.lines
    totals.overlong += r.overlong
    if (r.bad !== null) addBadBytes((totals.bad ??= { spans: 0, bytes: 0, first: null, cutShort: null }), r.bad)
    totals.versions = (totals.versions ?? 0) | r.versions
    const buf = Buffer.from(r.leftBytes.buffer, r.leftBytes.byteOffset, r.leftBytes.byteLength)
    const events = new BlockEvents(r, merge, at)
    let s = 0
    for (let i = 0; i < r.leftPos.length; i++) {
      events.upTo(r.leftPos[i])
      at(r.leftPos[i])
      if (scanner !== null) {
        const v = r.leftVer[i] as VslVersion
        const e = s + recordSize(buf, s, v)
        scanner.setVersion(v)
        scanner.scan(buf, s, e, 0, true)
        s = e
        continue
      }
      const nl = buf.indexOf(10, s)
      scanLine(buf, s, nl > s && buf[nl - 1] === 13 ? nl - 1 : nl, merge) // CRLF, as the line splitter reads it
      s = nl + 1
    }
    events.upTo(Infinity)
    // The group this grouper read last is not the block's last: lines of the next block that no header starts are of
    // no group, as for one thread.
    if (r.closed) merge.closeGroup()
  }

  /** Writes a block's records and those the main grouper completed meanwhile, in the order they completed. */
  private interleave(r: BlockResult, w: number, merged: { pos: number; text: string }[], out: OutputBuffer): void {
    const encoding = this.stages.encoding
    const rendered = r.outSlot < 0 ? r.out : this.outSlots[w][r.outSlot]
    if (merged.length === 0) {
      out.pushBytes(rendered.subarray(0, r.outLength))
      return
    }
    let m = 0
    let from = 0
    for (let i = 0; i < r.marks.length; i += 2) {
      const p = r.marks[i]
      while (m < merged.length && merged[m].pos < p) out.push(merged[m++].text, encoding)
      const end = r.marks[i + 1]
      out.pushBytes(rendered.subarray(from, end))
      from = end
    }
    while (m < merged.length) out.push(merged[m++].text, encoding)
  }
}
