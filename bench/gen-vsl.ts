// Owns the binary bench input: fixtures/varnish-7.1/small.vsl (a real varnishlog -w file) repeated up to a size,
// each repetition with its vxids shifted (in the record headers, and where the data names a vxid: Begin, Link,
// Hit*, X-Varnish) and its Timestamps moved on by the capture's duration — so that every repetition is new
// traffic, as a day of it would be. Vxids wrap in their 30 bits as varnishd's do (VSL\0 files, which the installed
// varnishlog 7.1 reads too).

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { TAGS_VSL1 } from '../src/vsl/binary-tags.js'
import { DATA_DIR, REPO, parseSize, type GenMeta } from './gen.js'

const FIXTURE = 'fixtures/varnish-7.1/small.vsl'
const GENERATOR_VERSION = 1
const VXID_MAX = 0x3fffffff
const VXID_FIELDS = new Map([
  ['Begin', 1],
  ['Link', 1],
  ['Hit', 0],
  ['HitMiss', 0],
  ['HitPass', 0],
  ['ExpBan', 0],
])
const X_VARNISH = /^(Req|Resp|Bereq|Beresp|Obj)(Header|Unset)$/

/** One record of the capture: its header words' fixed parts, and its data as parts around the slots that change. */
interface Rec {
  tag: number
  marks: number
  vxid: number
  /** Data (NUL included) when no slot changes with the repetition. */
  fixed: Buffer | null
  parts: string[]
  slots: Array<{ kind: 'vxid'; base: number } | { kind: 'seconds'; base: number; digits: number }>
}

function compile(src: Buffer): { recs: Rec[]; maxVxid: number; seconds: [number, number] } {
  const recs: Rec[] = []
  let maxVxid = 0
  let tmin = Infinity
  let tmax = 0
  for (let p = 4; p + 8 <= src.length; ) {
    const w0 = src.readUInt32LE(p)
    const w1 = src.readUInt32LE(p + 4)
    const len = w0 & 0xffff
    const tag = w0 >>> 24
    const vxid = w1 & VXID_MAX
    const data = src.subarray(p + 8, p + 8 + len)
    p += 8 + ((len + 3) & ~3)
    maxVxid = Math.max(maxVxid, vxid)
    const name = TAGS_VSL1[tag] ?? ''
    const text = data.toString('latin1').replace(/\0$/, '')
    const rec: Rec = { tag, marks: w1 >>> 30, vxid, fixed: data, parts: [text], slots: [] }
    const field = VXID_FIELDS.get(name)
    if (field !== undefined) vxidField(rec, text, field)
    else if (X_VARNISH.test(name) && /^X-Varnish:/i.test(text)) xVarnish(rec, text)
    else if (name === 'Timestamp') {
      const m = /^([^ ]+ )(\d+)(\.\d+)( .*)$/.exec(text)
      if (m !== null) {
        rec.parts = [m[1], m[3] + m[4]]
        rec.slots = [{ kind: 'seconds', base: Number(m[2]), digits: m[2].length }]
        tmin = Math.min(tmin, Number(m[2]))
        tmax = Math.max(tmax, Number(m[2]))
      }
    }
    if (rec.slots.length > 0) rec.fixed = null
    recs.push(rec)
  }
  return { recs, maxVxid, seconds: [tmin, tmax] }
}

function vxidField(rec: Rec, text: string, field: number): void {
  const f = text.split(' ')
  const v = Number(f[field])
  if (!(v > 0)) return
  rec.parts = [f.slice(0, field).join(' ') + (field > 0 ? ' ' : ''), (f.length > field + 1 ? ' ' : '') + f.slice(field + 1).join(' ')]
  rec.slots = [{ kind: 'vxid', base: v }]
}

function xVarnish(rec: Rec, text: string): void {
  const m = /^([^:]+: *)(\d+)(?: (\d+))?$/.exec(text)
  if (m === null) return
  rec.parts = m[3] === undefined ? [m[1], ''] : [m[1], ' ', '']
  rec.slots = m[3] === undefined ? [{ kind: 'vxid', base: +m[2] }] : [{ kind: 'vxid', base: +m[2] }, { kind: 'vxid', base: +m[3] }]
}

const shifted = (v: number, by: number): number => (v === 0 ? 0 : ((v - 1 + by) % VXID_MAX) + 1)

function encode(rec: Rec, vxidBy: number, secondsBy: number, out: Buffer, at: number): number {
  let data = rec.fixed
  if (data === null) {
    let s = rec.parts[0]
    for (let i = 0; i < rec.slots.length; i++) {
      const sl = rec.slots[i]
      s += (sl.kind === 'vxid' ? shifted(sl.base, vxidBy) : sl.base + secondsBy) + rec.parts[i + 1]
    }
    data = Buffer.from(s + '\0', 'latin1')
  }
  out.writeUInt32LE(((rec.tag << 24) | data.length) >>> 0, at)
  out.writeUInt32LE(((rec.marks << 30) | shifted(rec.vxid, vxidBy)) >>> 0, at + 4)
  data.copy(out, at + 8)
  const size = 8 + ((data.length + 3) & ~3)
  out.fill(0, at + 8 + data.length, at + size)
  return size
}

export interface VslMeta extends GenMeta {
  /** Records in the file: vlogdump counts each as a line. */
  records: number
}

/** bench/data/vsl-<size>.vsl, made when missing or out of date. */
export function ensureVslInput(size: string, clientRequests: number, log: (s: string) => void): { path: string; meta: VslMeta } {
  const path = join(DATA_DIR, `vsl-${size.toUpperCase()}.vsl`)
  const metaPath = path + '.meta.json'
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as VslMeta
    if (meta.generator === GENERATOR_VERSION && statSync(path).size === meta.bytes) return { path, meta }
  }
  log(`gen: ${path} …`)
  const src = readFileSync(join(REPO, FIXTURE))
  const { recs, maxVxid, seconds } = compile(src)
  const vxidShift = Math.ceil((maxVxid + 1) / 32768) * 32768
  const secondsShift = seconds[1] - seconds[0] + 1
  const repetitions = Math.max(1, Math.ceil(parseSize(size) / src.length))
  mkdirSync(DATA_DIR, { recursive: true })
  const fd = openSync(path + '.tmp', 'w')
  const buf = Buffer.alloc(src.length * 2)
  let bytes = 4
  try {
    writeSync(fd, src.subarray(0, 4))
    for (let rep = 0; rep < repetitions; rep++) {
      let at = 0
      for (const r of recs) at += encode(r, rep * vxidShift, rep * secondsShift, buf, at)
      writeSync(fd, buf, 0, at)
      bytes += at
    }
  } finally {
    closeSync(fd)
  }
  renameSync(path + '.tmp', path)
  const meta: VslMeta = {
    generator: GENERATOR_VERSION,
    input: 'vsl',
    fixture: FIXTURE,
    size,
    repetitions,
    bytes,
    lines: recs.length * repetitions,
    records: recs.length * repetitions,
    vxidShift,
    secondsShift,
    expect: { records: clientRequests * repetitions, incomplete: 0, unfinishedTransactions: 0 },
  }
  writeFileSync(metaPath, JSON.stringify(meta, null, 2) + '\n')
  log(` ${(bytes / 1e6).toFixed(0)} MB, ${repetitions} repetitions\n`)
  return { path, meta }
}
