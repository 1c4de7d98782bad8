// Owns reading large files with worker threads (src/parallel): which files qualify, and one ParallelReader for
// the run, started on the first such file and closed with the run. Every record is printed as it comes, so it
// is used only without statistics, --top and -k, and with the layout detected; and for one output: stdout, or a
// sink (--clickhouse without --json, -o, -F), whose rows the threads render.

import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import type { RunSettings } from '../run.js'
import type { GrouperOptions } from '../group/grouper.js'
import { binaryLayout, vslVersion } from '../parse/binary.js'
import { badMessage } from './binary-input.js'
import { DEFAULT_BLOCK, ParallelReader } from '../parallel/reader.js'
import { LayoutSniffer } from '../parse/layout.js'
import type { RecordStage, RecordStages } from './records.js'
import { describeReadError, type RunState } from './state.js'

/** Files from this size on are read by worker threads (when there are cores for them). */
export const PARALLEL_MIN_BYTES = 32 * 1024 * 1024

export class ParallelInput {
  private readonly threads: number
  private readonly minBytes: number
  private readonly blockBytes: number
  private readonly enabled: boolean
  private reader: ParallelReader | null = null

  constructor(
    private readonly opts: RunSettings,
    private readonly stages: RecordStages,
    sink: boolean,
  ) {
    this.threads = opts.threads === 0 ? Math.min(4, availableParallelism()) : opts.threads
    this.minBytes = opts.parallel?.minBytes ?? PARALLEL_MIN_BYTES
    this.blockBytes = opts.parallel?.blockBytes ?? DEFAULT_BLOCK
    // --top counts records on this thread (its view is fed ClientRecords; the workers render records to text):
    // one thread reads, at 60-100 MB/s, far more than a live varnishlog gives.
    const outputs = (stages.printRecords ? 1 : 0) + (sink ? 1 : 0)
    this.enabled = this.threads > 1 && stages.collector === null && stages.view === null && opts.limit === null && opts.inputFormat === 'auto' && outputs === 1
  }

  /** The layout of `path` when worker threads are to read it, or null. */
  layoutOf(path: string | undefined): string | null {
    return this.enabled && path !== undefined ? parallelLayout(path, this.minBytes) : null
  }

  /** Reads the file with worker threads; errors are reported, and what was read is counted. */
  async read(name: string, path: string, layout: string, limits: GrouperOptions, records: RecordStage, write: (bytes: Buffer) => Promise<void>, state: RunState): Promise<void> {
    const { keep, keepTree, keepBound, render, encoding, printRecords, row } = this.stages
    // The threads render what the one output takes: the printed text, or the sink's rows.
    const stages = printRecords ? { keep, keepTree, keepBound, render, encoding } : { keep, keepTree, keepBound, render: row!, encoding: 'utf8' as const }
    this.reader ??= new ParallelReader(this.opts, { threads: this.threads, blockBytes: this.blockBytes }, stages)
    const hooks = { emit: records.rendered, write, stopped: () => state.stopped || state.interrupted }
    try {
      const binary = layout.startsWith('binary')
      if (!binary) state.layouts.add(layout)
      const totals = await this.reader.read(path, hooks, limits, layout)
      state.addTotals(totals)
      // A binary file's versions, as the sequential reader names them (a file appended to another may differ).
      const versions = totals.versions || (layout === binaryLayout(1) ? 1 : 2) // no records: the header's
      if (binary) for (const v of [1, 2] as const) if (versions & v) state.layouts.add(binaryLayout(v))
      if (totals.bad !== undefined && totals.bad.spans > 0) state.warn(badMessage(name, totals.bad))
    } catch (err) {
      state.fail(describeReadError(name, err))
    }
  }

  async close(): Promise<void> {
    await this.reader?.close()
  }
}

/** The layout of a file worth reading with worker threads (large, plain: binary VSL, or text of Varnish 4 and
 *  later with LF line ends), from its first 64 KiB; null for any other file (gzip, Varnish 2.1/3.0, CR-only, small). */
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
  const binary = vslVersion(head)
  if (binary === 1 || binary === 2) return binaryLayout(binary)
  // An unknown binary version is for the sequential reader to refuse.
  if (head.length < 4 || binary === 'unknown' || (head[0] === 0x1f && head[1] === 0x8b) || head.indexOf(10) < 0) return null
  const sniffer = new LayoutSniffer()
  sniffer.sniff(head)
  return sniffer.layout === null || sniffer.layout === 'legacy' ? null : sniffer.describe()
}
