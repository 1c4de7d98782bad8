// Owns reading a binary VSL input (`varnishlog -w`) in this thread: chunks → records (src/parse/binary.ts) →
// group, as varnishlog -g raw would print them: every transaction, ESI subrequests included, in the order the
// file holds them. A record cut by a chunk's end is read with the next chunk; bytes that are not records are
// counted, and said once at the end of the input.

import { VlogdumpError } from '../errors.js'
import { Grouper } from '../group/grouper.js'
import { BinaryScanner, binaryLayout, vslVersion, type BadBytes, type VslVersion } from '../parse/binary.js'
import { settleInput, type ChunkReader, type InputContext } from './read-input.js'

/** Bytes of a chunk read together with what the chunk before it cut (see push). */
const CARRY_HEAD = 4096

export class BinaryReader implements ChunkReader {
  private readonly grouper: Grouper
  private readonly scanner: BinaryScanner
  /** Bytes of a record the last chunk cut, and where they are in the input. */
  private carry: Buffer | null = null
  private pos = 0
  /** Where the first record starts: after the file header. */
  private skip = 4

  /** `head`: the input's first bytes (four at least), whose file header says the version. */
  constructor(
    private readonly ctx: InputContext,
    private readonly name: string,
    head: Buffer,
  ) {
    this.grouper = new Grouper(ctx.limits, ctx.emit)
    this.scanner = new BinaryScanner(headerVersion(head, name), this.grouper)
    // Groups never span files, even appended to each other (cat a.vsl b.vsl).
    this.scanner.onFileHeader = () => this.grouper.flush('eof')
  }

  async push(chunk: Buffer): Promise<void> {
    let buf = chunk
    let from = 0
    let base = this.pos
    if (this.carry !== null) {
      // The record the last chunk cut is completed from the head of this one (records are small: a copy of the
      // whole chunk per chunk was garbage V8 let pile up); the rest of the chunk is read where it is.
      const carry = this.carry
      this.carry = null
      const head = Buffer.concat([carry, chunk.subarray(0, Math.min(chunk.length, CARRY_HEAD))])
      const stop = this.scanner.scan(head, 0, head.length, base)
      if (stop >= carry.length) {
        from = stop - carry.length
        base += carry.length
      } else {
        // A record larger than the head, or damage being resynced: what is left of the carry, with all the chunk.
        buf = Buffer.concat([carry.subarray(stop), chunk])
        base += stop
      }
    }
    const stop = this.scanner.scan(buf, from + this.skip, buf.length, base)
    this.skip = 0
    this.hold(buf.subarray(stop), base + stop)
    await this.ctx.out.flush()
    this.ctx.progress?.advance(chunk.length)
  }

  end(): void {
    if (this.carry === null) return
    this.scanner.scan(this.carry, 0, this.carry.length, this.pos, true)
    this.carry = null
  }

  /** Settles what is pending (see settleInput), names the file versions read, and says what was skipped. */
  finish(): void {
    const s = this.scanner
    const { state } = this.ctx
    this.grouper.counts.bad += s.bad.spans
    settleInput(this.ctx, this.grouper, { lines: s.records + s.bad.spans, overlong: 0, rejected: 0 })
    for (const v of [...s.versions].sort()) state.layouts.add(binaryLayout(v))
    if (s.bad.spans > 0) state.warn(badMessage(this.name, s.bad))
  }

  /** Keeps the bytes a chunk ended in (copied: the chunk's memory is reused), to read them with the next. */
  private hold(rest: Buffer, pos: number): void {
    this.pos = pos
    this.carry = rest.length === 0 ? null : Buffer.from(rest)
  }
}

function headerVersion(head: Buffer, name: string): VslVersion {
  const v = vslVersion(head)
  if (v === 1 || v === 2) return v
  const shown = [...head.subarray(0, 4)].map((c) => (c >= 32 && c < 127 ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('')
  throw new VlogdumpError(
    `${name === '-' ? 'stdin' : name}: binary VSL file of a version this vlogdump does not know (header "${shown}"); it reads "VSL\\0" (Varnish 4.1 to 7.2) and "VSL2" (7.3 and later)`,
  )
}

/** `capture.vsl: 3 runs of bytes (120 bytes) skipped, not records; the first at byte 4096: tag number 0 is not …` */
export function badMessage(name: string, bad: BadBytes): string {
  const label = name === '-' ? 'stdin' : name
  const runs = bad.spans === 1 ? '1 run of bytes' : `${bad.spans} runs of bytes`
  const first = bad.first!
  const cut = bad.cutShort
  const cutText = cut === null ? '' : `it ends inside a record (${cut.have} of its ${cut.want} bytes)`
  if (cut !== null && cut.pos === first.pos) return `${label}: ${runs} (${bad.bytes} bytes) skipped, not records: ${cutText}`
  return `${label}: ${runs} (${bad.bytes} bytes) skipped, not records; the first at byte ${first.pos}: ${first.why}${cut === null ? '' : `; ${cutText}`}`
}
