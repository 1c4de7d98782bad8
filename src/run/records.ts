// Owns what happens to each transaction tree a grouper emits: record → count → filter → statistics → render →
// output (stdout, and a sink such as ClickHouse beside it), or → a view beside the renderers (--top). The filter,
// renderers and statistics are compiled once, before the first line is read.

import type { Options } from '../args.js'
import { compileFilter } from '../filter/filter.js'
import type { Predicate } from '../filter/predicate.js'
import type { TreePredicate } from '../filter/tree.js'
import { countRecord, countTree } from '../record-counts.js'
import type { TextEncoding } from '../output.js'
import { compileRenderer, compileWriter, renderEncoding, type RecordWriter } from '../render/renderer.js'
import { renderStats, statsJson } from '../stats/render.js'
import { StatsCollector } from '../stats/stats.js'
import { createPalette } from '../render/palette.js'
import { compileRow, rowLabels } from '../sink/clickhouse/row.js'
import type { RecordSink } from '../sink/sink.js'
import type { RecordView } from '../top/top.js'
import { buildRecord } from '../vsl/record.js'
import type { ClientRecord, IncompleteReason, Transaction } from '../vsl/types.js'
import type { RunState } from './state.js'
import type { Stdout } from './stdout.js'

/** The compiled stages after grouping. */
export interface RecordStages {
  keep: Predicate | null
  /** Whether a tree's record can be shown, before it is built (not with --stats, which sees every record). */
  keepTree: TreePredicate | null
  render: (rec: ClientRecord) => string
  /** Writes a shown record into the output buffer (compileWriter of render and encoding). */
  write: RecordWriter
  /** --stats: the statistics of the records seen (shown or not). */
  collector: StatsCollector | null
  /** --top: every shown record goes to it (none is printed). */
  view: RecordView | null
  /** Records are printed on stdout (no --stats, or --stats with records; not with --clickhouse alone, nor --top). */
  printRecords: boolean
  /** How the rendered text is written (src/output.ts). */
  encoding: TextEncoding
  /** --clickhouse: the record as a row of the table. */
  row: ((rec: ClientRecord) => string) | null
  /** The part of keepTree that reads no record's data (src/filter/filter.ts). */
  keepBound: TreePredicate | null
}

/** Compiles the stages from the options (a bad query fails here, with nothing read). */
export function compileRecordStages(opts: Options & { useColor: boolean }, view: RecordView | null = null): RecordStages {
  const { keep, keepTree, keepBuilt, keepBound } = compileFilter(opts.filters, opts.queries, opts.caseless)
  // --stats looks at every record: no tree test then.
  const tree = opts.stats === 'off'
  const render = compileRenderer(opts)
  return {
    keep: tree ? keepBuilt : keep,
    keepTree: tree ? keepTree : null,
    keepBound: tree ? keepBound : null,
    render,
    write: compileWriter(render, renderEncoding(opts.output)),
    collector: opts.stats === 'off' ? null : new StatsCollector(),
    view,
    printRecords: view === null && opts.printRecords && (opts.stats === 'off' || opts.stats === 'with-records'),
    encoding: renderEncoding(opts.output),
    row: opts.clickhouse === null ? null : compileRow(rowLabels(opts.clickhouse, opts.instance)),
  }
}

export class RecordStage {
  constructor(
    private readonly stages: RecordStages,
    private readonly limit: number | null,
    private readonly state: RunState,
    private readonly out: Stdout,
    private readonly sink: RecordSink | null = null,
  ) {}

  /** Builds, counts and filters an emitted tree: the record to print, or null. */
  decide(root: Transaction, incomplete: IncompleteReason | null): ClientRecord | null {
    const { state, stages } = this
    if (stages.keepTree !== null && !stages.keepTree(root)) {
      countTree(state.stats, root, incomplete)
      return null
    }
    const rec = buildRecord(root, incomplete)
    countRecord(state.stats, rec)
    if (state.stopped || state.limited) return null
    const show = stages.keep === null || stages.keep(rec)
    stages.collector?.add(rec, show)
    if (!show) return null
    stages.view?.add(rec)
    state.stats.shown++
    if (this.limit !== null && state.stats.shown >= this.limit) state.limited = true
    return rec
  }

  /** For a grouper of the run: the record, when shown, is rendered into the output buffer. */
  readonly emit = (root: Transaction, incomplete: IncompleteReason | null): void => {
    const rec = this.decide(root, incomplete)
    if (rec === null) return
    if (this.stages.printRecords) this.stages.write(rec, this.out.buffer)
    if (this.sink !== null) this.sink.push(this.stages.row!(rec))
  }

  /** --stats: the statistics of what was seen, after the records (also after Ctrl-C, not after a closed pipe). */
  writeStatistics(json: boolean, useColor: boolean, columns: number | undefined): void {
    const { collector, printRecords } = this.stages
    if (collector === null || this.state.stopped) return
    const report = collector.report()
    if (json) this.out.buffer.push(statsJson(report))
    else this.out.buffer.push((printRecords && this.state.stats.shown > 0 ? '\n' : '') + renderStats(report, createPalette(useColor), columns ?? 80))
  }

  /** For the parallel reader's merge: the record's text (its row, when records go to the sink only), or null. */
  readonly rendered = (root: Transaction, incomplete: IncompleteReason | null): string | null => {
    const rec = this.decide(root, incomplete)
    if (rec === null) return null
    return this.stages.printRecords ? this.stages.render(rec) : this.stages.row!(rec)
  }
}
