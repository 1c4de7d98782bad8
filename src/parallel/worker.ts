// Owns a worker thread of the parallel reader: the run's settings and this worker's shared buffers in
// (workerData), compiled once; then block jobs in, block results out (src/parallel/block.ts), until the main
// thread ends it. Blocks arrive in, and rendered records leave through, two shared slots each way (the reader
// says why that is safe), so that reading gigabytes allocates no buffer per block.

import { parentPort, workerData } from 'node:worker_threads'
import { compileFilter } from '../filter/filter.js'
import { OutputBuffer } from '../output.js'
import { compileRenderer } from '../render/renderer.js'
import { processBlock, type BlockJob, type BlockStages } from './block.js'
import type { WorkerData } from './reader.js'

const { settings, inSlots, outSlots } = workerData as WorkerData
const stages: BlockStages = {
  keep: compileFilter(settings.filters, settings.queries, settings.caseless),
  render: compileRenderer(settings),
  bytesOut: settings.output === 'log',
}
const input = inSlots.map((s) => new Uint8Array(s))
const output = outSlots.map((s) => Buffer.from(s))
const out = new OutputBuffer()
let turn = 0

parentPort!.on('message', (job: BlockJob) => {
  // Records are rendered straight into this turn's output slot; only what overflows it needs memory of its own.
  const slot = output[turn]
  out.rewind(slot)
  const r = processBlock(job, input[job.slot], stages, out)
  const transfer: ArrayBuffer[] = [r.marks.buffer as ArrayBuffer, r.leftBytes.buffer as ArrayBuffer, r.leftPos.buffer as ArrayBuffer]
  if (r.outLength > 0 && r.out.buffer === slot.buffer && r.out.byteOffset === 0) {
    r.out = new Uint8Array(0)
    r.outSlot = turn
    turn ^= 1
  } else if (r.outLength > 0) {
    r.out = new Uint8Array(r.out) // a copy of its own, to hand over
    transfer.push(r.out.buffer as ArrayBuffer)
  }
  parentPort!.postMessage(r, transfer)
})
