// Test helpers: paths into the repo, and run() in-process over fixture files with a string sink.

import { accessSync, constants as fsConstants, createReadStream, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { Grouper } from '../src/group/grouper.js'
import { LayoutSniffer } from '../src/parse/layout.js'
import { parseLine } from '../src/parse/line.js'
import { buildRecord } from '../src/vsl/record.js'
import { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { Options } from '../src/args.js'
import { NO_FILTERS } from '../src/filter/flags.js'
import { run, type Input, type RunSettings } from '../src/run.js'
import type { ClientRecord } from '../src/vsl/types.js'
import type { RecordSink } from '../src/sink/sink.js'

/** Absolute path of a file in the repository (tests run from dist/test). */
/** A line of varnishlog's raw layout (`%10u %-14s %c %s`), client side. */
export const rawRec = (vxid: number, tag: string, data: string): string => `${String(vxid).padStart(10)} ${tag.padEnd(14)} c ${data}`

export function repoPath(rel: string): string {
  return fileURLToPath(new URL(`../../${rel}`, import.meta.url))
}

export const DEFAULTS: RunSettings = {
  files: [],
  output: 'compact',
  format: null,
  time: false,
  limit: null,
  instance: null,
  vslFile: null,
  viaVarnishlog: false,
  dump: false,
  stats: 'off',
  reqHeaders: false,
  respHeaders: false,
  bereqHeaders: false,
  berespHeaders: false,
  color: 'never',
  maxPending: 10000,
  timeout: 120,
  threads: 1,
  inputFormat: 'auto',
  summary: false,
  filters: NO_FILTERS,
  queries: [],
  queryFiles: [],
  caseless: false,
  top: null,
  clickhouse: null,
  printRecords: true,
  useColor: false,
}

export class Sink extends Writable {
  text = ''
  chunks: Buffer[] = []
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString('utf8')
    // A copy: once a write is done its memory may be reused (the parallel reader writes from two buffers in turn).
    this.chunks.push(Buffer.from(chunk))
    cb()
  }
}

export interface RunResult {
  code: number
  stdout: string
  /** stdout as the bytes written. */
  bytes: Buffer
  stderr: string
}

/** Runs vlogdump in-process on files (repo-relative paths) or on literal text inputs. */
export async function runOn(inputs: Array<{ file: string } | { text: string | Buffer }>, opts: Partial<Options & RunSettings> = {}, sink?: RecordSink): Promise<RunResult> {
  const stdout = new Sink()
  const stderr = new Sink()
  const ins: Input[] = inputs.map((i, n) =>
    'file' in i
      ? { name: i.file, open: () => createReadStream(repoPath(i.file)) }
      : { name: `text${n}`, open: () => Readable.from([Buffer.isBuffer(i.text) ? i.text : Buffer.from(i.text, 'latin1')]) },
  )
  const code = await run({ ...DEFAULTS, ...opts }, { inputs: ins, stdout, stderr, sink })
  return { code, stdout: stdout.text, bytes: Buffer.concat(stdout.chunks), stderr: stderr.text }
}

/** JSON records of a run. */
export async function recordsOf(inputs: Parameters<typeof runOn>[0], opts: Partial<Options & RunSettings> = {}): Promise<ClientRecord[]> {
  const r = await runOn(inputs, { ...opts, output: 'json' })
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ClientRecord)
}

/** Text input from lines (joined with \n, with a final newline). */
export function lines(...ls: string[]): { text: string } {
  return { text: ls.join('\n') + '\n' }
}

/** Every record of a capture file, built in-process with its transaction tree (for the query language and
 *  format tests, which need `tree`), once per file. */
const built = new Map<string, ClientRecord[]>()
export function recordsInFile(file: string): ClientRecord[] {
  let recs = built.get(file)
  if (recs === undefined) {
    const list: ClientRecord[] = []
    const g = new Grouper({ maxPending: 10000, timeout: 0, slowest: true }, (tree, inc) => list.push(buildRecord(tree, inc)))
    const text = readFileSync(repoPath(file))
    // As the run does: the layout from the first lines.
    const sniffer = new LayoutSniffer()
    sniffer.sniff(text)
    g.vxidLayout = sniffer.layout === 'vxid'
    for (const line of text.toString('latin1').split('\n')) g.push(parseLine(line))
    g.flush('eof')
    built.set(file, (recs = list))
  }
  return recs
}

/** Whether an executable of this name is on PATH (the live tests skip without varnishd, tmux, clickhouse-server). */
export function onPath(cmd: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, cmd), fsConstants.X_OK)
      return true
    } catch {
      /* not here */
    }
  }
  return false
}

/** mulberry32: a small deterministic PRNG, so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
