// Hostile and broken input: what a user gets instead of a crash or silence. (Issue 7 has the full list; these are
// the cases handled so far.)

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { parseArgs } from '../src/args.js'
import { repoPath, runOn } from './support.js'

const CLI = repoPath('dist/vlogdump.mjs')

describe('hardening', () => {
  it('a binary VSL file passed by mistake: a clear message, exit 2, the other files still read', () => {
    const r = spawnSync(process.execPath, [CLI, repoPath('fixtures/lab/lab.vsl'), repoPath('fixtures/cases/hit.log')], { encoding: 'utf8' })
    assert.equal(r.status, 2)
    assert.match(r.stderr, /^vlogdump: .*lab\.vsl: this looks like a binary VSL file \(varnishlog -w\); read it with: vlogdump -r .*lab\.vsl\n$/)
    assert.match(r.stdout, /HIT/)
  })

  it('CR-only line ends are read as lines', async () => {
    const text = (await import('node:fs')).readFileSync(repoPath('fixtures/cases/miss.log'), 'latin1')
    const cr = await runOn([{ text: text.replace(/\n/g, '\r') }], { output: 'json' })
    const lf = await runOn([{ file: 'fixtures/cases/miss.log' }], { output: 'json' })
    assert.equal(cr.stdout, lf.stdout)
  })

  it('an unknown option close to a known one gets a suggestion', () => {
    assert.throws(() => parseArgs(['--jsn'], '0', () => {}), { message: 'Unknown argument: jsn (did you mean --json?)' })
    assert.throws(() => parseArgs(['--req-header-x', 'a'], '0', () => {}), { message: 'Unknown argument: req-header-x (did you mean --req-headers?)' })
    assert.throws(() => parseArgs(['--frobnicate'], '0', () => {}), { message: 'Unknown argument: frobnicate' })
  })

  it('every line read is accounted for: in a record, or skipped by kind', async () => {
    for (const file of ['fixtures/lab/lab.raw.log', 'fixtures/lab/lab.session.log', 'fixtures/varnish-3.0.7/varnish-3.0.7.log']) {
      const r = await runOn([{ file }], { summary: true, output: 'json' })
      const m = /^vlogdump: (\d+) lines, .*\), (\d+) lines skipped/.exec(r.stderr)
      assert.ok(m !== null, r.stderr)
      const lines = (await import('node:fs')).readFileSync(repoPath(file), 'latin1').split('\n').length - 1
      assert.equal(Number(m[1]), lines, file)
      assert.ok(Number(m[2]) < lines)
    }
  })

  it('a line of 2 MiB without a newline is skipped and counted; reading goes on', async () => {
    const long = 'x'.repeat(2 * 1024 * 1024)
    const text = (await import('node:fs')).readFileSync(repoPath('fixtures/cases/hit.log'), 'latin1')
    const r = await runOn([{ text: long + '\n' + text }], { summary: true })
    assert.match(r.stdout, /HIT/)
    assert.match(r.stderr, /1 too long/)
  })
})

describe('hostile structure', () => {
  const raw = (vxid: number | string, tag: string, data = ''): string => `${String(vxid).padStart(10)} ${tag.padEnd(14)} c ${data}`

  it('Link loops end: two requests linking each other are emitted, marked, no hang', async () => {
    const input = [raw(2, 'Begin', 'req 3 esi'), raw(2, 'Link', 'req 3 esi'), raw(3, 'Begin', 'req 2 esi'), raw(3, 'Link', 'req 2 esi'), raw(2, 'End'), raw(3, 'End')]
    const r = await runOn([{ text: input.join('\n') + '\n' }], { output: 'json' })
    assert.equal(r.code, 0)
    assert.ok(r.stdout.trim().split('\n').length >= 1)
  })

  it('64-bit vxids (Varnish 7.3+) group as well', async () => {
    const v = 999999999999990
    const input = [raw(v + 1, 'Begin', `bereq ${v} fetch`), raw(v + 1, 'End'), raw(v, 'Begin', 'req 1 rxreq'), raw(v, 'Link', `bereq ${v + 1} fetch`), raw(v, 'End')]
    const r = await runOn([{ text: input.join('\n') + '\n' }], { output: 'json' })
    const rec = JSON.parse(r.stdout)
    assert.deepEqual([rec.vxid, rec.backend.vxid, rec.incomplete], [v, v + 1, null])
  })

  it('100,000 headers in one transaction: linear, done in seconds', async () => {
    const lines = ['*   << Request  >> 5', '-   Begin          req 4 rxreq', '-   ReqURL         /many']
    for (let i = 0; i < 100000; i++) lines.push(`-   ReqHeader      X-H${i}: ${i}`)
    for (let i = 0; i < 100000; i++) lines.push(`-   RespHeader     X-R${i}: ${i}`)
    for (let i = 0; i < 1000; i++) lines.push(`-   RespUnset      X-R${99999 - i}: ${99999 - i}`)
    lines.push('-   End            ', '')
    const t0 = Date.now()
    const r = await runOn([{ text: lines.join('\n') }], { output: 'json' })
    const rec = JSON.parse(r.stdout)
    assert.equal(rec.request.headers.length, 100000)
    assert.equal(rec.response.headers.length, 99000)
    assert.ok(Date.now() - t0 < 10000, `${Date.now() - t0} ms`)
  })

  it('a regex that can backtrack exponentially is warned about before reading, saying whether the linear fallback applies', () => {
    // As cli.ts does at start-up.
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
    setFlagsFromString('--enable-experimental-regexp-engine')
    const hints = (...argv: string[]): string[] => {
      const p = parseArgs(argv, '0', () => {})
      assert.ok(p.kind === 'run')
      return p.hints
    }
    const shape = (flag: string, re: string): string => `${flag}: '${re}' has a quantifier inside a repeated group, which can backtrack for a very long time on some values`
    assert.deepEqual(hints('--url', '(a+)+$'), [`${shape('--url', '(a+)+$')}; where it does, matching falls back to a linear-time engine`])
    const slow = ', and it cannot fall back to the linear-time engine (it has a backreference, a lookaround, -i or a large {n,m}): matching may be very slow'
    assert.deepEqual(hints('--req-header', '^(\\w+)+\\1$'), [shape('--req-header', '^(\\w+)+\\1$') + slow])
    assert.deepEqual(hints('--url', '(?=a)(a+)+$'), [shape('--url', '(?=a)(a+)+$') + slow])
    assert.deepEqual(hints('-i', '--url', '(a+)+$'), [shape('--url', '(a+)+$') + slow])
    assert.deepEqual(hints('--url', '^/api/(v1|v2)/'), [])
  })
})

// Terminal attacks, by name, in a real capture (fixtures/cases/hit.log) with the payload put into the URL (path and
// query), a request header, a response header and a VCL_Log value, as the UTF-8 bytes varnishd would log. Each view
// must print no raw C0/C1 control character, ESC or bidi control (the only control characters left are our own
// newlines); --json keeps the text, escaped by JSON's rules (C0) and as \uXXXX (DEL, C1, bidi), and parses back to it.
describe('terminal attacks', () => {
  const HIT = readFileSync(repoPath('fixtures/cases/hit.log'), 'latin1')
  // [name, payload as log bytes (latin1 string), the text --json must give back]
  const attacks: Array<[string, string, string]> = [
    ['ANSI CSI: clear screen', '\x1b[2J\x1b[H', '\x1b[2J\x1b[H'],
    ['ANSI CSI: colors', '\x1b[31;1mred\x1b[0m', '\x1b[31;1mred\x1b[0m'],
    ['OSC: window title change', '\x1b]0;pwned\x07', '\x1b]0;pwned\x07'],
    ['OSC 8: hyperlink', '\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\', '\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\'],
    ['backspaces over the text', 'evil\x08\x08\x08\x08good', 'evil\x08\x08\x08\x08good'],
    ['carriage return overwrite', 'innocent\rEVIL', 'innocent\rEVIL'],
    ['C1 CSI as UTF-8 (U+009B)', '\xc2\x9b2J', '\x9b2J'],
    ['C1 CSI as a raw byte (0x9b, not UTF-8)', '\x9b2J', '\\x9b2J'],
    ['NUL and DEL', 'a\x00b\x7fc', 'a\x00b\x7fc'],
    ['bidi: right-to-left override (U+202E)', 'invoice\xe2\x80\xaefdp.exe', 'invoice\u202efdp.exe'],
    ['bidi: isolates (U+2066-U+2069)', '\xe2\x81\xa6a\xe2\x81\xa9\xe2\x81\xa7b\xe2\x81\xa9\xe2\x81\xa8c\xe2\x81\xa9', '\u2066a\u2069\u2067b\u2069\u2068c\u2069'],
  ]
  // Control characters (C0 but LF, DEL, C1) and the bidi/format characters that reorder or hide text.
  const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u
  const decode = (b: Buffer): string => new TextDecoder('utf-8', { fatal: true }).decode(b)
  const edit = (payload: string): string => {
    const out = HIT.replace('ReqURL         /static/1', `ReqURL         /static/${payload}?q=${payload}`)
      .replace('User-Agent: Mozilla/5.0', `User-Agent: ${payload} Mozilla/5.0`)
      .replace('RespHeader     ETag: "8597f0a182aab311"', `RespHeader     ETag: "${payload}"`)
      .replace('VCL_Log        route:static', `VCL_Log        route:${payload}`)
    assert.equal((out.match(new RegExp(payload.replace(/[^\w]/g, '\\$&'), 'g')) ?? []).length, 5, 'the payload is in all five places')
    return out
  }

  for (const [name, payload, text] of attacks) {
    it(`${name}: escaped in the compact view, -F and --stats; kept in --json and --stats-json`, async () => {
      const input = [{ text: edit(payload) }]
      const compact = await runOn(input, { reqHeaders: true, respHeaders: true, bereqHeaders: true, berespHeaders: true, stats: 'with-records' })
      const shown = decode(compact.bytes)
      assert.doesNotMatch(shown, RAW)
      assert.match(shown, /=> GET \/static\/\S+\?q=\S/)
      assert.match(shown, /req\.http\.User-Agent = \S+/)
      assert.match(shown, /resp\.http\.ETag = "\S/)

      const fmt = await runOn(input, { output: 'format', format: '%r %{User-Agent}i %{ETag}o %{VCL_Log:route}x' })
      const line = decode(fmt.bytes)
      assert.doesNotMatch(line, RAW)
      assert.equal(line.split('\n').length, 2, 'one line')
      assert.match(line, /^GET http:\/\/127\.0\.0\.1:43959\/static\/\S+\?q=\S+ HTTP\/1\.1 \S/)

      const json = await runOn(input, { output: 'json' })
      assert.doesNotMatch(decode(json.bytes).trimEnd(), RAW)
      const rec = JSON.parse(json.stdout)
      assert.equal(rec.request.url, `/static/${text}?q=${text}`)
      assert.equal(rec.request.headers.find(([n]: string[]) => n === 'User-Agent')[1].slice(0, text.length), text)
      assert.equal(rec.response.headers.find(([n]: string[]) => n === 'ETag')[1], `"${text}"`)
      assert.equal(rec.vcl_log[0], `route:${text}`)

      const stats = await runOn(input, { stats: 'json' })
      assert.doesNotMatch(decode(stats.bytes).trimEnd(), RAW)
      assert.equal(JSON.parse(stats.stdout).urls.by_count[0].url, `/static/${text}`)
    })
  }
})
