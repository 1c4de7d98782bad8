// Owns the progress line on a terminal's stderr for long file input: bytes, rate and records, at most once a
// second, erased at the end.

import type { Writable } from 'node:stream'

export class Progress {
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
