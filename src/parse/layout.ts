// Owns layout detection: watches the group headers and the first record and names the varnishlog layout the
// input comes from, for --input-format and the summary.

import type { ParsedLine } from '../vsl/types.js'

export type Layout = 'vxid' | 'request' | 'session' | 'raw'
export type InputFormat = Layout | 'auto'

export class LayoutSniffer {
  layout: Layout | null = null
  verbose = false
  /** Set after the first record: from then on only headers need to be observed. */
  sawRecord = false
  private lastTopSession = false

  observe(p: ParsedLine): void {
    if (p.kind === 'header') {
      if (this.layout === null) this.layout = 'vxid'
      if (p.level === 1) this.lastTopSession = p.type === 'sess'
      else if (this.lastTopSession) this.layout = 'session'
      else if (this.layout === 'vxid') this.layout = 'request'
    } else if (p.kind === 'record' && !this.sawRecord) {
      this.sawRecord = true
      if (p.level === 0) this.layout = 'raw'
      else this.verbose = p.vxid >= 0
    }
  }

  /** True when a line cannot come from the forced layout (`--input-format`). */
  static rejects(format: InputFormat, p: ParsedLine): boolean {
    if (format === 'auto') return false
    if (format === 'raw') return p.kind === 'header' || (p.kind === 'record' && p.level > 0)
    return p.kind === 'record' && p.level === 0
  }

  describe(): string {
    if (this.layout === null) return 'unknown'
    return this.verbose ? `${this.layout} -v` : this.layout
  }
}
