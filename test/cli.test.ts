// The process edge, spawned: exit codes, error messages, a closed pipe, gzip, several files, stdin, Ctrl-C, and
// when color is on.

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { PassThrough } from 'node:stream'
import { gzipSync } from 'node:zlib'
import { colorEnabled } from '../src/render/palette.js'
import { RunState, summaryLine } from '../src/run/state.js'
import { repoPath } from './support.js'

const CLI = repoPath('dist/vlogdump.cjs')
const HIT = repoPath('fixtures/cases/hit.log')
const ENV = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined }

function vlogdump(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { input: opts.input ?? '', env: opts.env ?? ENV, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('cli', () => {
  it('exits 0 when a record was printed', () => {
    const r = vlogdump([HIT])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /GET \/static\/1 HTTP\/1\.1 HIT/)
    assert.equal(r.stderr, '')
  })

  it('exits 1 when nothing was printed', () => {
    const r = vlogdump([], { input: '\n\nLog overrun\n' })
    assert.deepEqual([r.code, r.stdout, r.stderr], [1, '', ''])
  })

  it('reads stdin when there are no files, and for -', () => {
    const text = readFileSync(HIT)
    assert.equal(vlogdump([], { input: text }).stdout, vlogdump([HIT]).stdout)
    assert.equal(vlogdump([HIT, '-'], { input: text }).stdout, vlogdump([HIT]).stdout.repeat(2))
  })

  it('reads gzip files (and gzip on stdin) by their magic bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlogdump-'))
    const gz = join(dir, 'capture.log.gz')
    writeFileSync(gz, gzipSync(readFileSync(HIT)))
    assert.equal(vlogdump([gz]).stdout, vlogdump([HIT]).stdout)
    assert.equal(vlogdump([], { input: readFileSync(gz) }).stdout, vlogdump([HIT]).stdout)
    rmSync(dir, { recursive: true, force: true })
  })

  it('reads several files in order; a missing one is reported, the others read, exit 2', () => {
    const r = vlogdump([HIT, 'no-such.log', repoPath('fixtures/cases/miss.log')])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'vlogdump: cannot open no-such.log: no such file\n')
    assert.match(r.stdout, /HIT\n[^]*MISS\n/)
  })

  it('reports corrupt gzip data without a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vlogdump-'))
    const bad = join(dir, 'bad.gz')
    writeFileSync(bad, Buffer.concat([gzipSync(readFileSync(HIT)).subarray(0, 40), Buffer.from('garbage')]))
    const r = vlogdump([bad])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^vlogdump: .*bad\.gz: (invalid gzip data|cannot read)/)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
    rmSync(dir, { recursive: true, force: true })
  })

  it('a user mistake is one line on stderr and exit 2', () => {
    const r = vlogdump(['--frobnicate'])
    assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', 'vlogdump: Unknown argument: frobnicate\n'])
    const l = vlogdump(['-L', 'abc'])
    assert.deepEqual([l.code, l.stderr], [2, "vlogdump: --max-pending: expected a whole number of at least 1, got 'abc'\n"])
    const c = vlogdump(['--color', 'sometimes'])
    assert.equal(c.code, 2)
    assert.match(c.stderr, /^vlogdump: Invalid values:/)
  })

  it('--help lists the options and the exit codes; --version prints the version', () => {
    const h = vlogdump(['--help'])
    assert.equal(h.code, 0)
    for (const o of ['--json', '--req-headers', '--max-pending', '--timeout', '--color', '--input-format', 'Exit status']) {
      assert.ok(h.stdout.includes(o), o)
    }
    const v = vlogdump(['--version'])
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8'))
    assert.deepEqual([v.code, v.stdout], [0, `${pkg.version}\n`])
  })

  it('--summary prints the accounting on stderr', () => {
    const r = vlogdump(['--summary', repoPath('fixtures/lab/lab.vxid.log')])
    assert.match(r.stderr, /^vlogdump: \d+ lines, 99 records \(99 shown, 0 incomplete\), \d+ lines skipped \(.*\); layout vxid\n$/)
  })

  it('--summary lists the incomplete reasons in a fixed order, whatever order they were met in', () => {
    // (The parallel reader adds up its blocks' counts, so the order met is not one thread's.)
    const state = new RunState(new PassThrough())
    state.stats.incomplete = { reused: 1, timeout: 2, eof: 3 }
    assert.match(summaryLine(state.stats, false), /6 incomplete: 3 eof, 2 timeout, 1 reused/)
  })

  it('a closed pipe (| head -1) ends quietly with 0', () => {
    const big = repoPath('fixtures/lab/lab.raw.log')
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" ${Array(20).fill(big).join(' ')} | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], {
      encoding: 'utf8',
      env: ENV,
    })
    assert.equal(r.stdout.split('\n').length, 2)
    assert.equal(r.stderr, 'status=0\n')
  })

  it('Ctrl-C: prints what is decided, reports what is pending, exits 130', async () => {
    const child = spawn(process.execPath, [CLI], { env: ENV })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.stdin.write('*   << Request  >> 77\n-   Begin          req 76 rxreq\n')
    child.stdin.write(readFileSync(HIT))
    // Once the hit is printed, the handler is installed and the unfinished request is pending.
    await new Promise<void>((r) => child.stdout.on('data', () => (out.includes('HIT') ? r() : undefined)))
    child.kill('SIGINT')
    const code = await new Promise((r) => child.on('close', r))
    assert.equal(code, 130)
    assert.match(out, /HIT/)
    assert.match(err, /interrupted with 1 transactions pending/)
  })

  it('colors only when asked or on a terminal', () => {
    assert.doesNotMatch(vlogdump([HIT]).stdout, /\x1b\[/)
    assert.match(vlogdump(['--color=always', HIT]).stdout, /\x1b\[32mHIT/)
    assert.match(vlogdump([HIT], { env: { ...ENV, FORCE_COLOR: '1' } }).stdout, /\x1b\[/)
    assert.doesNotMatch(vlogdump(['--json', '--color=always', HIT]).stdout, /\x1b\[/, 'JSON is never colored')
  })

  const table: Array<[string, 'auto' | 'always' | 'never', boolean, Record<string, string>, boolean]> = [
    ['auto on a terminal', 'auto', true, {}, true],
    ['auto in a pipe', 'auto', false, {}, false],
    ['auto, NO_COLOR', 'auto', true, { NO_COLOR: '' }, false],
    ['auto, TERM=dumb', 'auto', true, { TERM: 'dumb' }, false],
    ['auto, FORCE_COLOR in a pipe', 'auto', false, { FORCE_COLOR: '1' }, true],
    ['auto, FORCE_COLOR=0', 'auto', true, { FORCE_COLOR: '0' }, true],
    ['always, NO_COLOR', 'always', false, { NO_COLOR: '1' }, true],
    ['never on a terminal', 'never', true, {}, false],
  ]
  for (const [name, mode, tty, env, want] of table) {
    it(`color: ${name}`, () => assert.equal(colorEnabled(mode, tty, env), want))
  }
})
