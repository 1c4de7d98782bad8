// Owns reading one input in this thread: its chunks (gunzipped when they are gzip), to the reader its first bytes
// call for — binary VSL (a `varnishlog -w` file) or text (any varnishlog layout) — until the end or until the run
// halts. Errors are reported, and what was read is counted either way.

import { chunksOf, type Input } from '../input.js'
import type { EmitFn, Grouper, GrouperOptions } from '../group/grouper.js'
import type { LegacyGrouper } from '../group/legacy.js'
import type { InputFormat } from '../parse/layout.js'
import { vslVersion } from '../parse/binary.js'
import { BinaryReader } from './binary-input.js'
import type { Progress } from './progress.js'
import { describeReadError, type RunState } from './state.js'
import { TextReader } from './text-input.js'

export interface InputContext {
  format: InputFormat
  limits: GrouperOptions
  emit: EmitFn
  state: RunState
  /** Hands on what a chunk rendered (stdout, and a sink); resolves when the next chunk may be read. */
  out: { flush(): Promise<void> }
  progress: Progress | null
}

/** One input's reader: chunks in (each valid until the next is asked for), groups out to ctx.emit. */
export interface ChunkReader {
  push(chunk: Buffer): Promise<void>
  /** The input ended: what is left of it is read. */
  end(): void
  /** After the end, or a read error, or Ctrl-C: what is pending is settled and the tallies handed over. */
  finish(): void
}

export async function readInput(input: Input, ctx: InputContext): Promise<void> {
  const { state } = ctx
  let reader: ChunkReader | null = null
  try {
    // The first bytes say which reader: four of them at least (a stream may give fewer at first).
    let head: Buffer | null = null
    for await (const chunk of chunksOf(input, (s) => (state.current = s))) {
      let bytes = chunk
      if (reader === null) {
        head = head === null ? chunk : Buffer.concat([head, chunk])
        if (head.length < 4) {
          head = Buffer.from(head) // kept past this chunk, whose memory is reused
          continue
        }
        reader = chooseReader(head, input.name, ctx)
        bytes = head
      }
      await reader.push(bytes)
      if (state.halted) break
    }
    if (reader === null && head !== null) await (reader = chooseReader(head, input.name, ctx)).push(head)
    if (!state.interrupted) reader?.end()
  } catch (err) {
    if (!state.interrupted) state.fail(describeReadError(input.name, err))
  } finally {
    state.current?.destroy()
    state.current = null
  }
  reader?.finish()
  await ctx.out.flush()
}

/** What a reader does at the end of its input (or after a read error): what is still pending is emitted as
 *  incomplete (eof) — on Ctrl-C or -k only what is decided is printed, and what is pending is counted — and the
 *  input's tallies go to the run's. */
export function settleInput(ctx: InputContext, grouper: Grouper | LegacyGrouper, read: { lines: number; overlong: number; rejected: number }): void {
  const { state } = ctx
  const early = state.interrupted || state.limited
  const pending = early ? grouper.pendingCount : 0
  if (!early) grouper.flush('eof')
  state.addTotals({ records: 0, shown: 0, backendOnly: 0, incomplete: {}, counts: grouper.counts, pending, ...read })
}

function chooseReader(first: Buffer, name: string, ctx: InputContext): ChunkReader {
  const v = vslVersion(first)
  if (v === null) return new TextReader(ctx)
  return new BinaryReader(ctx, name, first)
}
