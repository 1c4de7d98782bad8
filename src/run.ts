// Owns one run: compiles the stages from Options, then drives each input through them — input → lines → parse →
// group → record → filter → render → output (src/run/), large files through worker threads — and ends with the
// statistics, the summary and the exit status. The only async boundary is per chunk (reading, and waiting for the
// write before last to be done); everything per line is synchronous. Inputs are read in order, and groups never
// span files.

import type { Writable } from 'node:stream'
import type { Options } from './args.js'
import type { Input } from './input.js'
import type { RecordSink, SinkReport } from './sink/sink.js'
import { ParallelInput } from './run/parallel-input.js'
import { Progress } from './run/progress.js'
import { compileRecordStages, RecordStage } from './run/records.js'
import { RunState, summaryLine } from './run/state.js'
import { Stdout } from './run/stdout.js'
import { readInput } from './run/read-input.js'
import { createPalette } from './render/palette.js'
import type { TopTerminal } from './top/terminal.js'
import { TopSink, type TopIo } from './top/top.js'

export type { Input } from './input.js'

export interface Io {
  inputs: Input[]
  stdout: Writable
  stderr: Writable
  /** A terminal for a progress line (bytes, rate, records), with the total size of the inputs when known. */
  progress?: { stream: Writable; totalBytes: number | null }
  /** Aborting stops reading (Ctrl-C): what is decided is written, and the run returns 130. */
  signal?: AbortSignal
  /** Where the records go beside stdout (--clickhouse), made by cli.ts (or a test). */
  sink?: RecordSink
  /** --top on a terminal: the screen and keyboard to take (src/top/terminal.ts); without it, snapshots to stdout. */
  terminal?: TopTerminal
  /** --top's wall clock, epoch seconds (tests). */
  now?: () => number
}

export interface RunSettings extends Options {
  /** Resolved from --color and the environment by cli.ts. */
  useColor: boolean
  /** When a file is read by worker threads (src/parallel), and in what blocks; tests make both small. */
  parallel?: { minBytes: number; blockBytes: number }
}

export { PARALLEL_MIN_BYTES } from './run/parallel-input.js'
export { summaryLine, type RunStats } from './run/state.js'

export const EXIT_MATCH = 0
export const EXIT_NO_MATCH = 1
export const EXIT_ERROR = 2
export const EXIT_INTERRUPTED = 130

export async function run(opts: RunSettings, io: Io): Promise<number> {
  const state = new RunState(io.stderr)
  const out = new Stdout(io.stdout, io.signal, state)
  const top = opts.top === null ? null : new TopSink(opts.top, topIo(io, out), createPalette(opts.useColor))
  const stages = compileRecordStages(opts, top) // before the first line is read: a bad query fails with nothing read
  const sink = io.sink ?? null
  sink?.start({
    warn: (m) => state.warn(m),
    fail: (m) => {
      state.fail(m)
      state.stopped = true // nothing more is read: the sink can take nothing more
    },
  })
  const records = new RecordStage(stages, opts.limit, state, out, sink)
  const progress = io.progress === undefined ? null : new Progress(io.progress, () => state.stats.records)
  const limits = { maxPending: opts.maxPending, timeout: opts.timeout, slowest: stages.keepBound !== null }
  // Each chunk's output is handed on before the next chunk is read: stdout's, then the sink's (which may wait).
  const flush = sink === null ? out : { flush: async () => (await out.flush(), await sink.flush()) }
  const text = { format: opts.inputFormat, limits, emit: records.emit, state, out: flush, progress }
  const parallel = new ParallelInput(opts, stages, sink !== null)
  const onAbort = (): void => state.interrupt()
  io.signal?.addEventListener('abort', onAbort)
  top?.start(state)
  try {
    for (const input of io.inputs) {
      if (state.halted) break
      const layout = parallel.layoutOf(input.path)
      if (layout === null) await readInput(input, text)
      else {
        await parallel.read(input.name, input.path!, layout, limits, records, stages.printRecords ? out.write : sink!.write.bind(sink), state)
      }
    }
  } finally {
    await parallel.close()
    await top?.stop(state)
  }
  progress?.done()
  io.signal?.removeEventListener('abort', onAbort)
  records.writeStatistics(opts.stats === 'json', opts.useColor, (io.stdout as { columns?: number }).columns)
  await out.flush()
  out.close()
  const delivered = sink === null ? null : await sink.close(io.signal)
  return finish(opts, io, state, delivered)
}

function topIo(io: Io, out: Stdout): TopIo {
  const write = (text: string): Promise<void> => out.write(Buffer.from(text, 'utf8'))
  return { terminal: io.terminal ?? null, write, columns: (io.stdout as { columns?: number }).columns ?? 120, now: io.now }
}

/** The summary line (with --summary, and after Ctrl-C) and the exit status, like grep's; records a sink could not
 *  deliver make it 2; q in --top is 0. */
function finish(opts: RunSettings, io: Io, state: RunState, delivered: SinkReport | null): number {
  const { stats } = state
  stats.layout = state.layouts.size === 0 ? 'unknown' : [...state.layouts].join(', ')
  stats.sink = delivered
  const interrupted = state.interrupted && !state.quit
  if (opts.summary || interrupted) io.stderr.write(summaryLine(stats, interrupted))
  if (state.failed || (delivered !== null && delivered.dropped + delivered.undelivered > 0)) return EXIT_ERROR
  if (state.quit) return EXIT_MATCH
  if (interrupted) return EXIT_INTERRUPTED
  if (state.stopped || state.limited) return EXIT_MATCH
  return stats.shown > 0 ? EXIT_MATCH : EXIT_NO_MATCH
}
