// Owns layout detection: watches the group headers and the first record and names the varnishlog layout the
// input comes from, for --input-format and the summary. Wraps the grouper as a LineSink while it watches.

import type { OtherLine, TxType } from '../vsl/types.js'
import type { LineSink } from './line.js'

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

  describe(): string {
    if (this.layout === null) return 'unknown'
    return this.verbose ? `${this.layout} -v` : this.layout
  }
}

/** A LineSink in front of another that feeds the sniffer and, with a forced --input-format, turns away the lines
 *  of other layouts (counted in `rejected`). */
export class SniffingSink implements LineSink {
  rejected = 0
  constructor(
    private readonly inner: LineSink,
    readonly sniffer: LayoutSniffer,
    private readonly format: InputFormat,
  ) {}

  record(level: number, vxid: number, tag: string, data: string): void {
    this.sniffer.record(level, vxid)
    if (this.format !== 'auto' && (this.format === 'raw') !== (level === 0)) this.rejected++
    else this.inner.record(level, vxid, tag, data)
  }

  header(level: number, vxid: number, type: TxType): void {
    this.sniffer.header(level, type)
    if (this.format === 'raw') this.rejected++
    else this.inner.header(level, vxid, type)
  }

  other(kind: OtherLine['kind'], text: string): void {
    this.inner.other(kind, text)
  }
}
