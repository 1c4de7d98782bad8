// Hostile and broken input: what a user gets instead of a crash or silence. (Issue 7 has the full list; these are
// the cases handled so far.)

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
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

  it('a regex that can backtrack exponentially is warned about before reading', () => {
    const p = parseArgs(['--url', '(a+)+$'], '0', () => {})
    assert.ok(p.kind === 'run')
    assert.deepEqual(p.hints, ["--url: '(a+)+$' has a quantifier inside a repeated group, which can backtrack for a very long time on some values"])
    const q = parseArgs(['--url', '^/api/(v1|v2)/'], '0', () => {})
    assert.ok(q.kind === 'run')
    assert.deepEqual(q.hints, [])
  })
})
