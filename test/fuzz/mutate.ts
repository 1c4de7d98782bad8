// Mutations of real captures and the invariants every run must keep, shared by test/fuzz.test.ts (fast-check,
// a bounded number of cases per test run) and scripts/fuzz.mjs (`npm run fuzz -- --minutes N`).

import { Writable, Readable } from 'node:stream'
import { Grouper } from '../../src/group/grouper.js'
import { LegacyGrouper } from '../../src/group/legacy.js'
import { scanLine, TAG_WIDTH, TAG_WIDTH_LEGACY } from '../../src/parse/line.js'
import { LineSplitter } from '../../src/parse/lines.js'
import { buildRecord } from '../../src/vsl/record.js'
import { renderJson } from '../../src/render/json.js'
import { compileCompact } from '../../src/render/compact.js'
import { createPalette } from '../../src/render/palette.js'
import { run } from '../../src/run.js'
import { BinaryScanner, vslVersion } from '../../src/parse/binary.js'
import { DEFAULTS } from '../support.js'

/** What a run writes, kept as text (latin1: one char per byte). */
class TextSink extends Writable {
  text = ''
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.text += c.toString('latin1')
    cb()
  }
}

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'drop-line'; line: number }
  | { kind: 'dup-line'; line: number }
  | { kind: 'shuffle-lines'; seed: number; window: number }
  | { kind: 'concat' }
  | { kind: 'insert'; at: number; text: string }

/** Applies mutations to the bytes of a capture (latin1 string: one char per byte). */
export function mutate(input: string, ms: Mutation[]): string {
  let s = input
  for (const m of ms) {
    const lines = (): string[] => s.split('\n')
    switch (m.kind) {
      case 'truncate':
        s = s.slice(0, m.at % (s.length + 1))
        break
      case 'flip': {
        const i = s.length === 0 ? 0 : m.at % s.length
        s = s.slice(0, i) + String.fromCharCode(m.byte & 0xff) + s.slice(i + 1)
        break
      }
      case 'drop-line': {
        const l = lines()
        l.splice(m.line % Math.max(1, l.length), 1)
        s = l.join('\n')
        break
      }
      case 'dup-line': {
        const l = lines()
        const i = m.line % Math.max(1, l.length)
        l.splice(i, 0, l[i] ?? '')
        s = l.join('\n')
        break
      }
      case 'shuffle-lines': {
        // Swaps lines within a window: interleaves transactions differently (raw layout) or breaks groups.
        const l = lines()
        let x = m.seed | 1
        for (let i = 0; i < l.length; i++) {
          x = (x * 1103515245 + 12345) & 0x7fffffff
          const j = Math.min(l.length - 1, i + (x % Math.max(1, m.window)))
          ;[l[i], l[j]] = [l[j], l[i]]
        }
        s = l.join('\n')
        break
      }
      case 'concat':
        s = s + s
        break
      case 'insert': {
        const i = s.length === 0 ? 0 : m.at % s.length
        s = s.slice(0, i) + m.text + s.slice(i)
        break
      }
    }
  }
  return s
}

/** Lines of text that appear in real life between log lines, or come from clients. */
export const NOISE = [
  'Log overrun',
  'Log reacquired',
  'Log abandoned (vsl)',
  '-   VSL            timeout',
  '-   VSL            store overflow',
  '*   << Request  >> 5',
  '         0 CLI            - Rd ping',
  '-   ReqURL         /\x1b]0;pwned\x07\x1b[2J',
  '\x00\x00\x00',
  '\r',
  '-4- Begin          req 999 esi',
  '   -1 Length       - 3',
]

/** Runs the whole pipeline in-process on `input` (latin1) and checks the invariants; returns what failed. */
export async function check(input: string, opts: { maxPending?: number; timeout?: number } = {}): Promise<string[]> {
  const problems: string[] = []
  // 1. The pure core: every line is counted exactly once, in a transaction or as skipped; nothing throws.
  for (const legacy of [false, true]) {
    let lines = 0
    let emitted = 0
    const limits = { maxPending: opts.maxPending ?? 50, timeout: opts.timeout ?? 120 }
    const g = legacy ? new LegacyGrouper(limits, () => emitted++) : new Grouper(limits, () => emitted++)
    const sp = new LineSplitter((b, s, e) => {
      lines++
      scanLine(b, s, e, g, legacy ? TAG_WIDTH_LEGACY : TAG_WIDTH)
    }, 4096)
    try {
      sp.push(Buffer.from(input, 'latin1'))
      sp.end()
      g.flush('eof')
    } catch (err) {
      problems.push(`${legacy ? 'legacy ' : ''}grouping threw: ${(err as Error).stack}`)
      continue
    }
    const c = g.counts
    const counted = c.tx + c.session + c.nontx + c.blank + c.noise + c.bad
    if (counted !== lines) problems.push(`${legacy ? 'legacy: ' : ''}${lines} lines, ${counted} accounted for (${JSON.stringify(c)})`)
    if (g.pendingCount !== 0) problems.push(`${g.pendingCount} transactions left pending after flush`)
  }
  // 2. Records build and render without throwing; the compact view holds no raw control character.
  const compact = compileCompact({ time: true, reqHeaders: true, respHeaders: true, bereqHeaders: true, berespHeaders: true }, createPalette(false))
  const g = new Grouper({ maxPending: opts.maxPending ?? 50, timeout: 120 }, (tree, inc) => {
    try {
      const rec = buildRecord(tree, inc)
      JSON.parse(renderJson(rec))
      const text = compact(rec)
      if (/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(text)) problems.push(`control character in the compact view: ${JSON.stringify(text)}`)
    } catch (err) {
      problems.push(`record ${tree.vxid} threw: ${(err as Error).stack}`)
    }
  })
  const sp = new LineSplitter((b, s, e) => scanLine(b, s, e, g))
  sp.push(Buffer.from(input, 'latin1'))
  sp.end()
  g.flush('eof')
  // 3. The whole run: exit 0 or 1, no stack trace.
  const sink = new TextSink()
  const err = new TextSink()
  try {
    const code = await run({ ...DEFAULTS, output: 'json', maxPending: opts.maxPending ?? 50 }, { inputs: [{ name: 'fuzz', open: () => Readable.from([Buffer.from(input, 'latin1')]) }], stdout: sink, stderr: err })
    if (code !== 0 && code !== 1) problems.push(`exit ${code}: ${err.text}`)
    if (/\n\s+at /.test(err.text)) problems.push(`stack trace on stderr: ${err.text}`)
  } catch (e) {
    problems.push(`run threw: ${(e as Error).stack}`)
  }
  return problems
}

// ---------------------------------------------------------------------------------------------------------------
// Binary VSL (varnishlog -w files).

export type BinaryMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'word'; at: number; value: number }
  | { kind: 'drop-record'; record: number }
  | { kind: 'dup-record'; record: number }
  | { kind: 'concat' }
  | { kind: 'insert'; at: number; bytes: number[] }

/** Where each record starts in a well-formed file (after its 4-byte header), by lengths alone. */
function recordStarts(b: Buffer): number[] {
  const oh = b[3] === 0x32 ? 12 : 8
  const out: number[] = []
  for (let p = 4; p + oh <= b.length; p += oh + (((b.readUInt32LE(p) & 0xffff) + 3) & ~3)) out.push(p)
  return out
}

/** Applies mutations to a binary file; the header (4 bytes) is kept unless truncated away. */
export function mutateBinary(input: Buffer, ms: BinaryMutation[]): Buffer {
  let b = Buffer.from(input)
  for (const m of ms) {
    const at = (n: number): number => 4 + (b.length <= 4 ? 0 : n % (b.length - 4))
    switch (m.kind) {
      case 'truncate':
        b = b.subarray(0, m.at % (b.length + 1))
        break
      case 'flip':
        if (b.length > 4) b[at(m.at)] = m.byte & 0xff
        break
      case 'word': {
        const i = at(m.at) & ~3
        if (i + 4 <= b.length) b.writeUInt32LE(m.value >>> 0, i)
        break
      }
      case 'drop-record':
      case 'dup-record': {
        const starts = recordStarts(b)
        if (starts.length === 0) break
        const k = m.record % starts.length
        const s = starts[k]
        const e = starts[k + 1] ?? b.length
        b = m.kind === 'drop-record' ? Buffer.concat([b.subarray(0, s), b.subarray(e)]) : Buffer.concat([b.subarray(0, e), b.subarray(s, e), b.subarray(e)])
        break
      }
      case 'concat':
        b = Buffer.concat([b, b])
        break
      case 'insert': {
        const i = at(m.at)
        b = Buffer.concat([b.subarray(0, i), Buffer.from(m.bytes), b.subarray(i)])
        break
      }
    }
  }
  return b
}

/** The invariants for binary input: the scanner and grouper never throw, every record read is counted by the
 *  grouper, nothing stays pending after the end, records build and render with no raw control character, and the
 *  run exits 0 or 1 with no stack trace — saying what it skipped exactly when it skipped something. */
export async function checkBinary(input: Buffer, opts: { maxPending?: number } = {}): Promise<string[]> {
  const problems: string[] = []
  const version = vslVersion(input)
  const compact = compileCompact({ time: true, reqHeaders: true, respHeaders: true, bereqHeaders: true, berespHeaders: true }, createPalette(false))
  if (version === 1 || version === 2) {
    const g = new Grouper({ maxPending: opts.maxPending ?? 50, timeout: 120 }, (tree, inc) => {
      try {
        const rec = buildRecord(tree, inc)
        JSON.parse(renderJson(rec))
        if (/[\x00-\x09\x0b-\x1f\x7f-\x9f]/.test(compact(rec))) problems.push(`control character in the compact view of ${tree.vxid}`)
      } catch (err) {
        problems.push(`record ${tree.vxid} threw: ${(err as Error).stack}`)
      }
    })
    const s = new BinaryScanner(version, g)
    s.onFileHeader = () => g.flush('eof')
    try {
      // In pieces, as chunks arrive: a record cut by a piece's end is given again with the next piece.
      let p = 4
      for (let end = Math.min(input.length, 4 + 777); p < input.length; end = Math.min(input.length, end + 777)) {
        p = s.scan(input, p, end, 0, end === input.length)
        if (end === input.length) break
      }
      g.flush('eof')
    } catch (err) {
      problems.push(`binary scan threw: ${(err as Error).stack}`)
    }
    const c = g.counts
    const counted = c.tx + c.session + c.nontx + c.blank + c.noise + c.bad
    if (counted !== s.records) problems.push(`${s.records} records, ${counted} accounted for (${JSON.stringify(c)})`)
    if (g.pendingCount !== 0) problems.push(`${g.pendingCount} transactions left pending after flush`)
  }
  const out = new TextSink()
  const err = new TextSink()
  try {
    const code = await run({ ...DEFAULTS, output: 'json', summary: true, maxPending: opts.maxPending ?? 50 }, { inputs: [{ name: 'fuzz', open: () => Readable.from([input]) }], stdout: out, stderr: err })
    if (code !== 0 && code !== 1 && !(code === 2 && version === 'unknown')) problems.push(`exit ${code}: ${err.text}`)
    if (/\n\s+at /.test(err.text)) problems.push(`stack trace on stderr: ${err.text}`)
    const skipped = / ([1-9]\d*) unparseable/.test(err.text)
    if ((version === 1 || version === 2) && skipped !== /skipped, not records/.test(err.text)) problems.push(`bad bytes counted but not said, or said but not counted: ${err.text}`)
  } catch (e) {
    problems.push(`run threw: ${(e as Error).stack}`)
  }
  return problems
}
