// Owns a worker thread of the parallel reader: the run's settings and this worker's shared buffers in
// (workerData), compiled once; then block jobs in, block results out (src/parallel/block.ts), until the main
// thread ends it. Blocks arrive in, and rendered records leave through, shared slots (SLOTS each way), so that
// reading gigabytes allocates no buffer per block.

import { parentPort, workerData } from 'node:worker_threads'
import { compileFilter } from '../filter/filter.js'
import { compileRenderer, renderEncoding } from '../render/renderer.js'
import { compileRow, rowLabels } from '../sink/clickhouse/row.js'
import { BlockRunner, transferList, type BlockJob } from './block.js'
import type { WorkerData } from './reader.js'

const { settings, inSlots, outSlots, results } = workerData as WorkerData
// The one output the threads render for (src/run/parallel-input.ts): stdout's text, or the sink's rows.
const rows = !settings.printRecords && settings.clickhouse !== null ? settings.clickhouse : null
// Threads read without --stats: every tree is tested before its record is built.
const { keepTree, keepBound, keepBuilt } = compileFilter(settings.filters, settings.queries, settings.caseless)
const runner = new BlockRunner(
  {
    keep: keepBuilt,
    keepTree,
    keepBound,
    render: rows !== null ? compileRow(rowLabels(rows, settings.instance)) : compileRenderer(settings),
    encoding: rows === null ? renderEncoding(settings.output) : 'utf8',
  },
  inSlots.map((s) => new Uint8Array(s)),
  outSlots.map((s) => Buffer.from(s)),
)

parentPort!.on('message', (job: BlockJob) => {
  const r = runner.run(job)
  results.postMessage(r, transferList(r))
})
