// Owns what one run knows about itself while it reads: the tallies of lines and records (RunStats), and the
// flags that stop reading — stdout closed, Ctrl-C, -k reached — and that decide the exit status.

import type { Readable, Writable } from 'node:stream'
import { VlogdumpError } from '../errors.js'
import { addLineCounts, type LineCounts } from '../group/grouper.js'
import type { ReadTotals } from '../parallel/reader.js'
import { addRecordCounts, type RecordCounts } from '../record-counts.js'
import type { SinkReport } from '../sink/sink.js'
import type { IncompleteReason } from '../vsl/types.js'

export interface RunStats extends RecordCounts {
  lines: number
  counts: LineCounts
  overlong: number
  rejected: number
  pending: number
  layout: string
  /** What the sink (--clickhouse) delivered, at the end. */
  sink?: SinkReport | null
}

export class RunState {
  readonly stats: RunStats = {
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
  /** An error was reported: the exit status is 2 whatever else happens. */
  failed = false
  /** stdout closed (EPIPE): end quietly. */
  stopped = false
  /** Ctrl-C or SIGTERM (or q in --top). */
  interrupted = false
  /** q in --top: stopped by choice, exit 0. */
  quit = false
  /** -k reached: stop reading, print nothing more. */
  limited = false
  /** The layouts read, for the summary. */
  readonly layouts = new Set<string>()
  /** The stream being read, destroyed on Ctrl-C. */
  current: Readable | null = null

  constructor(private readonly stderr: Writable) {}

  /** Nothing more is to be read. */
  get halted(): boolean {
    return this.stopped || this.interrupted || this.limited
  }

  /** Reports an error on stderr; the run goes on, and exits 2. */
  fail(message: string): void {
    this.failed = true
    this.stderr.write(`vlogdump: ${message}\n`)
  }

  /** Says something the user should know on stderr; the run goes on, its exit status unchanged. */
  warn(message: string): void {
    this.stderr.write(`vlogdump: ${message}\n`)
  }

  /** Ctrl-C: what is decided is written, the stream being read is ended. `quit`: q in --top, the same, but the run
   *  ends as if the input had (exit 0). */
  interrupt(quit = false): void {
    this.interrupted = true
    if (quit) this.quit = true
    this.current?.destroy()
  }

  /** Adds what one input's reader counted. */
  addTotals(t: ReadTotals & { rejected?: number }): void {
    const s = this.stats
    addRecordCounts(s, t)
    addLineCounts(s.counts, t.counts)
    s.lines += t.lines
    s.overlong += t.overlong
    s.pending += t.pending
    s.rejected += t.rejected ?? 0
  }
}

const INCOMPLETE_ORDER: IncompleteReason[] = ['eof', 'overflow', 'timeout', 'flush', 'reused']

/** `vlogdump: 27846 lines, 300 records (300 shown, 0 incomplete), 1234 lines skipped (…); layout vxid` */
export function summaryLine(s: RunStats, interrupted: boolean): string {
  // In a fixed order (the README's), not in the order first met: the parallel reader adds up its blocks' counts.
  const inc = INCOMPLETE_ORDER.filter((k) => (s.incomplete[k] ?? 0) > 0).map((k) => [k, s.incomplete[k]] as const)
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
  if (s.sink) line += `; ${s.sink.name}: ${s.sink.inserted} inserted, ${s.sink.dropped} dropped, ${s.sink.undelivered} not delivered`
  if (interrupted) line += `; interrupted with ${s.pending} transactions pending`
  return line + '\n'
}

/** The message for an input that could not be read, without the `vlogdump: ` prefix. */
export function describeReadError(name: string, err: unknown): string {
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
