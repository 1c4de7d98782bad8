// Owns one run: compiles the stages from Options, then drives input → lines → parse → group → record → filter →
// render → output. The only async boundary is per chunk (reading, and waiting for the write before last to be
// done); everything per line is synchronous. Inputs are read in order, and groups never span files.

import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import type { Readable, Writable } from 'node:stream'
import type { Options } from './args.js'
import { compileFilter } from './filter/filter.js'
import { chunksOf, type Input } from './input.js'
import { OutputTurns } from './output.js'
import { VlogdumpError } from './errors.js'
import { StatsCollector } from './stats/stats.js'
import { renderStats, statsJson } from './stats/render.js'
import { addLineCounts, Grouper, type LineCounts } from './group/grouper.js'
import { FormatFilter, LayoutSniffer } from './parse/layout.js'
import { scanLine, TAG_WIDTH, TAG_WIDTH_LEGACY, type LineSink } from './parse/line.js'
import { LegacyGrouper } from './group/legacy.js'
import { LineSplitter } from './parse/lines.js'
import { createPalette } from './render/palette.js'
import { compileRenderer } from './render/renderer.js'
import { buildRecord } from './vsl/record.js'
import type { ClientRecord, IncompleteReason, Transaction } from './vsl/types.js'
import { addRecordCounts, countRecord, type RecordCounts } from './record-counts.js'
import { DEFAULT_BLOCK, ParallelReader, type ReadTotals } from './parallel/reader.js'

export type { Input } from './input.js'

export interface Io {
  inputs: Input[]
  stdout: Writable
  stderr: Writable
  /** A terminal for a progress line (bytes, rate, records), with the total size of the inputs when known. */
  progress?: { stream: Writable; totalBytes: number | null }
  /** Aborting stops reading (Ctrl-C): what is decided is written, and the run returns 130. */
  signal?: AbortSignal
}

export interface RunSettings extends Options {
  /** Resolved from --color and the environment by cli.ts. */
  useColor: boolean
  /** When a file is read by worker threads (src/parallel), and in what blocks; tests make both small. */
  parallel?: { minBytes: number; blockBytes: number }
}

/** Files from this size on are read by worker threads (when there are cores for them). */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024

export interface RunStats extends RecordCounts {
  lines: number
  counts: LineCounts
  overlong: number
  rejected: number
  pending: number
  layout: string
}

export const EXIT_MATCH = 0
export const EXIT_NO_MATCH = 1
export const EXIT_ERROR = 2
export const EXIT_INTERRUPTED = 130

export async function run(opts: RunSettings, io: Io): Promise<number> {
  // Compiled before the first line is read (a bad query fails here, with nothing read).
  const keep = compileFilter(opts.filters, opts.queries, opts.caseless)
  const render = compileRenderer(opts)
  const collector = opts.stats === 'off' ? null : new StatsCollector()
  const printRecords = opts.stats === 'off' || opts.stats === 'with-records'
  // Log lines are the input's bytes (latin1 strings): written as such, not UTF-8-encoded.
  const bytesOut = opts.output === 'log'
  const stats: RunStats = {
    lines: 0,
    records: 0,
    shown: 0,
    backendOnly: 0,
    incomplete: {},
    counts: { tx: 0, session: 0, nontx: 0, blank: 0, noise: 0, bad: 0 },
    overlong: 0,
    rejected: 0,
    pending: 0,
    layout: 'unknown',
  }
  let failed = false
  let stopped = false // stdout closed (EPIPE): end quietly
  let interrupted = false
  let limited = false // -k reached: stop reading, print nothing more
  const progress = io.progress === undefined ? null : new Progress(io.progress, () => stats.records)
  const out = new OutputTurns()

  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    stopped = true
    if (err.code !== 'EPIPE') {
      failed = true
      io.stderr.write(`vlogdump: cannot write output: ${err.message}\n`)
    }
  }
  io.stdout.on('error', onStdoutError)

  /** Builds, counts and filters an emitted tree: the record to print, or null. */
  const decide = (root: Transaction, incomplete: IncompleteReason | null): ClientRecord | null => {
    const rec = buildRecord(root, incomplete)
    countRecord(stats, rec)
    if (stopped || limited) return null
    const show = keep === null || keep(rec)
    collector?.add(rec, show)
    if (!show) return null
    stats.shown++
    if (opts.limit !== null && stats.shown >= opts.limit) limited = true
    return rec
  }
  const emit = (root: Transaction, incomplete: IncompleteReason | null): void => {
    const rec = decide(root, incomplete)
    if (rec !== null && printRecords) out.current.push(render(rec), bytesOut)
  }

  /** Writes bytes to stdout; resolves when they are written (their buffer may then be reused) or stdout failed.
   *  After Ctrl-C or SIGTERM what is decided is still written, but not waited for: a stuck reader must not keep
   *  vlogdump waiting, and no buffer is reused after an interrupt. */
  const write = (bytes: Buffer): Promise<void> =>
    new Promise<void>((resolve) => {
      if (stopped) return resolve()
      const done = (): void => {
        io.signal?.removeEventListener('abort', done)
        resolve()
      }
      io.signal?.addEventListener('abort', done)
      io.stdout.write(bytes, done)
      if (interrupted) done()
    })
  const flushOut = async (): Promise<void> => {
    if (stopped) out.current.discard()
    else await out.flush(write, () => interrupted)
  }

  let current: Readable | null = null
  const onAbort = (): void => {
    interrupted = true
    current?.destroy()
  }
  io.signal?.addEventListener('abort', onAbort)

  const layouts = new Set<string>()
  const limits = { maxPending: opts.maxPending, timeout: opts.timeout }
  const format = opts.inputFormat
  // Worker threads for large files, where every record is printed as it comes (no statistics, no -k, the
  // layout detected). Started on the first such file, ended with the run.
  const threads = opts.threads === 0 ? Math.min(4, availableParallelism()) : opts.threads
  const parallel = opts.parallel ?? { minBytes: PARALLEL_MIN_BYTES, blockBytes: DEFAULT_BLOCK }
  const canParallel = threads > 1 && collector === null && opts.limit === null && format === 'auto'
  let reader: ParallelReader | null = null
  const hooks = {
    emit: (root: Transaction, incomplete: IncompleteReason | null): string | null => {
      const rec = decide(root, incomplete)
      return rec === null ? null : render(rec)
    },
    write,
    stopped: () => stopped || interrupted,
  }
  try {
  for (const input of io.inputs) {
    if (stopped || interrupted || limited) break
    const layout = canParallel && input.path !== undefined ? parallelLayout(input.path, parallel.minBytes) : null
    if (layout !== null) {
      layouts.add(layout)
      reader ??= new ParallelReader(opts, { threads, blockBytes: parallel.blockBytes }, { keep, render, bytesOut })
      try {
        addTotals(stats, await reader.read(input.path!, hooks, limits))
      } catch (err) {
        failed = true
        io.stderr.write(`vlogdump: ${describeReadError(input.name, err)}\n`)
      }
      continue
    }
    // The grouper is chosen from the input's first lines: Varnish 2.1/3.0 (fd and xid) or 4-7 (vxid).
    const sniffer = new LayoutSniffer()
    let grouper: Grouper | LegacyGrouper = new Grouper(limits, emit)
    let formatFilter: FormatFilter | null = null
    // Lines go straight to the grouper (one call target on the hot path), unless --input-format must turn some away.
    let sink: LineSink = grouper
    let tagWidth = TAG_WIDTH
    let inputLines = 0
    let first = true
    let decided = false // the layout, from the first whole lines
    let longFirst = false // the first chunk held no line end
    let sep = 10
    const splitter = new LineSplitter((buf, start, end) => {
      inputLines++
      scanLine(buf, start, end, sink, tagWidth)
    })
    try {
      for await (const chunk of chunksOf(input, (s) => (current = s))) {
        if (first) {
          first = false
          if (chunk.length >= 4 && chunk.latin1Slice(0, 3) === 'VSL' && chunk[3] < 32) {
            throw new VlogdumpError(`${input.name}: this looks like a binary VSL file (varnishlog -w); read it with: vlogdump -r ${input.name}`)
          }
          // No LF anywhere in a sizeable first chunk, but CRs: lines end at CR.
          if (chunk.length > 200 && chunk.indexOf(10) < 0 && chunk.indexOf(13) >= 0) {
            splitter.crOnly()
            sep = 13
          }
        }
        if (!decided) {
          // The layout is told from the first whole lines. A chunk without a line end is part of one long first
          // line (nothing has been read yet): look again in the next chunk, after that line; so too after a first
          // line too long for the sniffer's window.
          const end = chunk.indexOf(sep)
          if (end < 0) {
            longFirst = true
            splitter.push(chunk)
            progress?.advance(chunk.length)
            if (stopped || interrupted || limited) break
            continue
          }
          decided = true
          sniffer.sniff(longFirst || end > 4096 ? chunk.subarray(end + 1) : chunk)
          const legacy = format === 'legacy' || (format === 'auto' && sniffer.layout === 'legacy')
          if (legacy) {
            grouper = new LegacyGrouper(limits, emit)
            tagWidth = TAG_WIDTH_LEGACY
          }
          if (format !== 'auto') formatFilter = new FormatFilter(grouper, format)
          sink = formatFilter ?? grouper
          layouts.add(format === 'auto' ? sniffer.describe() : format)
        }
        splitter.push(chunk)
        await flushOut()
        progress?.advance(chunk.length)
        if (stopped || interrupted || limited) break
      }
      if (!interrupted) splitter.end()
    } catch (err) {
      if (!interrupted) {
        failed = true
        io.stderr.write(`vlogdump: ${describeReadError(input.name, err)}\n`)
      }
    } finally {
      ;(current as Readable | null)?.destroy()
      current = null
    }
    // At the end of an input, or after a read error, what is still pending is printed as incomplete (eof).
    // On Ctrl-C only what is decided is printed; what is pending is counted in the summary.
    if (interrupted || limited) stats.pending += grouper.pendingCount
    else grouper.flush('eof')
    addLineCounts(stats.counts, grouper.counts)
    stats.overlong += splitter.overlong
    stats.lines += inputLines + splitter.overlong
    stats.rejected += formatFilter?.rejected ?? 0
    await flushOut()
  }
  } finally {
    await reader?.close()
  }
  progress?.done()
  io.signal?.removeEventListener('abort', onAbort)
  // The statistics of what was seen: also after Ctrl-C, not after a closed pipe.
  if (collector !== null && !stopped) {
    const report = collector.report()
    if (opts.stats === 'json') out.current.push(statsJson(report))
    else {
      const columns = (io.stdout as { columns?: number }).columns
      out.current.push((printRecords && stats.shown > 0 ? '\n' : '') + renderStats(report, createPalette(opts.useColor), columns ?? 80))
    }
    await flushOut()
  }
  io.stdout.off('error', onStdoutError)
  stats.layout = layouts.size === 0 ? 'unknown' : [...layouts].join(', ')

  if (opts.summary || interrupted) io.stderr.write(summaryLine(stats, interrupted))
  if (failed) return EXIT_ERROR
  if (interrupted) return EXIT_INTERRUPTED
  if (stopped || limited) return EXIT_MATCH
  return stats.shown > 0 ? EXIT_MATCH : EXIT_NO_MATCH
}

/** The progress line on a terminal's stderr for long file input: at most once a second, erased at the end. */
class Progress {
  private read = 0
  private readonly t0 = Date.now()
  private last = this.t0
  private shown = false
  constructor(
    private readonly io: { stream: Writable; totalBytes: number | null },
    private readonly records: () => number,
  ) {}

  advance(bytes: number): void {
    this.read += bytes
    const now = Date.now()
    if (now - this.last < 1000) return
    this.last = now
    const mb = (n: number): string => (n / 1e6).toFixed(0)
    const rate = this.read / 1e6 / ((now - this.t0) / 1000)
    const of = this.io.totalBytes === null ? '' : ` of ${mb(this.io.totalBytes)} MB (${((100 * this.read) / this.io.totalBytes).toFixed(0)}%)`
    this.io.stream.write(`\r\x1b[Kvlogdump: ${mb(this.read)} MB${of}, ${rate.toFixed(0)} MB/s, ${this.records()} records`)
    this.shown = true
  }

  done(): void {
    if (this.shown) this.io.stream.write('\r\x1b[K')
  }
}

function describeReadError(name: string, err: unknown): string {
  if (err instanceof VlogdumpError) return err.message
  const e = err as NodeJS.ErrnoException
  const label = name === '-' ? 'stdin' : name
  switch (e?.code) {
    case 'ENOENT':
      return `cannot open ${label}: no such file`
    case 'EACCES':
      return `cannot open ${label}: permission denied`
    case 'EISDIR':
      return `cannot read ${label}: is a directory`
    case 'Z_DATA_ERROR':
    case 'Z_BUF_ERROR':
      return `${label}: invalid gzip data (${e.message})`
    default:
      return `cannot read ${label}: ${e?.message ?? String(err)}`
  }
}

/** The layout of a file worth reading with worker threads (large, plain text of Varnish 4-7 with LF line ends),
 *  from its first 64 KiB; null for any other file (gzip, binary VSL, Varnish 2.1/3.0, CR-only, small). */
function parallelLayout(path: string, minBytes: number): string | null {
  let head: Buffer
  try {
    if (statSync(path).size < minBytes) return null
    const fd = openSync(path, 'r')
    try {
      head = Buffer.alloc(65536)
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0))
    } finally {
      closeSync(fd)
    }
  } catch {
    return null // the sequential reader reports it
  }
  if (head.length < 4 || (head[0] === 0x1f && head[1] === 0x8b) || head.latin1Slice(0, 3) === 'VSL' || head.indexOf(10) < 0) return null
  const sniffer = new LayoutSniffer()
  sniffer.sniff(head)
  return sniffer.layout === null || sniffer.layout === 'legacy' ? null : sniffer.describe()
}

function addTotals(stats: RunStats, t: ReadTotals): void {
  addRecordCounts(stats, t)
  addLineCounts(stats.counts, t.counts)
  stats.lines += t.lines
  stats.overlong += t.overlong
  stats.pending += t.pending
}

/** `vlogdump: 27846 lines, 300 records (300 shown, 0 incomplete), 1234 lines skipped (…); layout vxid` */
export function summaryLine(s: RunStats, interrupted: boolean): string {
  const inc = Object.entries(s.incomplete)
  const incTotal = inc.reduce((n, [, v]) => n + (v ?? 0), 0)
  const incText = incTotal === 0 ? '0 incomplete' : `${incTotal} incomplete: ${inc.map(([k, v]) => `${v} ${k}`).join(', ')}`
  const c = s.counts
  const skipped = c.session + c.nontx + c.blank + c.noise + c.bad + s.overlong + s.rejected
  const parts = [
    `${c.session} session`,
    `${c.nontx} non-transaction`,
    `${c.blank} blank`,
    `${c.noise} varnishlog notice`,
    `${c.bad + s.rejected} unparseable`,
    `${s.overlong} too long`,
  ]
  let line = `vlogdump: ${s.lines} lines, ${s.records} records (${s.shown} shown, ${incText}`
  if (s.backendOnly > 0) line += `, ${s.backendOnly} backend-only`
  line += `), ${skipped} lines skipped (${parts.join(', ')}); layout ${s.layout}`
  if (interrupted) line += `; interrupted with ${s.pending} transactions pending`
  return line + '\n'
}
