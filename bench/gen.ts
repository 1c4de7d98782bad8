// Owns the bench inputs: a real capture from fixtures/ repeated N times, with every vxid and every absolute Timestamp
// shifted per repetition so transactions stay unique and in order. Fixture text in (read as latin1, so non-ASCII
// bytes pass through untouched), a file in bench/data/ out, written one repetition at a time (never held whole).
//
//   node dist/bench/gen.js --input vxid|raw|raw-unfinished [--size 1G] [--out FILE]
//
// The capture is compiled once into a template (literal text + slots); each repetition only formats the slots.
// Rendering repetition 0 with no shift must reproduce the fixture byte for byte: that is checked every time.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Bumped whenever the output for the same arguments changes, so cached files in bench/data are regenerated. */
export const GENERATOR_VERSION = 2

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
export const DATA_DIR = join(REPO, 'bench', 'data')

// ---------------------------------------------------------------------------------------------------------------
// Domain facts: where vxids and absolute times hide in varnishlog text (Varnish 4–7).

/** Tags whose data holds a vxid, and the index of that space-separated field. A 0 is "no parent" and stays 0. */
const VXID_FIELDS: ReadonlyMap<string, number> = new Map([
  ['Begin', 1], //     Begin req <parent vxid> rxreq
  ['Link', 1], //      Link bereq <child vxid> fetch
  ['Hit', 0], //       Hit <object vxid> <ttl> <grace> <keep>
  ['HitMiss', 0], //   HitMiss <object vxid> <ttl>
  ['HitPass', 0], //   HitPass <object vxid> <ttl>
  ['ExpBan', 0], //    ExpBan <object vxid> banned lookup
])

/** Header tags whose `X-Varnish: <vxid> [<object vxid>]` values are vxids too. */
const HEADER_TAG = /^(Req|Resp|Bereq|Beresp|Obj)(Header|Unset)$/
const X_VARNISH = /^X-Varnish:/i

/** `Timestamp <Label>: <absolute> <since start> <since last>`: only the first number is absolute. Other absolute
 *  times (SessOpen's, CLI's) are left as they are: vlogdump does not read them. */
const TIMESTAMP = 'Timestamp'

// ---------------------------------------------------------------------------------------------------------------
// Layouts: how a line of a given varnishlog rendering splits into prefix / tag / data, and where its vxid column is.
// Extension point: the Varnish 2/3 "legacy interleaved" layout (`%5d %-12s %c %s`, vxid column right-justified in
// 5, session and backend fds instead of vxids) gets its own LayoutRule here and an entry in INPUTS below.

/** A place in a line whose text depends on the repetition. */
type Slot =
  | { kind: 'vxid'; id: number; align: 'none' | 'left' | 'right'; width: number }
  | { kind: 'seconds'; base: number }

/** One line, split into literal text around slots: parts.length === slots.length + 1. */
interface LineTemplate {
  parts: string[]
  slots: Slot[]
  /** The line's own vxid (raw layout) and tag, for variants that drop lines. */
  vxid: number
  tag: string
}

interface LayoutRule {
  name: string
  /** Splits `line` into templates; `vxidId` maps a base vxid to a dense id (shared by the whole capture). */
  compileLine(line: string, vxidId: (v: number) => number): LineTemplate
}

/** A template builder: literal text and slots, appended left to right. */
class LineBuilder {
  parts: string[] = ['']
  slots: Slot[] = []
  text(s: string): void {
    this.parts[this.parts.length - 1] += s
  }
  slot(s: Slot): void {
    this.slots.push(s)
    this.parts.push('')
  }
  done(vxid: number, tag: string): LineTemplate {
    return { parts: this.parts, slots: this.slots, vxid, tag }
  }
}

/** Adds the record data of `tag` to `b`, with its vxids and absolute time as slots. */
function compileData(b: LineBuilder, tag: string, data: string, vxidId: (v: number) => number): void {
  const field = VXID_FIELDS.get(tag)
  if (field !== undefined) {
    const f = data.split(' ')
    const v = f[field]
    if (v !== undefined && /^[1-9][0-9]*$/.test(v)) {
      b.text(f.slice(0, field).map((x) => x + ' ').join(''))
      b.slot({ kind: 'vxid', id: vxidId(+v), align: 'none', width: 0 })
      b.text(f.slice(field + 1).map((x) => ' ' + x).join(''))
      return
    }
  } else if (tag === TIMESTAMP) {
    // `Start: 1795459767.841077 0.000000 0.000000`: shift by whole seconds, so only the integer part changes.
    const m = /^([A-Za-z_]+: )([0-9]+)(\..*)$/.exec(data)
    if (m !== null) {
      b.text(m[1])
      b.slot({ kind: 'seconds', base: +m[2] })
      b.text(m[3])
      return
    }
  } else if (HEADER_TAG.test(tag) && X_VARNISH.test(data)) {
    const colon = data.indexOf(':') + 1
    b.text(data.slice(0, colon))
    // Keep the exact spacing: each run of digits is a vxid.
    for (const m of data.slice(colon).matchAll(/([^0-9]*)([0-9]+)/g)) {
      b.text(m[1])
      b.slot({ kind: 'vxid', id: vxidId(+m[2]), align: 'none', width: 0 })
    }
    b.text(data.slice(colon).replace(/^.*[0-9]/, ''))
    return
  }
  b.text(data)
}

const TAG_WIDTH = 14

/** Start of the data after a tag padded to 14 columns and one space (the data itself may start with a space). */
function dataStart(line: string, tagStart: number): { tag: string; at: number } | undefined {
  const m = /^[A-Za-z][A-Za-z0-9_]*/.exec(line.slice(tagStart))
  if (m === null) return undefined
  const tagEnd = tagStart + m[0].length
  return { tag: m[0], at: Math.max(tagEnd, tagStart + TAG_WIDTH) + 1 }
}

/** `-g vxid` (default grouping): `*   << Request  >> 5         ` headers, `-   Tag            data` records. */
const GROUPED: LayoutRule = {
  name: 'vxid',
  compileLine(line, vxidId) {
    const b = new LineBuilder()
    const h = /^(\*+ +<< [A-Za-z]+ +>> )([0-9]+)( *)$/.exec(line)
    if (h !== null) {
      // varnishlog prints the header vxid as %-10u: left-justified with trailing spaces.
      b.text(h[1])
      const v = +h[2]
      b.slot({ kind: 'vxid', id: vxidId(v), align: 'left', width: h[2].length + h[3].length })
      return b.done(v, '')
    }
    const r = /^-+ +/.exec(line)
    if (r !== null) {
      const d = dataStart(line, r[0].length)
      if (d !== undefined && line.length >= d.at) {
        b.text(line.slice(0, d.at))
        compileData(b, d.tag, line.slice(d.at), vxidId)
        return b.done(-1, d.tag)
      }
    }
    b.text(line) // blank separators, anything unexpected
    return b.done(-1, '')
  },
}

/** `-g raw`: `%10u %-14s %c %s`, the vxid column right-justified in 10. */
const RAW: LayoutRule = {
  name: 'raw',
  compileLine(line, vxidId) {
    const b = new LineBuilder()
    const m = /^( *)([0-9]+) /.exec(line)
    if (m !== null) {
      const v = +m[2]
      const d = dataStart(line, m[0].length)
      // data = side marker, space, record data
      if (d !== undefined && line.length >= d.at + 1) {
        if (v === 0) b.text(line.slice(0, m[0].length)) // vxid 0: non-transactional records, not shifted
        else b.slot({ kind: 'vxid', id: vxidId(v), align: 'right', width: m[1].length + m[2].length })
        if (v !== 0) b.text(' ')
        b.text(line.slice(m[0].length, d.at + 2))
        compileData(b, d.tag, line.slice(d.at + 2), vxidId)
        return b.done(v, d.tag)
      }
    }
    b.text(line)
    return b.done(-1, '')
  },
}

/** Varnish 2.1/3.0 (`%5d %-12s %c %s`): the first column is an fd, not an id, and stays; xids live in the data
 *  (ReqStart's third field, ReqEnd's first, BackendXID, TTL's and Hit's first, X-Varnish headers) and absolute
 *  times in ReqEnd's second and third fields (9 decimals: only the integer part changes). */
const LEGACY_XID_FIELDS: ReadonlyMap<string, number> = new Map([
  ['ReqStart', 2],
  ['ReqEnd', 0],
  ['BackendXID', 0],
  ['TTL', 0],
  ['Hit', 0],
  ['HitPass', 0],
])

const LEGACY: LayoutRule = {
  name: 'legacy',
  compileLine(line, vxidId) {
    const b = new LineBuilder()
    const m = /^( *-?[0-9]+ )([A-Za-z_]+)( +[cb-] )(.*)$/.exec(line)
    if (m === null) {
      b.text(line)
      return b.done(-1, '')
    }
    const [, head, tag, mid, data] = m
    b.text(head + tag + mid)
    const field = LEGACY_XID_FIELDS.get(tag)
    if (field !== undefined) {
      const f = data.split(' ')
      f.forEach((x, i) => {
        if (i > 0) b.text(' ')
        if (i === field && /^[1-9][0-9]*$/.test(x)) b.slot({ kind: 'vxid', id: vxidId(+x), align: 'none', width: 0 })
        else if (tag === 'ReqEnd' && (i === 1 || i === 2) && /^[0-9]+\.[0-9]+$/.test(x)) {
          const dot = x.indexOf('.')
          b.slot({ kind: 'seconds', base: +x.slice(0, dot) })
          b.text(x.slice(dot))
        } else b.text(x)
      })
    } else if (/^(Tx|Rx)Header$/.test(tag) && X_VARNISH.test(data)) {
      const colon = data.indexOf(':') + 1
      b.text(data.slice(0, colon))
      for (const x of data.slice(colon).matchAll(/([^0-9]*)([0-9]+)/g)) {
        b.text(x[1])
        b.slot({ kind: 'vxid', id: vxidId(+x[2]), align: 'none', width: 0 })
      }
      b.text(data.slice(colon).replace(/^.*[0-9]/, ''))
    } else b.text(data)
    return b.done(-1, tag)
  },
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs: a layout, its fixture, and an optional variant. This is the table to extend.

export interface InputSpec {
  name: string
  fixture: string
  layout: LayoutRule
  /** Every `dropEndEvery`-th transaction (in order of first appearance, counted across repetitions) loses its End
   *  line, so it never finishes: 10 means 10% unfinished. Raw layout only (the End line carries its vxid). */
  dropEndEvery?: number
}

export const INPUTS: Readonly<Record<string, InputSpec>> = {
  vxid: { name: 'vxid', fixture: 'fixtures/varnish-7.1/small.vxid.log', layout: GROUPED },
  raw: { name: 'raw', fixture: 'fixtures/varnish-7.1/small.raw.log', layout: RAW },
  'raw-unfinished': { name: 'raw-unfinished', fixture: 'fixtures/varnish-7.1/small.raw.log', layout: RAW, dropEndEvery: 10 },
  legacy: { name: 'legacy', fixture: 'fixtures/varnish-3.0.7/varnish-3.0.7.log', layout: LEGACY },
}

// ---------------------------------------------------------------------------------------------------------------
// The compiled capture.

interface Capture {
  lines: LineTemplate[]
  /** Base vxid of each dense id. */
  vxids: number[]
  /** Added to every vxid per repetition: above the capture's largest vxid, rounded up to varnishd's 32768 blocks. */
  vxidShift: number
  /** Added to every Timestamp per repetition: the capture's duration, rounded up to whole seconds. */
  secondsShift: number
  /** Client requests per repetition (`Begin req … rxreq`): the records vlogdump must print. */
  clientRequests: number
  /** Per transaction (by order of first appearance, vxid 0 excluded): its vxid and its client request tree's root
   *  vxid (-1 for sessions, which are no part of a record). */
  txOrder: number[]
  rootOf: Map<number, number>
  bytes: number
}

export function compileCapture(spec: InputSpec): Capture {
  const text = readFileSync(join(REPO, spec.fixture), 'latin1')
  const ids = new Map<number, number>()
  const vxids: number[] = []
  const vxidId = (v: number): number => {
    let id = ids.get(v)
    if (id === undefined) {
      id = vxids.length
      vxids.push(v)
      ids.set(v, id)
    }
    return id
  }
  const raw = text.split('\n')
  // A final newline leaves one empty string after the split; it is no line.
  if (raw[raw.length - 1] === '') raw.pop()
  else throw new Error(`${spec.fixture}: does not end with a newline`)
  const lines = raw.map((l) => spec.layout.compileLine(l, vxidId))

  // The capture's duration, from its Timestamps (ReqEnd times in 2.1/3.0), in whole microseconds.
  let minUs = Infinity
  let maxUs = -Infinity
  const times = /Timestamp +(?:[cb-] )?[A-Za-z_]+: ([0-9]+)\.([0-9]{6})[0-9]* |ReqEnd +c [0-9]+ ([0-9]+)\.([0-9]{6})[0-9]* ([0-9]+)\.([0-9]{6})/g
  for (const m of text.matchAll(times)) {
    for (const [s, f] of m[1] !== undefined ? [[m[1], m[2]]] : [[m[3], m[4]], [m[5], m[6]]]) {
      const us = +s * 1e6 + +f
      minUs = Math.min(minUs, us)
      maxUs = Math.max(maxUs, us)
    }
  }
  if (!(maxUs >= minUs)) throw new Error(`${spec.fixture}: no Timestamp records`)
  const maxVxid = Math.max(...vxids)
  const capture: Capture = {
    lines,
    vxids,
    // 2.1/3.0 xids are one counter: shift by the capture's range. 4-7 vxids come in blocks of 32768 per thread.
    vxidShift: spec.layout === LEGACY ? maxVxid - Math.min(...vxids) + 1 : Math.ceil((maxVxid + 1) / 32768) * 32768,
    // Whole seconds (only the integer part of a time changes), strictly more than the duration, so repetition k+1
    // starts after repetition k ended.
    secondsShift: Math.floor((maxUs - minUs) / 1e6) + 1,
    clientRequests: 0,
    txOrder: [],
    rootOf: new Map(),
    bytes: Buffer.byteLength(text, 'latin1'),
  }
  treesOf(text, capture, spec.layout === LEGACY)

  // Rendering repetition 0 must give back the fixture exactly, or a slot was misplaced.
  const back = render(capture, 0, () => true)
  if (back !== text) {
    const a = back.split('\n')
    const i = raw.findIndex((l, n) => l !== a[n])
    throw new Error(`${spec.fixture}: template does not reproduce line ${i + 1}:\n  ${raw[i]}\n  ${a[i]}`)
  }
  return capture
}

/** Finds, from Begin and Link records, each transaction's client request tree (root = the `rxreq` request). */
function treesOf(text: string, c: Capture, legacy: boolean): void {
  const parent = new Map<number, number>()
  const kind = new Map<number, string>()
  const seen = new Set<number>()
  // Only the raw layout says whose record a line is; the grouped one says it in the header.
  let current = -1
  for (const line of text.split('\n')) {
    let vxid = current
    let rest = ''
    const h = /^\*+ +<< [A-Za-z]+ +>> ([0-9]+)/.exec(line)
    if (h !== null) {
      current = +h[1]
      vxid = current
    } else {
      const r = /^ *([0-9]+) ([A-Za-z_]+) +[cb-] (.*)$/.exec(line) ?? /^-+ +([A-Za-z_]+) +(.*)$/.exec(line)
      if (r === null) continue
      if (r.length === 4) {
        vxid = +r[1]
        rest = r[2] + ' ' + r[3]
      } else rest = r[1] + ' ' + r[2]
    }
    if (vxid <= 0) continue
    if (!seen.has(vxid)) {
      seen.add(vxid)
      c.txOrder.push(vxid)
    }
    // Varnish 2.1/3.0: one request per ReqStart. 4-7 log ReqStart in every request (ESI and restarts too): there
    // a client request is a `Begin req … rxreq`.
    if (legacy && /^ReqStart /.test(rest)) c.clientRequests++
    const b = /^Begin +(sess|req|bereq) ([0-9]+) (\S+)/.exec(rest)
    if (b !== null) {
      kind.set(vxid, b[1])
      if (b[1] === 'req' && b[3] === 'rxreq') c.clientRequests++
      else if (b[1] !== 'sess') parent.set(vxid, +b[2])
    }
  }
  for (const v of c.txOrder) {
    let r = kind.get(v) === 'sess' ? -1 : v
    for (let n = 0; r >= 0 && parent.has(r) && n < 100; n++) r = parent.get(r)!
    c.rootOf.set(v, r)
  }
}

/** One repetition of the capture as text. `keep(line)` may drop lines (for variants). */
function render(c: Capture, rep: number, keep: (l: LineTemplate) => boolean, count = { lines: 0 }): string {
  const plain: string[] = c.vxids.map((v) => String(v + rep * c.vxidShift))
  const out: string[] = []
  const dSec = rep * c.secondsShift
  for (const l of c.lines) {
    if (!keep(l)) continue
    count.lines++
    const { parts, slots } = l
    out.push(parts[0])
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i]
      if (s.kind === 'seconds') out.push(String(s.base + dSec))
      else if (s.align === 'none') out.push(plain[s.id])
      else if (s.align === 'left') out.push(plain[s.id].padEnd(s.width))
      else out.push(plain[s.id].padStart(s.width))
      out.push(parts[i + 1])
    }
    out.push('\n')
  }
  return out.join('')
}

// ---------------------------------------------------------------------------------------------------------------
// Generation.

export interface GenMeta {
  generator: number
  input: string
  fixture: string
  size: string
  repetitions: number
  bytes: number
  lines: number
  vxidShift: number
  secondsShift: number
  /** What vlogdump must report for this file with the default options (-L 10000 -T 120). */
  expect: { records: number; incomplete: number; unfinishedTransactions: number }
}

/** `200M`, `1G`, `4G`, `512K` (binary units) or a plain byte count. */
export function parseSize(s: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)([KMGT]?)i?B?$/i.exec(s.trim())
  if (m === null) throw new Error(`--size: expected e.g. 200M, 1G, 4G; got '${s}'`)
  const mult = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G' | 'T']
  return Math.round(+m[1] * mult)
}

export function dataPath(input: string, size: string): string {
  return join(DATA_DIR, `${input}-${size.toUpperCase()}.log`)
}

/** The generated file for (input, size), made if missing or stale. Returns its path and metadata. */
export function ensureInput(input: string, size: string, log: (s: string) => void = () => {}): { path: string; meta: GenMeta; generated: boolean; seconds: number } {
  const path = dataPath(input, size)
  const metaPath = path + '.meta.json'
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as GenMeta
    if (meta.generator === GENERATOR_VERSION && statSync(path).size === meta.bytes) return { path, meta, generated: false, seconds: 0 }
  }
  const t0 = process.hrtime.bigint()
  log(`gen: ${basename(path)} …`)
  const meta = generate(input, size, path)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  log(` ${(meta.bytes / 1e6).toFixed(0)} MB, ${meta.repetitions} repetitions, ${seconds.toFixed(1)} s\n`)
  writeFileSync(metaPath, JSON.stringify(meta, null, 2) + '\n')
  return { path, meta, generated: true, seconds }
}

/** Writes `input` repeated up to `size` to `path` (through a temporary file, renamed when complete). */
export function generate(input: string, size: string, path: string): GenMeta {
  const spec = INPUTS[input]
  if (spec === undefined) throw new Error(`unknown input '${input}' (known: ${Object.keys(INPUTS).join(', ')})`)
  const c = compileCapture(spec)
  const repetitions = Math.max(1, Math.ceil(parseSize(size) / c.bytes))
  const every = spec.dropEndEvery ?? 0
  const perRep = c.txOrder.length
  const ordinal = new Map(c.txOrder.map((v, i) => [v, i]))
  const dropped = (rep: number, vxid: number): boolean => every > 0 && (rep * perRep + ordinal.get(vxid)!) % every === every - 1

  mkdirSync(dirname(path), { recursive: true })
  const tmp = path + '.tmp'
  const fd = openSync(tmp, 'w')
  let bytes = 0
  let lines = 0
  let incomplete = 0
  let unfinished = 0
  try {
    for (let rep = 0; rep < repetitions; rep++) {
      let keep: (l: LineTemplate) => boolean = () => true
      if (every > 0) {
        const roots = new Set<number>()
        for (const v of c.txOrder) {
          if (!dropped(rep, v)) continue
          unfinished++
          const r = c.rootOf.get(v)!
          if (r >= 0) roots.add(r)
        }
        incomplete += roots.size
        keep = (l) => !(l.tag === 'End' && l.vxid > 0 && dropped(rep, l.vxid))
      }
      const count = { lines: 0 }
      const buf = Buffer.from(render(c, rep, keep, count), 'latin1')
      for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off)
      bytes += buf.length
      lines += count.lines
    }
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  return {
    generator: GENERATOR_VERSION,
    input,
    fixture: spec.fixture,
    size: size.toUpperCase(),
    repetitions,
    bytes,
    lines,
    vxidShift: c.vxidShift,
    secondsShift: c.secondsShift,
    expect: { records: c.clientRequests * repetitions, incomplete, unfinishedTransactions: unfinished },
  }
}

// ---------------------------------------------------------------------------------------------------------------

function main(argv: string[]): void {
  let input = 'vxid'
  let size = '1G'
  let out: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--input') input = argv[++i]
    else if (a === '--size') size = argv[++i]
    else if (a === '--out') out = argv[++i]
    else {
      process.stderr.write(`usage: gen.js [--input ${Object.keys(INPUTS).join('|')}] [--size 1G] [--out FILE]\n`)
      process.exitCode = 2
      return
    }
  }
  parseSize(size)
  if (out !== undefined) {
    const meta = generate(input, size, out)
    writeFileSync(out + '.meta.json', JSON.stringify(meta, null, 2) + '\n')
    process.stdout.write(JSON.stringify(meta) + '\n')
  } else {
    const r = ensureInput(input, size, (s) => process.stderr.write(s))
    process.stdout.write(r.path + '\n')
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2))
