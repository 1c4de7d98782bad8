// Binary VSL read natively (issue 16): every committed `varnishlog -w` file gives byte for byte what its text
// renderings give — --json, compact, -F and the summary's counts as `varnishlog -r FILE -g raw` (every
// transaction, in file order), --output log as `varnishlog -r FILE -g request` — for each Varnish version; gzip,
// stdin, -r, files appended to each other; and broken files: cut short, overwritten, unknown versions.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { after, describe, it } from 'node:test'
import { BinaryScanner, vslVersion } from '../src/parse/binary.js'
import { TAGS_VSL1 } from '../src/vsl/binary-tags.js'
import { parseLine, type LineSink } from '../src/parse/line.js'
import { run } from '../src/run.js'
import { DEFAULTS, repoPath, runOn, Sink } from './support.js'

const CAPTURES: Array<{ dir: string; name: string; version: string }> = [
  { dir: 'fixtures/lab', name: 'lab', version: '7.1.1' },
  { dir: 'fixtures/varnish-7.1', name: 'small', version: '7.1.1' },
  { dir: 'fixtures/varnish-6.0', name: 'lab', version: '6.0.16' },
  { dir: 'fixtures/varnish-6.6', name: 'lab', version: '6.6.2' },
  { dir: 'fixtures/varnish-7.7', name: 'lab', version: '7.7.3' },
  { dir: 'fixtures/varnish-8.0', name: 'lab', version: '8.0.0' },
  { dir: 'fixtures/holdout/varnish-6.0', name: 'lab', version: '6.0.16' },
  { dir: 'fixtures/holdout/varnish-6.6', name: 'lab', version: '6.6.2' },
  { dir: 'fixtures/holdout/varnish-7.1', name: 'lab', version: '7.1.1' },
  { dir: 'fixtures/holdout/varnish-7.7', name: 'lab', version: '7.7.3' },
  { dir: 'fixtures/holdout/varnish-8.0', name: 'lab', version: '8.0.0' },
]

const CLI = repoPath('dist/vlogdump.cjs')

/** A record of a VSL\0 file: tag number, vxid, marks (1 client, 2 backend), data (NUL added). */
function vslRecord(tag: number, vxid: number, marks: number, data: string): Buffer {
  const d = Buffer.from(data + '\0', 'latin1')
  const b = Buffer.alloc(8 + ((d.length + 3) & ~3))
  b.writeUInt32LE(((tag << 24) | d.length) >>> 0, 0)
  b.writeUInt32LE(((marks << 30) | vxid) >>> 0, 4)
  d.copy(b, 8)
  return b
}
const tmp = mkdtempSync(join(tmpdir(), 'vlogdump-binary-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

/** The all-specifier format as the capture's varnishncsa took it (fixtures/ncsa-all.format for 7.1). */
function allFormat(dir: string): string {
  const own = `${dir}/ncsa-all.format`
  return readFileSync(repoPath(existsSync(repoPath(own)) ? own : 'fixtures/ncsa-all.format'), 'utf8').replace(/\n$/, '')
}

/** The summary line without its layout name. */
const counts = (stderr: string): string => stderr.replace(/; layout [^\n]*\n$/, '')

for (const cap of CAPTURES) {
  const vsl = `${cap.dir}/${cap.name}.vsl`
  describe(`Varnish ${cap.version}: ${vsl}`, () => {
    const modes: Array<[string, Partial<typeof DEFAULTS>]> = [
      ['--json', { output: 'json' }],
      ['compact with every header', { reqHeaders: true, respHeaders: true, bereqHeaders: true, berespHeaders: true }],
      ['-F all specifiers', { output: 'format', format: allFormat(cap.dir) }],
    ]
    for (const [label, opts] of modes) {
      it(`${label}: byte for byte what its -g raw text gives, and the same counts`, async () => {
        const bin = await runOn([{ file: vsl }], { ...opts, summary: true })
        const text = await runOn([{ file: `${cap.dir}/${cap.name}.raw.log` }], { ...opts, summary: true })
        assert.equal(bin.code, 0, bin.stderr)
        assert.ok(bin.bytes.length > 10_000)
        assert.ok(bin.bytes.equals(text.bytes))
        assert.equal(counts(bin.stderr), counts(text.stderr))
        assert.match(bin.stderr, cap.version >= '7.3' ? /; layout binary VSL2\n$/ : /; layout binary VSL\n$/)
        assert.match(bin.stderr, / 0 unparseable/)
      })
    }
    it('--output log: byte for byte what varnishlog -r FILE -g request prints', async () => {
      const r = await runOn([{ file: vsl }], { output: 'log' })
      assert.ok(r.bytes.equals(readFileSync(repoPath(`${cap.dir}/${cap.name}.request.log`))))
    })
  })
}

describe('binary input: how it arrives', () => {
  const vsl = 'fixtures/varnish-8.0/lab.vsl'
  const json = async (inputs: Parameters<typeof runOn>[0]): Promise<string> => (await runOn(inputs, { output: 'json' })).stdout

  it('in pieces of any size (a record cut by a chunk end is read with the next)', async () => {
    const bytes = readFileSync(repoPath(vsl))
    const whole = await json([{ file: vsl }])
    for (const size of [1, 3, 7, 4096]) {
      const pieces: Buffer[] = []
      for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size))
      const stdout = new Sink()
      const input = { name: 'pieces', open: () => Readable.from(pieces) }
      const code = await run({ ...DEFAULTS, output: 'json' }, { inputs: [input], stdout, stderr: new Sink() })
      assert.equal(code, 0)
      assert.equal(stdout.text, whole, `pieces of ${size}`)
    }
  })

  it('gzip, stdin, -r FILE, -r - : the same records', () => {
    const whole = spawnSync(process.execPath, [CLI, '--json', repoPath(vsl)], { encoding: 'latin1' })
    assert.equal(whole.status, 0)
    const gz = join(tmp, 'lab.vsl.gz')
    writeFileSync(gz, gzipSync(readFileSync(repoPath(vsl))))
    const runs = [
      spawnSync(process.execPath, [CLI, '--json', gz], { encoding: 'latin1' }),
      spawnSync(process.execPath, [CLI, '--json'], { input: readFileSync(repoPath(vsl)), encoding: 'latin1' }),
      spawnSync(process.execPath, [CLI, '--json', '-r', repoPath(vsl)], { encoding: 'latin1' }),
      spawnSync(process.execPath, [CLI, '--json', '-r', '-'], { input: readFileSync(gz), encoding: 'latin1' }),
    ]
    for (const r of runs) {
      assert.equal(r.stderr, '')
      assert.equal(r.status, 0)
      assert.equal(r.stdout, whole.stdout)
    }
  })

  it('files appended to each other (cat a.vsl b.vsl, even of two versions) read as one after the other', async () => {
    const a = readFileSync(repoPath('fixtures/lab/lab.vsl'))
    const b = readFileSync(repoPath(vsl))
    const both = await runOn([{ text: Buffer.concat([a, b]) }], { output: 'json', summary: true })
    assert.equal(both.stdout, (await json([{ file: 'fixtures/lab/lab.vsl' }])) + (await json([{ file: vsl }])))
    assert.match(both.stderr, /; layout binary VSL, binary VSL2\n$/)
    assert.match(both.stderr, / 0 unparseable/)
  })

  it('binary and text files in one run', async () => {
    const r = await runOn([{ file: vsl }, { file: 'fixtures/cases/hit.log' }], { output: 'json', summary: true })
    assert.equal(r.code, 0)
    assert.equal(r.stdout, (await json([{ file: vsl }])) + (await json([{ file: 'fixtures/cases/hit.log' }])))
    assert.match(r.stderr, /; layout binary VSL2, vxid\n$/)
  })
})

describe('broken binary files', () => {
  const vsl = 'fixtures/lab/lab.vsl'
  const bytes = readFileSync(repoPath(vsl))

  it('an unknown header version: a clear message, exit 2, the other files still read', () => {
    const f = join(tmp, 'v3.vsl')
    writeFileSync(f, Buffer.concat([Buffer.from('VSL3'), bytes.subarray(4)]))
    const r = spawnSync(process.execPath, [CLI, f, repoPath('fixtures/cases/hit.log')], { encoding: 'utf8' })
    assert.equal(r.status, 2)
    assert.equal(
      r.stderr,
      `vlogdump: ${f}: binary VSL file of a version this vlogdump does not know (header "VSL3"); it reads "VSL\\0" (Varnish 4.1 to 7.2) and "VSL2" (7.3 and later)\n`,
    )
    assert.match(r.stdout, /HIT/)
  })

  it('cut short: what is whole is read, the unfinished transactions are reported, the cut is said', async () => {
    const cut = 150_001
    const r = await runOn([{ text: bytes.subarray(0, cut) }], { output: 'json', summary: true })
    assert.equal(r.code, 0)
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { incomplete: string | null })
    assert.ok(recs.length > 40)
    assert.ok(recs.some((x) => x.incomplete === 'eof'))
    const [warning, summary] = r.stderr.split('\n')
    assert.match(warning, /^vlogdump: text0: 1 run of bytes \(\d+ bytes\) skipped, not records: it ends inside a record \(\d+ of its \d+ bytes\)$/)
    assert.match(summary, / 1 unparseable/)
    // The whole records before the cut are all there: as many lines as varnishlog prints for them.
    const lines = Number(/^vlogdump: (\d+) lines/.exec(summary)![1])
    assert.ok(lines > 4000 && lines < 9705)
  })

  it('overwritten bytes: skipped and counted, the records around them read, never a crash', async () => {
    const broken = Buffer.from(bytes)
    for (const at of [5000, 90_000, 200_001]) broken.fill(0xab, at, at + 37)
    const r = await runOn([{ text: broken }], { output: 'json', summary: true })
    assert.equal(r.code, 0)
    assert.match(r.stderr, /^vlogdump: text0: 3 runs of bytes \(\d+ bytes\) skipped, not records; the first at byte \d+: tag number 171 is not in the table of VSL files\n/)
    assert.match(r.stderr, / 3 unparseable/)
    assert.ok(r.stdout.trim().split('\n').length >= 95)
  })

  it('a tag number beyond the table, a zero tag, a batch header: what varnishlog skips or cannot name', () => {
    const got: string[] = []
    const sink: LineSink = { record: (_l, vxid, tag, data) => void got.push(`${vxid} ${tag} ${data}`), header() {}, other() {} }
    const rec = vslRecord
    const batch = Buffer.alloc(8)
    batch.writeUInt32LE(0xff000000, 0)
    batch.writeUInt32LE(64, 4)
    const file = Buffer.concat([rec(16, 7, 1, '/a'), batch, rec(200, 7, 1, 'no such tag'), rec(0, 7, 1, 'bogus'), rec(16, 8, 1, '/b')])
    const s = new BinaryScanner(1, sink)
    assert.equal(s.scan(file, 0, file.length, 0, true), file.length)
    assert.deepEqual(got, ['7 ReqURL /a', '8 ReqURL /b'])
    assert.equal(s.bad.spans, 1)
    assert.equal(s.bad.first?.why, 'tag number 200 is not in the table of VSL files')
  })

  it('-L 1, a fetch that begins after its parent\'s Link: every record is printed (--output log), as from the text', async () => {
    // Beginning the fetch overflows -L: its parent's tree is printed (the fetch not yet in it), and the fetch's
    // records go on into a transaction of their own, none after a transaction already printed.
    const records: Array<[number, string, string, number]> = [
      [1, 'Begin', 'req 0 rxreq', 1],
      [1, 'Timestamp', 'Start: 1700000000.000000 0.000000 0.000000', 1],
      [1, 'ReqMethod', 'GET', 1],
      [1, 'ReqURL', '/a', 1],
      [1, 'Link', 'bereq 2 fetch', 1],
      [2, 'Begin', 'bereq 1 fetch', 2],
      [2, 'BereqMethod', 'GET', 2],
      [2, 'BereqURL', '/a', 2],
      [2, 'Timestamp', 'Start: 1700000000.000100 0.000000 0.000000', 2],
      [2, 'BerespStatus', '200', 2],
      [2, 'End', '', 2],
      [1, 'RespStatus', '200', 1],
      [1, 'Timestamp', 'Resp: 1700000000.000300 0.000300 0.000200', 1],
      [1, 'End', '', 1],
    ]
    const file = Buffer.concat([Buffer.from('VSL\0', 'latin1'), ...records.map(([v, name, d, m]) => vslRecord(TAGS_VSL1.indexOf(name), v, m, d))])
    const r = await runOn([{ text: file }], { output: 'log', maxPending: 1 })
    const printed = r.stdout.split('\n').filter((l) => /^-+ +\S/.test(l)).map((l) => l.replace(/^-+ +/, '').trimEnd())
    const want = records.map(([, name, d]) => `${name.padEnd(14)} ${d}`.trimEnd())
    assert.deepEqual([...printed].sort(), [...want].sort(), r.stdout)
  })

  it('the data text is varnishlog\'s: plain up to the NUL, unsafe tags %-escaped, binary tags in hex', () => {
    const got: string[] = []
    const sink: LineSink = { record: (_l, _v, tag, data) => void got.push(`${tag} ${data}`), header() {}, other() {} }
    const rec = (tag: number, raw: Buffer): Buffer => {
      const b = Buffer.alloc(8 + ((raw.length + 3) & ~3))
      b.writeUInt32LE(((tag << 24) | raw.length) >>> 0, 0)
      b.writeUInt32LE(1, 4)
      raw.copy(b, 8)
      return b
    }
    // VSL\0 numbering: 9 HttpGarbage (unsafe), 87 H2RxHdr (binary), 20 ReqHeader.
    const file = Buffer.concat([
      rec(9, Buffer.from('GET \x01\r\n\0', 'latin1')),
      rec(87, Buffer.from([0, 0, 4, 8, 0, 0, 0, 0, 0])),
      rec(20, Buffer.from('X: a\0hidden\0', 'latin1')),
    ])
    const s = new BinaryScanner(1, sink)
    s.scan(file, 0, file.length, 0)
    assert.deepEqual(got, ['HttpGarbage "GET %01%0d%0a%00"', 'H2RxHdr [000004080000000000]', 'ReqHeader X: a'])
    // And the text parser reads varnishlog's line for a record back to the same data.
    const line = parseLine(`         1 HttpGarbage    c "GET %01%0d%0a%00"`)
    assert.equal(line.kind === 'record' && line.data, got[0].slice('HttpGarbage '.length))
  })

  it('random damage never throws, and every byte is a record or counted', () => {
    let seed = 42
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    const sink: LineSink = { record() {}, header() {}, other() {} }
    for (let round = 0; round < 200; round++) {
      const b = Buffer.from(bytes.subarray(4, 4 + 20_000))
      for (let k = rand(20); k >= 0; k--) b[rand(b.length)] = rand(256)
      const s = new BinaryScanner(rand(2) === 0 ? 1 : 2, sink)
      assert.equal(s.scan(b, 0, b.length, 0, true), b.length)
      assert.ok(s.records > 0 || s.bad.bytes > 0)
    }
  })

  it('the file header decides: VSL\\0 is 1, VSL2 is 2, VSL<other> unknown, anything else text', () => {
    assert.equal(vslVersion(Buffer.from('VSL\0')), 1)
    assert.equal(vslVersion(Buffer.from('VSL2')), 2)
    assert.equal(vslVersion(Buffer.from('VSL3')), 'unknown')
    assert.equal(vslVersion(Buffer.from('VSLX and more')), 'unknown')
    assert.equal(vslVersion(Buffer.from('*   << Request')), null)
    assert.equal(vslVersion(Buffer.from('VS')), null)
  })
})
