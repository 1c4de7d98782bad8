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
