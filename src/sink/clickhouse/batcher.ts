// Owns cutting rows into batches: rows (JSON lines from row.ts, as strings or as bytes of whole lines) in, Batches
// out, each sent as one INSERT. A batch is closed at --ch-batch's records or bytes, or when its first row has
// waited long enough. Every row gets the batch's token as its `batch` column, written in place of its closing
// brace, so a batch whose insert may or may not have happened can be counted on the server before it is sent
// again. Synchronous and copy-only: what is slow (gzip, HTTP) happens after a batch is handed on.

import { randomInt } from 'node:crypto'
import type { BatchLimits } from './settings.js'

export interface Batch {
  /** The `batch` column of every row: unique per run (a random run id, then a counter). */
  token: number
  /** The rows, JSON lines, uncompressed. */
  body: Buffer
  rows: number
  /** Smallest and largest `start` (epoch seconds) of the rows: the check before a retry reads only that range. */
  minStart: number
  maxStart: number
}

/** Room kept beyond the byte limit, so that the row that crosses it still fits. */
const SLACK = 64 * 1024
/** `{"start":`, with which row.ts begins every row. */
const START_PREFIX = 9

export class Batcher {
  private buf: Buffer | null = null
  private end = 0
  private rows = 0
  private minStart = Infinity
  private maxStart = -Infinity
  private token = 0
  private suffix = Buffer.alloc(0)
  private timer: NodeJS.Timeout | null = null
  private readonly runId = randomInt(2 ** 32)
  private seq = 0

  constructor(
    private readonly limits: BatchLimits,
    private readonly onBatch: (batch: Batch) => void,
  ) {}

  /** One row: a JSON object ending in `}\n`. */
  push(row: string): void {
    const buf = this.room(row.length * 3)
    const at = this.end
    const n = buf.utf8Write(row, at)
    this.end = at + n - 2 // before `}\n`
    this.end += this.suffix.copy(buf, this.end)
    this.added(buf, at)
  }

  /** Whole rows as bytes (the parallel reader's merged output); copied, so the caller may reuse its memory. */
  pushBytes(bytes: Uint8Array): void {
    let s = 0
    while (s < bytes.length) {
      let nl = bytes.indexOf(10, s)
      if (nl < 0) nl = bytes.length // never: rows end with a newline
      const buf = this.room(nl + 1 - s)
      const at = this.end
      buf.set(bytes.subarray(s, nl - 1), at) // before `}\n`
      this.end = at + (nl - 1 - s)
      this.end += this.suffix.copy(buf, this.end)
      this.added(buf, at)
      s = nl + 1
    }
  }

  /** Hands on the open batch, if it has rows. */
  seal(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.rows === 0 || this.buf === null) return
    const batch: Batch = { token: this.token, body: this.buf.subarray(0, this.end), rows: this.rows, minStart: this.minStart, maxStart: this.maxStart }
    this.buf = null
    this.end = 0
    this.rows = 0
    this.minStart = Infinity
    this.maxStart = -Infinity
    this.onBatch(batch)
  }

  /** The open batch's buffer with room for a row of up to `bytes` bytes (and its token); a new batch when the
   *  open one has no room left. */
  private room(bytes: number): Buffer {
    const need = bytes + 40
    if (this.buf !== null && this.end + need > this.buf.length) this.seal()
    if (this.buf === null) {
      this.buf = Buffer.allocUnsafe(Math.max(this.limits.bytes + SLACK, need))
      this.token = this.runId * 2 ** 21 + (this.seq++ % 2 ** 21)
      this.suffix = Buffer.from(`,"batch":${this.token}}\n`)
    }
    return this.buf
  }

  /** Counts the row written at `at`, and closes the batch when it is full. */
  private added(buf: Buffer, at: number): void {
    let start = 0
    for (let i = at + START_PREFIX; i < this.end; i++) {
      const c = buf[i]
      if (c < 48 || c > 57) break
      start = start * 10 + (c - 48)
    }
    if (start < this.minStart) this.minStart = start
    if (start > this.maxStart) this.maxStart = start
    if (++this.rows === 1) {
      this.timer = setTimeout(() => this.seal(), this.limits.waitMs)
      this.timer.unref()
    }
    if (this.rows >= this.limits.rows || this.end >= this.limits.bytes) this.seal()
  }
}
