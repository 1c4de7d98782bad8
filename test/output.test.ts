// Output modes other than compact and JSON: --output log (the original lines, readable again), -k, --time.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { OutputBuffer } from '../src/output.js'
import { escapeJsonText } from '../src/render/escape.js'
import { run } from '../src/run.js'
import { DEFAULTS, recordsOf, repoPath, runOn, Sink } from './support.js'

const CAPTURES = [
  'fixtures/lab/lab.vxid.log',
  'fixtures/lab/lab.raw.log',
  'fixtures/lab/lab.request.log',
  'fixtures/varnish-7.1/small.vxid.log',
  'fixtures/varnish-3.0.7/varnish-3.0.7.log',
  'fixtures/varnish-2.1.5/varnish-2.1.5.o.log',
  'fixtures/cases/truncated.log',
]

/** JSON records without what depends on sessions (only the raw/session layouts show them before the request). */
function comparable(recs: object[]): string[] {
  return recs.map((r) => JSON.stringify({ ...r, client: null }))
}

describe('--output log', () => {
  for (const file of CAPTURES) {
    it(`${file}: the log output reads back into the same records`, async () => {
      const log = await runOn([{ file }], { output: 'log' })
      assert.equal(log.code, 0)
      const again = await recordsOf([{ text: log.bytes }])
      const first = await recordsOf([{ file }])
      assert.equal(again.length, first.length)
      assert.deepEqual(comparable(again), comparable(first))
    })
  }

  it('prints varnishlog -g request lines, byte for byte', async () => {
    const r = await runOn([{ file: 'fixtures/cases/esi.log' }], { output: 'log' })
    const lines = r.stdout.split('\n')
    assert.match(lines[0], /^\*   << Request  >> \d+ +$/)
    assert.match(lines[1], /^-   Begin          req \d+ rxreq$/)
    assert.ok(lines.some((l) => /^\*\*\* << Request  >> \d+/.test(l)), 'level 3 for the nested include')
    // Every record line of the input appears in the output (the order of transactions may differ).
    const input = (await import('node:fs')).readFileSync(repoPath('fixtures/cases/esi.log'), 'latin1')
    const recordLines = (t: string): string[] => t.split('\n').filter((l) => /^-/.test(l)).map((l) => l.replace(/^-+\d*-* +/, '')).sort()
    assert.deepEqual(recordLines(r.stdout), recordLines(input))
  })

  it('keeps bytes that are not UTF-8 as they were', async () => {
    const input = '*   << Request  >> 2\n-   Begin          req 1 rxreq\n-   ReqURL         /\xff\xfe\n-   End            \n\n'
    const r = await runOn([{ text: input }], { output: 'log' })
    assert.ok(r.bytes.includes(Buffer.from([0x2f, 0xff, 0xfe, 0x0a])), 'the bytes as they were read')
  })
})

describe('-k and --time', () => {
  it('-k N stops after N records shown, exit 0', async () => {
    const r = await runOn([{ file: 'fixtures/lab/lab.vxid.log' }], { output: 'json', limit: 3 })
    assert.equal(r.stdout.trim().split('\n').length, 3)
    assert.equal(r.code, 0)
  })

  it('--time starts each compact entry with its ISO start time', async () => {
    const r = await runOn([{ file: 'fixtures/cases/hit.log' }], { time: true })
    assert.match(r.stdout, /^2026-11-23T\d\d:\d\d:\d\d\.\d{6}Z +127\.0\.0\.1 => GET \/static\/1 HTTP\/1\.1 HIT\n/)
  })
})

describe('shell completion', () => {
  it('vlogdump completion prints a completion script', () => {
    const r = spawnSync(process.execPath, [repoPath('dist/vlogdump.cjs'), 'completion'], { encoding: 'utf8' })
    assert.equal(r.status, 0)
    assert.match(r.stdout, /complete -o default -F _vlogdump_yargs_completions vlogdump|_vlogdump/)
  })
})

describe('statistics', () => {
  it('--stats-only prints the summary and no records; exit 0 when a record matched', async () => {
    const r = await runOn([{ file: 'fixtures/varnish-7.1/small.vxid.log' }], { stats: 'only' })
    assert.equal(r.code, 0)
    assert.doesNotMatch(r.stdout, /=> GET/)
    assert.match(r.stdout, /hit ratio/i)
    assert.match(r.stdout, /p99/)
  })

  it('--stats prints the records, then the summary', async () => {
    const r = await runOn([{ file: 'fixtures/cases/hit.log' }], { stats: 'with-records' })
    assert.match(r.stdout, /^ +127\.0\.0\.1 => GET \/static\/1 HTTP\/1\.1 HIT\n[^]*\n\n[^]*hit ratio/i)
  })

  it('--stats-json prints one JSON object; filters decide what it counts', async () => {
    const r = await runOn([{ file: 'fixtures/varnish-7.1/small.vxid.log' }], { stats: 'json' })
    const j = JSON.parse(r.stdout)
    assert.equal(r.stdout.trim().split('\n').length, 1)
    assert.deepEqual([j.records.read, j.records.shown], [300, 300])
    assert.equal(j.handling.hit, 124)
  })

  it('Ctrl-C prints the statistics of what was seen, then exits 130', async () => {
    const { spawn } = await import('node:child_process')
    const { readFileSync } = await import('node:fs')
    const child = spawn(process.execPath, [repoPath('dist/vlogdump.cjs'), '--stats-json'])
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stdin.write(readFileSync(repoPath('fixtures/cases/hit.log')))
    await new Promise((r) => setTimeout(r, 1500))
    child.kill('SIGINT')
    const code = await new Promise((r) => child.on('close', r))
    assert.equal(code, 130)
    assert.equal(JSON.parse(out).records.read, 1)
  })
})

describe('progress line', () => {
  it('on a terminal: bytes, percent, rate and records at most once a second, erased at the end', async () => {
    const { Readable } = await import('node:stream')
    const { run } = await import('../src/run.js')
    const { DEFAULTS, Sink } = await import('./support.js')
    const { readFileSync } = await import('node:fs')
    const data = readFileSync(repoPath('fixtures/cases/esi.log'))
    const half = Math.floor(data.length / 2)
    async function* slow(): AsyncGenerator<Buffer> {
      yield data.subarray(0, half)
      await new Promise((r) => setTimeout(r, 1100))
      yield data.subarray(half)
    }
    const stdout = new Sink()
    const stderr = new Sink()
    const term = new Sink()
    const code = await run(DEFAULTS, {
      inputs: [{ name: 'slow', open: () => Readable.from(slow(), { objectMode: false }) }],
      stdout,
      stderr,
      progress: { stream: term, totalBytes: data.length },
    })
    assert.equal(code, 0)
    assert.match(term.text, /^\r\x1b\[Kvlogdump: 0 MB of 0 MB \(100%\), \d+ MB\/s, \d+ records\r\x1b\[K$/)
    assert.equal(stderr.text, '')
  })
})

/** A stdout that completes each write late, as a pipe whose reader lags: it keeps the chunk it was handed (no
 *  copy) and reads it only when it completes the write, so a buffer rewritten before then shows. */
class LateSink extends Writable {
  chunks: Buffer[] = []
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    setTimeout(() => {
      this.chunks.push(Buffer.from(chunk))
      cb()
    }, 2)
  }
}

describe('output buffers', () => {
  /** What push(text, 'json') writes for each text, read back as bytes. */
  const jsonBytes = (texts: string[], target?: Buffer): Buffer => {
    const out = new OutputBuffer(target)
    for (const t of texts) out.push(t, 'json')
    return out.take() ?? Buffer.alloc(0)
  }

  it('json encoding: the text as UTF-8 with LF, and DEL, C1 and bidi/format characters as \\uXXXX', () => {
    const texts = ['{"a":"plain"}', '"caf\u00e9 \u65e5\u672c"', '"a\x7fb"', '"C1 \u0085 \u009b"', '"rlo \u202e bom \ufeff sep \u2028"', '"mixed \u00e9\x7f"']
    assert.equal(
      jsonBytes(texts).toString('utf8'),
      '{"a":"plain"}\n"caf\u00e9 \u65e5\u672c"\n"a\\u007fb"\n"C1 \\u0085 \\u009b"\n"rlo \\u202e bom \\ufeff sep \\u2028"\n"mixed \u00e9\\u007f"\n',
    )
  })

  it('json encoding: bytes are those of escapeJsonText(text) + LF, for any text, in a small target too', () => {
    // Any character, and often those escaped or next to them.
    const CHAR = fc.oneof(fc.constantFrom('\x7f', '\x80', '\x85', '\x9f', '\xa0', '\u061c', '\u200b', '\u202e', '\u2028', '\u2069', '\ufeff', 'é', 'a', '"', '\x00'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
    fc.assert(
      fc.property(fc.array(fc.string({ unit: CHAR, maxLength: 40 }), { maxLength: 20 }), fc.boolean(), (values, small) => {
        const texts = values.map((v) => JSON.stringify(v))
        // A 16-byte target: texts escaped after their first write no longer fit and go to a block of their own.
        const got = jsonBytes(texts, small ? Buffer.alloc(16) : undefined)
        const want = Buffer.from(texts.map((t) => escapeJsonText(t) + '\n').join(''), 'utf8')
        assert.ok(got.equals(want), `${JSON.stringify(texts)}: ${got.toString()}`)
      }),
      { numRuns: 500 },
    )
  })

  it('a file read in many chunks: every byte reaches a stdout that completes its writes late, as rendered', async () => {
    // 12 copies of a capture (4.8 MB): about 18 chunks of input, each rendered into one of two reused buffers.
    const one = readFileSync(repoPath('fixtures/lab/lab.vxid.log'))
    const dir = mkdtempSync(join(tmpdir(), 'vlogdump-output-'))
    const path = join(dir, 'twelve.log')
    writeFileSync(path, Buffer.concat(Array.from({ length: 12 }, () => one)))
    const go = async (stdout: Writable): Promise<number> =>
      run({ ...DEFAULTS, output: 'json', threads: 1 }, { inputs: [{ name: path, path }], stdout, stderr: new Sink() })
    const quick = new Sink()
    const late = new LateSink()
    assert.equal(await go(quick), 0)
    assert.equal(await go(late), 0)
    const want = Buffer.concat(quick.chunks)
    const got = Buffer.concat(late.chunks)
    assert.ok(quick.chunks.length > 4, `written in ${quick.chunks.length} writes`)
    assert.ok(want.length > 2_000_000, `${want.length} bytes`)
    assert.ok(got.equals(want), 'the late stdout got other bytes')
    // Each copy of the capture gives the same records.
    const lines = want.toString('utf8').trimEnd().split('\n')
    assert.equal(lines.length % 12, 0)
    rmSync(dir, { recursive: true, force: true })
  })
})
