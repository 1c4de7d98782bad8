// Owns reading an input: a file path or a stream in, Buffer chunks out, gunzipped when the data starts with the
// gzip magic bytes. Plain files are read with one reused buffer (no stream machinery, no garbage per chunk): the
// line splitter copies what it keeps, so a chunk need only be valid until the next one is read.

import { open } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { Readable, pipeline } from 'node:stream'

export interface Input {
  /** Shown in messages: the path, or `-` for stdin. */
  name: string
  /** A file to read (the fast path). */
  path?: string
  /** Otherwise a stream (stdin, tests). */
  open?: () => Readable
}

const CHUNK = 256 * 1024

/** The input's chunks. `onStream` receives a stream being read, so that Ctrl-C can destroy it. */
export async function* chunksOf(input: Input, onStream: (s: Readable) => void): AsyncGenerator<Buffer> {
  if (input.path === undefined) {
    const s = input.open!()
    onStream(s)
    yield* decompressed(s)
    return
  }
  const fh = await open(input.path, 'r')
  try {
    // Two buffers: the next read runs while the current chunk is being parsed.
    let cur = Buffer.allocUnsafe(CHUNK)
    let next = Buffer.allocUnsafe(CHUNK)
    let n = (await fh.read(cur, 0, CHUNK, null)).bytesRead
    if (n >= 2 && cur[0] === 0x1f && cur[1] === 0x8b) {
      const s = createReadStream(input.path)
      onStream(s)
      yield* decompressed(s)
      return
    }
    while (n > 0) {
      const pending = fh.read(next, 0, CHUNK, null)
      // Nothing is left unobserved if the consumer stops early: the finally below waits for it.
      pending.catch(() => {})
      try {
        yield cur.subarray(0, n)
      } finally {
        n = (await pending).bytesRead
      }
      ;[cur, next] = [next, cur]
    }
  } finally {
    await fh.close()
  }
}

/** Chunks of a stream, gunzipped when it starts with the gzip magic bytes. */
async function* decompressed(src: Readable): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  let head: Buffer = Buffer.alloc(0)
  while (head.length < 2) {
    const r = await it.next()
    if (r.done) break
    head = head.length === 0 ? r.value : Buffer.concat([head, r.value])
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    const { createGunzip } = await import('node:zlib') // only for gzip input: not at every start-up
    const gz = pipeline(Readable.from(rest(head, it), { objectMode: false }), createGunzip(), () => {})
    for await (const c of gz) yield c as Buffer
    return
  }
  if (head.length > 0) yield head
  for (;;) {
    const r = await it.next()
    if (r.done) return
    yield r.value
  }
}

async function* rest(head: Buffer, it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield head
  for (;;) {
    const r = await it.next()
    if (r.done) return
    yield r.value
  }
}
