#!/usr/bin/env node
// The bin entry, and the only module that touches `process`: argv/env/tty → options → run() → process.exitCode.
// User mistakes print `vlogdump: <what went wrong>` and exit 2, without a stack trace. A closed stdout pipe
// (`| head`) ends the run quietly with 0, like grep. Ctrl-C prints what is decided and exits 130.

import type { ChildProcess } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { UsageError, VlogdumpError } from './errors.js'
import { filesOnly } from './options.js'
import { colorEnabled } from './render/palette.js'
import { run, type Input } from './run.js'
import type { RecordSink } from './sink/sink.js'

// User regexes (--url, -q …) run on client-controlled text, and a pattern like `(a+)+$` backtracks exponentially;
// JavaScript has no time limit for a match. So V8 is told to rerun a match in its linear-time engine once it has
// backtracked too much (50,000 times by default). A regex is set up for that when it is compiled, so this comes
// before any user pattern is (in parseArgs). The second flag enables the `l` flag, with which backtrackWarning
// asks whether a pattern can take the fallback (no backreferences, lookarounds, -i).
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
setFlagsFromString('--enable-experimental-regexp-engine')

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
  let child: ChildProcess | null = null
  if (opts.instance !== null || opts.viaVarnishlog) {
    // -n, -r with --via-varnishlog: varnishlog does the reading, in its default grouping (each transaction printed when it ends, so
    // records come out as soon as they are complete); vlogdump reads its output.
    const args = opts.instance !== null ? ['-n', opts.instance, ...(opts.dump ? ['-d'] : [])] : ['-r', opts.vslFile!]
    child = await startVarnishlog(args)
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
  // A progress line only on a terminal, and only for files (a pipe or varnishlog has no end to measure).
  const files = child === null && names.every((n) => n !== '-')
  const progress = process.stderr.isTTY === true && files ? { stream: process.stderr, totalBytes: totalSize(names) } : undefined
  try {
    const code = await run(
      {
        ...opts,
        useColor: opts.output === 'compact' && opts.stats !== 'json' && colorEnabled(opts.color, process.stdout.isTTY === true, process.env),
        summary: opts.summary || process.stderr.isTTY === true,
      },
      { inputs, stdout: process.stdout, stderr: process.stderr, signal: controller.signal, progress, sink },
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

/** Starts varnishlog; a clear message when it is not installed. Killed when vlogdump exits, whatever the reason. */
async function startVarnishlog(args: string[]): Promise<ChildProcess> {
  // Loaded here, not at start-up: only -n and -r need it (and it brings net and dgram with it).
  const { spawn } = await import('node:child_process')
  const child = spawn('varnishlog', args, { stdio: ['ignore', 'pipe', 'inherit'] })
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

main().then(
  (code) => {
    process.exitCode = code
    // Interrupted with stdout stuck (its reader stopped reading): what could not be written is given up on,
    // rather than waiting for ever. Otherwise the process ends when its output is written.
    if (code === 130) setTimeout(() => process.exit(130), 1000).unref()
  },
  (err: unknown) => {
    if (err instanceof VlogdumpError) process.stderr.write(`vlogdump: ${err.message}\n`)
    else process.stderr.write(`vlogdump: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exitCode = 2
  },
)
