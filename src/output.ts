// Owns turning rendered text into output bytes. Rendered strings are encoded straight into a Buffer (UTF-8; log
// lines, which are bytes already, as latin1) instead of being joined and encoded per chunk (join and encode took
// a quarter of the time of a --json run). No test for ASCII first: on rendered records, V8's UTF-8 writer is
// faster than a regex test alone (flat JSON lines: 7-14 ms against 34 ms for test + latin1 copy).

import { jsonBytesSafe, escapeJsonText } from './render/escape.js'

const BLOCK = 256 * 1024

/** How rendered text becomes bytes: `utf8`; `latin1`, a string whose chars are the bytes to write (log lines);
 *  `json`, a JSON text without its LF (src/render/json.ts): UTF-8, with the characters JSON.stringify leaves raw
 *  but a terminal would act on escaped (escapeJsonText), and the LF added. */
export type TextEncoding = 'utf8' | 'latin1' | 'json'

export class OutputBuffer {
  private buf: Buffer
  /** buf[start, end) is pushed but not yet taken; what is before start was handed out and is never rewritten. */
  private start = 0
  private end = 0
  private sealed: Buffer[] = []
  /** Bytes pushed since the last take. */
  length = 0
  /** Bytes pushed since the last rewind. */
  private round = 0

  /** Writes into `target` first (the parallel reader's own memory), then into blocks of its own. */
  constructor(target?: Buffer) {
    this.buf = target ?? Buffer.allocUnsafe(BLOCK)
  }

  /** Starts over in `target` (or the current block): everything taken before has been consumed, so its memory
   *  is written again. The parallel reader's buffers are reused this way instead of being garbage. */
  rewind(target?: Buffer): void {
    if (target !== undefined) this.buf = target
    // What overflowed into further blocks fits next time: one block of the size the last round needed.
    else if (this.round > this.buf.length) this.buf = Buffer.allocUnsafe(this.round + (this.round >> 2))
    this.round = 0
    this.start = this.end = 0
    this.sealed = []
    this.length = 0
  }

  /** Adds rendered text, encoded as `enc` says. */
  push(s: string, enc: TextEncoding = 'utf8'): void {
    this.room(s.length * 3 + 1) // worst case for UTF-8: 3 bytes per UTF-16 unit; json's LF
    let n = enc === 'latin1' ? this.buf.latin1Write(s, this.end) : this.buf.utf8Write(s, this.end)
    if (enc === 'json') {
      // Written first, checked in its bytes (a memchr): a regex test of the text was twice the time of the write.
      if (!jsonBytesSafe(this.buf, this.end, n, s.length)) {
        const safe = escapeJsonText(s)
        this.room(safe.length * 3 + 1)
        n = this.buf.utf8Write(safe, this.end)
      }
      this.buf[this.end + n++] = 10
    }
    this.end += n
    this.length += n
    this.round += n
  }

  /** Makes room for `max` more bytes in the current block. */
  private room(max: number): void {
    if (this.end + max <= this.buf.length) return
    this.seal()
    this.buf = Buffer.allocUnsafe(Math.max(BLOCK, max))
    this.start = this.end = 0
  }

  /** For a writer of bytes (src/render/json.ts): the block it writes into, from `at`. */
  get block(): Buffer {
    return this.buf
  }

  get at(): number {
    return this.end
  }

  /** The writer has written block[at, o) and needs room for `need` bytes more: they move to a new block with
   *  room (the bytes before them are sealed); returns where they end in it (now `block`). */
  grow(o: number, need: number): number {
    const part = o - this.end
    const next = Buffer.allocUnsafe(Math.max(BLOCK, 2 * (part + need)))
    this.buf.copy(next, 0, this.end, o)
    this.seal()
    this.buf = next
    this.start = this.end = 0
    return part
  }

  /** The writer's bytes up to `o` of `block` are pushed. */
  commit(o: number): void {
    const n = o - this.end
    this.end = o
    this.length += n
    this.round += n
  }

  /** Adds bytes already encoded (records a worker rendered), copied: the caller may reuse its memory at once. */
  pushBytes(b: Uint8Array): void {
    this.room(b.length)
    this.buf.set(b, this.end)
    this.end += b.length
    this.length += b.length
    this.round += b.length
  }

  /** The bytes pushed since the last take, or null. */
  take(): Buffer | null {
    this.seal()
    this.length = 0
    if (this.sealed.length === 0) return null
    const out = this.sealed.length === 1 ? this.sealed[0] : Buffer.concat(this.sealed)
    this.sealed = []
    return out
  }

  discard(): void {
    this.start = this.end
    this.sealed = []
    this.length = 0
  }

  private seal(): void {
    if (this.end === this.start) return
    this.sealed.push(this.buf.subarray(this.start, this.end))
    this.start = this.end
  }
}

/** Output written from two OutputBuffers in turn: while one's bytes are being written, the other is filled, and
 *  each is reused once its last write is done, so a run allocates no buffer per chunk or block (a new one per
 *  chunk let up to 64 MiB of written-out buffers wait for V8 to collect them). */
export class OutputTurns {
  private readonly bufs = [new OutputBuffer(), new OutputBuffer()]
  private readonly writes: Promise<void>[] = [Promise.resolve(), Promise.resolve()]
  private turn = 0

  /** The buffer being filled. */
  get current(): OutputBuffer {
    return this.bufs[this.turn]
  }

  /** Hands what the current buffer holds to `write` (which resolves when the bytes are written), then waits for the
   *  other buffer's last write and makes it current. With `fresh()` true by then (an interrupted run, whose
   *  writes are no longer waited for), a new buffer takes its place instead of being rewritten. */
  async flush(write: (bytes: Buffer) => Promise<void>, fresh: () => boolean = () => false): Promise<void> {
    const bytes = this.bufs[this.turn].take()
    if (bytes !== null) this.writes[this.turn] = write(bytes)
    this.turn ^= 1
    await this.writes[this.turn]
    if (fresh()) this.bufs[this.turn] = new OutputBuffer()
    else this.bufs[this.turn].rewind()
  }

  /** Resolves when every write handed out is done. */
  async settled(): Promise<void> {
    await Promise.all(this.writes)
  }
}

declare module 'node:buffer' {
  interface Buffer {
    latin1Write(s: string, offset: number): number
    utf8Write(s: string, offset: number): number
  }
}
