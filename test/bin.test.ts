// The bin as a program, the way npm links it and a shell runs it: a shell script that execs node with vlogdump's
// V8 flags and malloc setting (scripts/bundle.mjs), under Debian's /bin/sh (dash) and BusyBox's sh (Alpine's), and
// through a symlink on PATH. The other tests start `node dist/vlogdump.cjs`, which skips the bin's first two lines.
// The BusyBox cases skip only when busybox is not installed; .ci/run installs it.

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, describe, it } from 'node:test'
import { boundHeap, NODE_FLAGS } from '../src/heap.js'
import { onPath, repoPath } from './support.js'

const CLI = repoPath('dist/vlogdump.cjs')
const LAB = repoPath('fixtures/lab/lab.vxid.log')
const ENV: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, MALLOC_TRIM_THRESHOLD_: undefined }
const NO_BUSYBOX = onPath('busybox') ? null : 'busybox not installed'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const TMP = mkdtempSync(join(tmpdir(), 'vlogdump-bin-'))
after(() => rmSync(TMP, { recursive: true, force: true }))

/** What `node dist/vlogdump.cjs ARGS` prints: the reference. */
function viaNode(args: string[]): string {
  return spawnSync(process.execPath, [CLI, ...args], { env: ENV, encoding: 'utf8' }).stdout
}

/** Runs `cmd args` (the bin, however started) on stdin held open until node is running: its command line and
 *  MALLOC_TRIM_THRESHOLD_ as /proc shows them (the shell execs node in its own process), and what it printed. */
async function started(cmd: string, args: string[], env = ENV): Promise<{ argv: string[]; trim: string | null; code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s))
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s))
  child.stdin.on('error', () => {}) // a run that stops before reading stdin
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  let argv: string[] = []
  for (let i = 0; i < 200 && !/(^|\/)node$/.test(argv[0] ?? ''); i++) {
    await sleep(25)
    argv = procList(child.pid!, 'cmdline')
  }
  const trim = procList(child.pid!, 'environ').find((e) => e.startsWith('MALLOC_TRIM_THRESHOLD_='))?.split('=')[1] ?? null
  child.stdin.end(readFileSync(LAB))
  return { argv, trim, code: await exited, stdout, stderr }
}

function procList(pid: number, file: 'cmdline' | 'environ'): string[] {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1').split('\0').filter((s) => s !== '')
  } catch {
    return []
  }
}

/** node, the flags, the bin's path, then exactly the arguments given. */
function assertStarted(r: Awaited<ReturnType<typeof started>>, bin: string, args: string[]): void {
  assert.equal(r.stderr, '')
  assert.equal(r.code, 0)
  assert.match(r.argv[0], /(^|\/)node$/)
  assert.deepEqual(r.argv.slice(1), [...NODE_FLAGS, bin, ...args])
  assert.equal(r.trim, '65536')
}

describe('the bin as a program', () => {
  // Arguments with spaces, quotes, `$` and backquotes: passed on as they are ("$@").
  const ARGS = ['-F', `%m "%U" $HOME \`id\` '%s'`, '-q', 'ReqURL ~ "^/(grace|private)/ ?"']
  const QUERY = ['-q', 'ReqURL ~ "^/(grace|private)/"', '--json']

  it('starts node with its flags and prints what node dist/vlogdump.cjs prints, under /bin/sh', async () => {
    const want = viaNode([...QUERY, LAB])
    assert.ok(want.split('\n').length > 3)
    const r = await started(CLI, [...QUERY, '-'])
    assertStarted(r, CLI, [...QUERY, '-'])
    assert.equal(r.stdout, want)
    assert.equal(spawnSync(CLI, ['--version'], { encoding: 'utf8' }).stdout, viaNode(['--version']))
  })

  it('passes every argument on as it was given', async () => {
    const r = await started(CLI, ARGS)
    assertStarted(r, CLI, ARGS)
    const want = viaNode([...ARGS, LAB])
    assert.match(want, /^GET "\/grace\/1" \$HOME `id` '200'$/m)
    assert.equal(r.stdout, want)
  })

  it('runs through a symlink on PATH, as npm links it', async () => {
    const dir = join(TMP, 'path')
    mkdirSync(dir)
    symlinkSync(CLI, join(dir, 'vlogdump'))
    const r = await started('vlogdump', QUERY, { ...ENV, PATH: `${dir}:${process.env.PATH ?? ''}` })
    assertStarted(r, join(dir, 'vlogdump'), QUERY)
    assert.equal(r.stdout, viaNode([...QUERY, LAB]))
  })

  it('runs under bash', async () => {
    const r = await started('bash', [CLI, ...QUERY])
    assertStarted(r, CLI, QUERY)
    assert.equal(r.stdout, viaNode([...QUERY, LAB]))
  })

  it("runs under BusyBox's sh (Alpine's /bin/sh, whose env has no -S)", async (t) => {
    if (NO_BUSYBOX !== null) return t.skip(NO_BUSYBOX)
    const r = await started('busybox', ['sh', CLI, ...QUERY])
    assertStarted(r, CLI, QUERY)
    assert.equal(r.stdout, viaNode([...QUERY, LAB]))
    // What the bin's first line was before: BusyBox's env refuses it, and vlogdump never started.
    assert.notEqual(spawnSync('busybox', ['env', '-S', 'node --version'], { encoding: 'utf8' }).status, 0)
  })
})

/** The largest young generation (MiB) of vlogdump's main thread during `node --max-semi-space-size=8
 *  dist/vlogdump.cjs ARGS` (room for 16 MiB semi-spaces: V8 grows them when enough survives), sampled by a module
 *  node loads first, every 10 ms and at exit. */
function mainYoung(args: string[]): number {
  const dir = mkdtempSync(join(TMP, 'heap-'))
  const probe = join(dir, 'probe.cjs')
  writeFileSync(
    probe,
    `const v8 = require('node:v8')
    let most = 0
    const look = () => (most = Math.max(most, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))
    setInterval(look, 10).unref()
    process.on('exit', () => { look(); require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'young'))}, String(most / 2 ** 20)) })`,
  )
  const r = spawnSync(process.execPath, ['--max-semi-space-size=8', '-r', probe, CLI, ...args], { env: ENV, encoding: 'utf8' })
  assert.match(r.stderr, /records \(/)
  return Number(readFileSync(join(dir, 'young'), 'utf8'))
}

/** The 7.1 capture 40 times over (42 MB): above the size from which a file is read by worker threads. */
function bigFile(): string {
  const path = join(TMP, 'big.log')
  const text = readFileSync(repoPath('fixtures/varnish-7.1/small.vxid.log'))
  writeFileSync(path, Buffer.concat(Array.from({ length: 40 }, () => text)))
  return path
}

describe('started without the bin (node dist/vlogdump.cjs)', () => {
  it("keeps the main thread's young generation at 1 MiB semi-spaces, with worker threads too", () => {
    const big = bigFile()
    // Each worker thread's start set V8's growth factor back to 2, and the main thread's young generation grew.
    for (const threads of ['1', '2']) {
      const young = mainYoung(['--threads', threads, '--misses', '--summary', big])
      assert.ok(young <= 2, `--threads ${threads}: ${young} MiB`)
    }
  })

  it('leaves V8 alone when node was started with the flags (the bin)', () => {
    assert.equal(boundHeap(['--expose-gc', ...NODE_FLAGS]), false)
  })

  /** The bin's bundle run with `script` loaded first (node --import): a bug of ours, staged. */
  const withImport = (script: string, args: string[]) => {
    const path = join(TMP, 'staged.mjs')
    writeFileSync(path, script)
    return spawnSync(process.execPath, ['--import', pathToFileURL(path).href, CLI, ...args], { env: ENV, encoding: 'utf8', timeout: 60_000 })
  }

  it('a run that stops with nothing left to wait for says so and exits 2, never 0 with nothing said', () => {
    // Stands for a bug of ours: every file's open made to wait for ever (a promise nothing settles), so node finds
    // its event loop empty while the run still awaits.
    const hang = "import fsp from 'node:fs/promises'\nimport { syncBuiltinESMExports } from 'node:module'\nfsp.open = () => new Promise(() => {})\nsyncBuiltinESMExports()\n"
    const r = withImport(hang, [repoPath('fixtures/lab/lab.vxid.log')])
    assert.equal(r.signal, null)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr, 'vlogdump: internal error: the run stopped before its end, with nothing left to wait for\n')
    assert.equal(r.status, 2)
  })

  it('an error thrown outside the run (a timer, a rejection nothing awaits) is an internal error, exit 2, not 1', () => {
    for (const code of ["setTimeout(() => { throw new Error('boom') }, 0)\n", "setTimeout(() => Promise.reject(new Error('boom')), 0)\n"]) {
      const r = withImport(code, ['--json', repoPath('fixtures/lab/lab.vxid.log')])
      assert.match(r.stderr, /^vlogdump: internal error: Error: boom\n/, code)
      assert.equal(r.status, 2, code)
    }
  })

  it('reports a worker thread that fails or ends, on every file, with the bin or without', () => {
    // The bundle beside a worker that throws as it loads, or ends (it does not know it is a copy).
    const dir = join(TMP, 'broken')
    mkdirSync(join(dir, 'lib'), { recursive: true })
    copyFileSync(CLI, join(dir, 'vlogdump.cjs'))
    copyFileSync(repoPath('dist/lib/vlogdump.cjs'), join(dir, 'lib', 'vlogdump.cjs'))
    const big = bigFile()
    const workers = [
      { code: "throw new Error('worker broke')\n", error: 'worker broke' },
      // Ended, with nothing left for the main thread to wait for, node ended the run: exit 0, nothing printed.
      { code: 'process.exit(0)\n', error: 'a worker thread ended (exit code 0)' },
      { code: "import { parentPort } from 'node:worker_threads'\nlet n = 0\nparentPort.on('message', () => ++n === 2 && process.exit(3))\n", error: 'a worker thread ended (exit code 3)' },
    ]
    for (const worker of workers) {
      writeFileSync(join(dir, 'lib', 'worker.js'), worker.code)
      for (const flags of [[], [...NODE_FLAGS]])
        for (const threads of ['2', '5']) {
          const r = spawnSync(process.execPath, [...flags, join(dir, 'vlogdump.cjs'), '--threads', threads, '--misses', big, big], { env: ENV, encoding: 'utf8', timeout: 60_000 })
          const what = `${worker.error}: ${flags.length === 0 ? 'without' : 'with'} the flags, --threads ${threads}`
          assert.equal(r.signal, null, what)
          assert.equal(r.stderr, `vlogdump: cannot read ${big}: ${worker.error}\n`.repeat(2), what)
          assert.equal(r.status, 2, what)
        }
    }
  })
})
