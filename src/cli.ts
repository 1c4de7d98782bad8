#!/usr/bin/env node
// The bin entry, and the only module that touches `process`: argv/env/tty → options → run() → process.exitCode.
// User mistakes print `vlogdump: <what went wrong>` and exit 2, without a stack trace. A closed stdout pipe
// (`| head`) ends the run quietly with 0, like grep. Ctrl-C prints what is decided and exits 130.

import type { ChildProcess } from 'node:child_process'
import { fstatSync, readFileSync, statSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { setFlagsFromString } from 'node:v8'
import { UsageError, VlogdumpError } from './errors.js'
import { boundHeap } from './heap.js'
import { filesOnly } from './options.js'
import { colorEnabled } from './render/palette.js'
import { run, type Input } from './run.js'
import type { Options } from './options.js'
import type { RecordSink } from './sink/sink.js'
import type { Terminal } from './top/terminal.js'

/** --top's terminal while it is taken: given back before any message is written, on every way out. */
let terminal: Terminal | null = null

// User regexes (--url, -q …) run on client-controlled text, and a pattern like `(a+)+$` backtracks exponentially;
// JavaScript has no time limit for a match. So V8 is told to rerun a match in its linear-time engine once it has
// backtracked too much (50,000 times by default). A regex is set up for that when it is compiled, so this comes
// before any user pattern is (in parseArgs). The second flag enables the `l` flag, with which backtrackWarning
// asks whether a pattern can take the fallback (no backreferences, lookarounds, -i).
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
setFlagsFromString('--enable-experimental-regexp-engine')
// The bin's heap flags, when node was started without them (src/heap.ts); before any worker thread starts.
boundHeap(process.execArgv)

// Inlined by scripts/bundle.mjs; read from package.json when running the unbundled tsc output.
declare const VLOGDUMP_VERSION: string | undefined

function version(): string {
  if (typeof VLOGDUMP_VERSION === 'string') return VLOGDUMP_VERSION
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2)
  // `--version` alone answers before the option parser is even loaded (start-up time).
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(version() + '\n')
    return 0
  }
  // Files only (the usual `vlogdump capture.log`, or stdin): no parser to load. Anything else goes to yargs.
  const parsed = filesOnly(argv) ?? (await import('./args.js')).parseArgs(argv, version(), (s) => process.stdout.write(s))
  if (parsed.kind === 'done') return 0
  const opts = parsed.options
  for (const h of parsed.hints) process.stderr.write(`vlogdump: ${h}\n`)
  let sink: RecordSink | undefined
  if (opts.clickhouse !== null) {
    // Loaded only for --clickhouse (node:http, zlib). The password comes from the environment only, and goes
    // nowhere but the Authorization header.
    const [{ hostname }, ch, { PASSWORD_ENV }] = await Promise.all([import('node:os'), import('./sink/clickhouse/sink.js'), import('./sink/clickhouse/settings.js')])
    opts.clickhouse.hostLabel ??= hostname()
    const settings = { ...opts.clickhouse, password: process.env[PASSWORD_ENV] ?? null }
    if (opts.clickhouse.create) {
      if (opts.files.length > 0 || opts.instance !== null || opts.vslFile !== null) throw new UsageError('--ch-create prints a CREATE TABLE and reads nothing: give no input')
      process.stdout.write(await ch.createTableFor(settings))
      return 0
    }
    sink = new ch.ClickHouseSink(settings)
  }
  for (const f of opts.queryFiles) {
    let text: string
    try {
      text = readFileSync(f, 'utf8')
    } catch (err) {
      throw new UsageError(`-Q: cannot read ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
    opts.queries.push(text)
  }
  // -r FILE is read as a file argument is (natively), unless --via-varnishlog.
  const names = opts.vslFile !== null && !opts.viaVarnishlog ? [opts.vslFile] : opts.files.length === 0 ? ['-'] : opts.files
  let inputs: Input[] = names.map((name) => ({
    name,
    ...(name === '-' ? { open: () => process.stdin } : { path: name }),
  }))
  // With -n (or -r --via-varnishlog) the input is varnishlog's output, not stdin.
  const readsStdin = opts.instance === null && !opts.viaVarnishlog && names.includes('-')
  if (opts.top !== null) await setUpTop(opts, readsStdin)
  let child: ChildProcess | null = null
  if (opts.instance !== null || opts.viaVarnishlog) {
    // -n, -r with --via-varnishlog: varnishlog does the reading, in its default grouping (each transaction printed when it ends, so
    // records come out as soon as they are complete); vlogdump reads its output.
    const args = opts.instance !== null ? ['-n', opts.instance, ...(opts.dump ? ['-d'] : [])] : ['-r', opts.vslFile!]
    child = await startVarnishlog(args, terminal?.stderr ?? null)
    const out = child.stdout!
    inputs = [{ name: `varnishlog ${args.join(' ')}`, open: () => out }]
  }
  const controller = new AbortController()
  let signals = 0
  const onSignal = (): void => {
    // A second Ctrl-C ends at once.
    if (++signals > 1) process.exit(130)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // The terminal hung up under --top: stop as on SIGTERM.
  if (terminal !== null) process.on('SIGHUP', onSignal)
  // A progress line only on a terminal, and only for files (a pipe or varnishlog has no end to measure); not under --top.
  const files = child === null && names.every((n) => n !== '-')
  const progress = process.stderr.isTTY === true && files && opts.top === null ? { stream: process.stderr, totalBytes: totalSize(names) } : undefined
  try {
    const code = await run(
      {
        ...opts,
        useColor: opts.output === 'compact' && opts.stats !== 'json' && colorEnabled(opts.color, process.stdout.isTTY === true, process.env),
        // Under --top the view is the summary: the line only when asked for (and after Ctrl-C).
        summary: opts.summary || (process.stderr.isTTY === true && opts.top === null),
      },
      {
        inputs,
        stdout: process.stdout,
        stderr: terminal?.stderr ?? process.stderr,
        signal: controller.signal,
        progress,
        sink,
        ...(terminal !== null ? { terminal } : {}),
      },
    )
    if (child !== null) {
      const status = await stopVarnishlog(child)
      if (status !== 0 && code !== 130) {
        process.stderr.write(`vlogdump: varnishlog exited with status ${status}\n`)
        return 2
      }
    }
    return code
  } finally {
    child?.kill()
  }
}

/** --top: its time base when auto (the wall clock for live input — -n without -d, or a pipe —, log time for
 *  files), and on a terminal the terminal to take: keys from /dev/tty (stdin may be the log), given back on every
 *  way out, a crash included. */
async function setUpTop(opts: Options, readsStdin: boolean): Promise<void> {
  const top = opts.top!
  const stdinIsTTY = process.stdin.isTTY === true
  if (readsStdin && stdinIsTTY) {
    throw new UsageError('--top reads the log from files, -n or a pipe (varnishlog | vlogdump --top); stdin is a terminal')
  }
  if (top.clock === 'auto') top.clock = (opts.instance !== null && !opts.dump) || (readsStdin && !stdinIsFile()) ? 'wall' : 'log'
  if (process.env.VLOGDUMP_TOP_CRASH_TEST === '1') top.crashTest = true
  if (process.stdout.isTTY !== true || process.env.TERM === 'dumb') return
  const [{ ReadStream }, { openSync }, { Terminal }] = await Promise.all([import('node:tty'), import('node:fs'), import('./top/terminal.js')])
  let keys: import('node:tty').ReadStream | null = null
  try {
    keys = new ReadStream(openSync('/dev/tty', 'r'))
  } catch {
    // No controlling terminal: stdin, when it is one and not the log; else no keys (Ctrl-C still works).
    if (stdinIsTTY && !readsStdin) keys = process.stdin
  }
  terminal = new Terminal(
    process.stdout,
    keys,
    (s) => process.stdout.write(s), // synchronous on a terminal (POSIX), also in an 'exit' handler
    (b) => process.stderr.write(b),
  )
  process.on('exit', () => terminal?.leave())
}

function stdinIsFile(): boolean {
  try {
    return fstatSync(0).isFile()
  } catch {
    return false
  }
}

/** Starts varnishlog; a clear message when it is not installed. Killed when vlogdump exits, whatever the reason.
 *  `stderr`: where its messages go (--top holds them while it has the screen), or null for vlogdump's stderr. */
async function startVarnishlog(args: string[], stderr: Writable | null): Promise<ChildProcess> {
  // Loaded here, not at start-up: only -n and -r need it (and it brings net and dgram with it).
  const { spawn } = await import('node:child_process')
  const child = spawn('varnishlog', args, { stdio: ['ignore', 'pipe', stderr === null ? 'inherit' : 'pipe'] })
  if (stderr !== null) child.stderr!.on('data', (c: Buffer) => stderr.write(c))
  process.on('exit', () => child.kill())
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new VlogdumpError("varnishlog not found: -n and --via-varnishlog need Varnish's tools (Debian/Ubuntu: apt-get install varnish), or pipe its output in: varnishlog | vlogdump")
          : new VlogdumpError(`cannot start varnishlog: ${err.message}`),
      ),
    )
  })
  return child
}

/** Ends varnishlog if it still runs (vlogdump stopped early: -k, a closed pipe, Ctrl-C); its exit status, 0 when
 *  it was stopped by us. */
async function stopVarnishlog(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return child.exitCode
  if (child.signalCode !== null) return 0
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 0)))
  // Its output ended: it is exiting (give it a moment to say how). Still running after that: we stopped reading
  // first (-k, a closed pipe, Ctrl-C), which is no error of varnishlog's.
  const status = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 300).unref())])
  if (status !== null) return status
  child.kill()
  await exited
  return 0
}

function totalSize(names: string[]): number | null {
  // Compressed files grow when read: no total for them.
  if (names.some((n) => n.endsWith('.gz'))) return null
  let total = 0
  for (const n of names) {
    try {
      total += statSync(n).size
    } catch {
      return null
    }
  }
  return total
}

let settled = false

/** Ends the run as failed, once: the terminal given back (--top), `vlogdump: <message>` said, exit status 2. */
function fail(message: string): void {
  settled = true
  terminal?.leave()
  process.stderr.write(`vlogdump: ${message}\n`)
  process.exitCode = 2
}

const internal = (err: unknown): string => `internal error: ${(err as Error)?.stack ?? String(err)}`

// An error that escapes main() (a bug of ours in a timer or a handler, or a rejection nothing awaited) is said as
// one, with 2 (node's own way is a raw stack trace and 1, which is "nothing matched"), and never leaves --top's
// terminal raw and on the alternate screen.
process.on('uncaughtException', (err) => {
  fail(internal(err))
  process.exit(2)
})
// Node ends a process whose event loop has nothing left to do, even while main() still awaits: a run that waits
// for what can never come (a bug of ours) would end with 0 and nothing said. Said, with 2.
process.on('beforeExit', () => {
  if (!settled) fail('internal error: the run stopped before its end, with nothing left to wait for')
})

main().then(
  (code) => {
    if (settled) return // said already: an internal error
    settled = true
    process.exitCode = code
    // Interrupted with stdout stuck (its reader stopped reading): what could not be written is given up on,
    // rather than waiting for ever. Otherwise the process ends when its output is written.
    if (code === 130) setTimeout(() => process.exit(130), 1000).unref()
  },
  (err: unknown) => {
    if (!settled) fail(err instanceof VlogdumpError ? err.message : internal(err))
  },
)
