// Owns layout detection: looks at the first lines of an input and names the varnishlog layout it comes from, for
// the summary; and the --input-format restriction.

import type { OtherLine, TxType } from '../vsl/types.js'
import { scanLine, type LineSink } from './line.js'

export type Layout = 'vxid' | 'request' | 'session' | 'raw'
export type InputFormat = Layout | 'auto'

export class LayoutSniffer {
  layout: Layout | null = null
  verbose = false
  private sawRecord = false
  private lastTopSession = false

  header(level: number, type: TxType): void {
    if (this.layout === null) this.layout = 'vxid'
    if (level === 1) this.lastTopSession = type === 'sess'
    else if (this.lastTopSession) this.layout = 'session'
    else if (this.layout === 'vxid') this.layout = 'request'
  }

  record(level: number, vxid: number): void {
    if (this.sawRecord) return
    this.sawRecord = true
    if (level === 0) this.layout = 'raw'
    else this.verbose = vxid >= 0
  }

  /** Looks at the first lines of a chunk (at most `bytes` of it) without consuming them. */
  sniff(chunk: Buffer, bytes = 65536): void {
    const watcher: LineSink = {
      record: (level, vxid) => this.record(level, vxid),
      header: (level, _vxid, type) => this.header(level, type),
      other: () => {},
    }
    const end = Math.min(chunk.length, bytes)
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(10, start)
      if (nl < 0 || nl >= end) break
      scanLine(chunk, start, nl > start && chunk[nl - 1] === 13 ? nl - 1 : nl, watcher)
      start = nl + 1
    }
  }

  describe(): string {
    if (this.layout === null) return 'unknown'
    return this.verbose ? `${this.layout} -v` : this.layout
  }
}

/** A LineSink in front of another that, with a forced --input-format, turns away the lines of other layouts
 *  (counted in `rejected`). Only used then: the usual path hands lines straight to the grouper. */
export class FormatFilter implements LineSink {
  rejected = 0
  constructor(
    private readonly inner: LineSink,
    private readonly format: Layout,
  ) {}

  record(level: number, vxid: number, tag: string, data: string): void {
    if ((this.format === 'raw') !== (level === 0)) this.rejected++
    else this.inner.record(level, vxid, tag, data)
  }

  header(level: number, vxid: number, type: TxType): void {
    if (this.format === 'raw') this.rejected++
    else this.inner.header(level, vxid, type)
  }

  other(kind: OtherLine['kind'], text: string): void {
    this.inner.other(kind, text)
  }
}
