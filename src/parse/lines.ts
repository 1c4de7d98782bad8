// Owns line splitting: Buffer chunks in, one line out as a byte range of a Buffer (LF or CRLF ends, the end
// excluded), with a bound on line length so that a file without newlines cannot grow memory. We split Buffers ourselves instead of using split2:
// measured on a 213 MB capture, split2 (utf8 or latin1) ran at 79-87 MB/s and this loop at 285 MB/s, and split2's
// lines are slices of a whole decoded chunk, so one retained record pins its 64 KiB chunk in memory.

/** Lines longer than this are skipped and counted. varnishlog's own lines are short (a record's data is at most
 *  vsl_reclen bytes); the parallel reader keeps lines up to half a block, so with its default 1 MiB blocks both
 *  readers draw the line at the same length. */
export const DEFAULT_MAX_LINE = 512 * 1024

export class LineSplitter {
  /** Bytes of an unfinished line carried over from earlier chunks. */
  private tail: Buffer | null = null
  /** True while skipping the rest of an over-long line. */
  private skipping = false
  /** Lines longer than the bound, skipped (each counted once). */
  overlong = 0
  /** The line end: LF (and CRLF), or CR for input with CR-only line ends (old Mac style, some pasted logs). */
  private sep = 10

  constructor(
    /** Called with the line's bytes: buf[start, end). The Buffer is only valid during the call. */
    private readonly onLine: (buf: Buffer, start: number, end: number) => void,
    private readonly maxLine = DEFAULT_MAX_LINE,
  ) {}

  /** Ends lines at CR instead of LF: for input that has no LF at all. */
  crOnly(): void {
    this.sep = 13
  }

  push(chunk: Buffer): void {
    let buf = chunk
    let start = 0
    if (this.tail !== null) {
      // Only the unfinished line is copied, never the whole chunk history.
      const nl = chunk.indexOf(this.sep)
      if (nl < 0) {
        if (this.tail.length + chunk.length > this.maxLine) this.overflow()
        else this.tail = Buffer.concat([this.tail, chunk])
        return
      }
      const line = Buffer.concat([this.tail, chunk.subarray(0, nl)])
      this.tail = null
      if (line.length <= this.maxLine) this.emit(line, 0, line.length)
      else this.overlong++
      start = nl + 1
    } else if (this.skipping) {
      const nl = chunk.indexOf(this.sep)
      if (nl < 0) return
      this.skipping = false
      start = nl + 1
    }
    const len = buf.length
    for (;;) {
      const nl = buf.indexOf(this.sep, start)
      if (nl < 0) break
      if (nl - start <= this.maxLine) this.emit(buf, start, nl)
      else this.overlong++
      start = nl + 1
    }
    if (start < len) {
      if (len - start > this.maxLine) this.overflow()
      else this.tail = Buffer.from(buf.subarray(start)) // copy: do not retain the chunk
    }
  }

  /** Emits a last line without a newline, if any. */
  end(): void {
    if (this.tail !== null) {
      const t = this.tail
      this.tail = null
      this.emit(t, 0, t.length)
    }
    this.skipping = false
  }

  private overflow(): void {
    this.tail = null
    this.skipping = true
    this.overlong++
  }

  private emit(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end-- // CRLF
    this.onLine(buf, start, end)
  }
}
