#!/usr/bin/env node
// The bin entry, and the only module that touches `process`: argv/env/tty → options → run() → process.exitCode.
// User mistakes print `vlogdump: <what went wrong>` and exit 2, without a stack trace. A closed stdout pipe
// (`| head`) ends the run quietly with 0, like grep. Ctrl-C prints what is decided and exits 130.

import { readFileSync } from 'node:fs'
import { UsageError, VlogdumpError } from './errors.js'
import { colorEnabled } from './render/palette.js'
import { run, type Input } from './run.js'

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
  const { parseArgs } = await import('./args.js')
  const parsed = parseArgs(argv, version(), (s) => process.stdout.write(s))
  if (parsed.kind === 'done') return 0
  const opts = parsed.options
  for (const h of parsed.hints) process.stderr.write(`vlogdump: ${h}\n`)
  for (const f of opts.queryFiles) {
    let text: string
    try {
      text = readFileSync(f, 'utf8')
    } catch (err) {
      throw new UsageError(`-Q: cannot read ${f}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
    opts.queries.push(text)
  }
  const names = opts.files.length === 0 ? ['-'] : opts.files
  const inputs: Input[] = names.map((name) => ({
    name,
    ...(name === '-' ? { open: () => process.stdin } : { path: name }),
  }))
  const controller = new AbortController()
  let signals = 0
  const onSignal = (): void => {
    // A second Ctrl-C ends at once.
    if (++signals > 1) process.exit(130)
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return run(
    {
      ...opts,
      useColor: opts.output !== 'json' && colorEnabled(opts.color, process.stdout.isTTY === true, process.env),
      summary: opts.summary || process.stderr.isTTY === true,
    },
    { inputs, stdout: process.stdout, stderr: process.stderr, signal: controller.signal },
  )
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    if (err instanceof VlogdumpError) process.stderr.write(`vlogdump: ${err.message}\n`)
    else process.stderr.write(`vlogdump: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exitCode = 2
  },
)
