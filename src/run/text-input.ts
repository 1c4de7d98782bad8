// Owns reading a text input in this thread: chunks → lines → parse → group, the grouper chosen from the input's
// first whole lines (Varnish 2.1/3.0 by fd and xid, or 4 and later by vxid) unless --input-format forces one.
// Each grouper it feeds emits into the record stage; a chunk's output is written before the next is read.

import { Grouper } from '../group/grouper.js'
import { LegacyGrouper } from '../group/legacy.js'
import { FormatFilter, LayoutSniffer } from '../parse/layout.js'
import { scanLine, TAG_WIDTH, TAG_WIDTH_LEGACY, type LineSink } from '../parse/line.js'
import { LineSplitter } from '../parse/lines.js'
import { settleInput, type ChunkReader, type InputContext } from './read-input.js'

/** Text in chunks: lines → parse → group. */
export class TextReader implements ChunkReader {
  /** Lines go straight to the grouper (one call target on the hot path), unless --input-format must turn some away. */
  private sink: LineSink
  private grouper: Grouper | LegacyGrouper
  private formatFilter: FormatFilter | null = null
  private tagWidth = TAG_WIDTH
  private lines = 0
  private first = true
  /** The layout is decided, from the first whole lines. */
  private decided = false
  /** The first chunk held no line end. */
  private longFirst = false
  private sep = 10
  readonly splitter = new LineSplitter((buf, start, end) => {
    this.lines++
    scanLine(buf, start, end, this.sink, this.tagWidth)
  })

  constructor(private readonly ctx: InputContext) {
    this.grouper = new Grouper(ctx.limits, ctx.emit)
    this.sink = this.grouper
  }

  async push(chunk: Buffer): Promise<void> {
    if (this.first) this.firstChunk(chunk)
    if (!this.decided && !this.decide(chunk)) {
      // Part of one long first line: look again in the next chunk.
      this.splitter.push(chunk)
      this.ctx.progress?.advance(chunk.length)
      return
    }
    this.splitter.push(chunk)
    await this.ctx.out.flush()
    this.ctx.progress?.advance(chunk.length)
  }

  private firstChunk(chunk: Buffer): void {
    this.first = false
    // No LF anywhere in a sizeable first chunk, but CRs: lines end at CR.
    if (chunk.length > 200 && chunk.indexOf(10) < 0 && chunk.indexOf(13) >= 0) {
      this.splitter.crOnly()
      this.sep = 13
    }
  }

  /** Chooses the grouper from the first whole lines; false while the chunk holds no line end. A chunk without a
   *  line end is part of one long first line (nothing has been read yet): the layout is told from the lines after
   *  it, and so after a first line too long for the sniffer's window. */
  private decide(chunk: Buffer): boolean {
    const end = chunk.indexOf(this.sep)
    if (end < 0) {
      this.longFirst = true
      return false
    }
    this.decided = true
    const { format, limits, emit, state } = this.ctx
    const sniffer = new LayoutSniffer()
    sniffer.sniff(this.longFirst || end > 4096 ? chunk.subarray(end + 1) : chunk)
    if (format === 'legacy' || (format === 'auto' && sniffer.layout === 'legacy')) {
      this.grouper = new LegacyGrouper(limits, emit)
      this.tagWidth = TAG_WIDTH_LEGACY
    }
    if (this.grouper instanceof Grouper) this.grouper.vxidLayout = (format === 'auto' ? sniffer.layout : format) === 'vxid'
    if (format !== 'auto') this.formatFilter = new FormatFilter(this.grouper, format)
    this.sink = this.formatFilter ?? this.grouper
    state.layouts.add(format === 'auto' ? sniffer.describe() : format)
    return true
  }

  end(): void {
    this.splitter.end()
  }

  /** At the end of an input, or after a read error, what is still pending is emitted as incomplete (eof). On
   *  Ctrl-C only what is decided is printed; what is pending is counted in the summary. */
  finish(): void {
    const overlong = this.splitter.overlong
    settleInput(this.ctx, this.grouper, { lines: this.lines + overlong, overlong, rejected: this.formatFilter?.rejected ?? 0 })
  }
}
