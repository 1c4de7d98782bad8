// Owns layout detection: looks at the first lines of an input and names the varnishlog layout it comes from, for
// the summary; and the --input-format restriction.

import type { OtherLine, TxType } from '../vsl/types.js'
import { scanLine, TAG_WIDTH_LEGACY, type LineSink } from './line.js'

export type Layout = 'vxid' | 'request' | 'session' | 'raw' | 'legacy'
export type InputFormat = Layout | 'auto'

/** Tags only Varnish 2.1/3.0 logs, and tags only 4–7 logs: raw lines of both look alike otherwise. */
const LEGACY_TAGS = new Set(['SessionOpen', 'SessionClose', 'StatSess', 'ReqEnd', 'RxRequest', 'RxURL', 'TxStatus', 'RxStatus', 'BackendXID', 'TxRequest', 'TxURL'])
const MODERN_TAGS = new Set(['Begin', 'End', 'Link', 'Timestamp', 'ReqMethod', 'ReqURL', 'RespStatus', 'BereqURL', 'SessOpen', 'ReqAcct'])

export class LayoutSniffer {
  layout: Layout | null = null
  verbose = false
  private sawRecord = false
  private lastTopSession = false
  private legacyVotes = 0
  private modernVotes = 0

  header(level: number, type: TxType): void {
    if (this.layout === null) this.layout = 'vxid'
    if (level === 1) this.lastTopSession = type === 'sess'
    else if (this.lastTopSession) this.layout = 'session'
    else if (this.layout === 'vxid') this.layout = 'request'
  }

  record(level: number, vxid: number, tag = ''): void {
    if (level === 0) {
      if (LEGACY_TAGS.has(tag)) this.legacyVotes++
      else if (MODERN_TAGS.has(tag)) this.modernVotes++
    }
    if (this.sawRecord) return
    this.sawRecord = true
    if (level === 0) this.layout = 'raw'
    else this.verbose = vxid >= 0
  }

  /** Looks at the first lines of a chunk (at most `bytes` of it) without consuming them. */
  sniff(chunk: Buffer, bytes = 65536): void {
    const watcher: LineSink = {
      record: (level, vxid, tag) => this.record(level, vxid, tag),
      header: (level, _vxid, type) => this.header(level, type),
      other: () => {},
    }
    const end = Math.min(chunk.length, bytes)
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(10, start)
      if (nl < 0 || nl >= end) break
      scanLine(chunk, start, nl > start && chunk[nl - 1] === 13 ? nl - 1 : nl, watcher, TAG_WIDTH_LEGACY)
      start = nl + 1
    }
    if (this.layout === 'raw' && this.legacyVotes > this.modernVotes) this.layout = 'legacy'
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

  record(level: number, vxid: number, tag: string, data: string, side: number): void {
    if ((this.format === 'raw' || this.format === 'legacy') !== (level === 0)) this.rejected++
    else this.inner.record(level, vxid, tag, data, side)
  }

  header(level: number, vxid: number, type: TxType): void {
    if (this.format === 'raw' || this.format === 'legacy') this.rejected++
    else this.inner.header(level, vxid, type)
  }

  other(kind: OtherLine['kind'], text: string): void {
    this.inner.other(kind, text)
  }
}
