// Owns the command line: the yargs option table (the single source of --help) in, a validated, typed Options out.
// Everything loose (strings, numbers from argv, env) is checked here, so no later stage re-checks it.

import yargs from 'yargs'
import { UsageError } from './errors.js'
import type { InputFormat } from './parse/layout.js'

export type ColorMode = 'auto' | 'always' | 'never'

export interface Options {
  files: string[]
  output: 'compact' | 'json'
  reqHeaders: boolean
  respHeaders: boolean
  bereqHeaders: boolean
  berespHeaders: boolean
  color: ColorMode
  maxPending: number
  timeout: number
  inputFormat: InputFormat
  summary: boolean
}

export type ParsedArgs = { kind: 'run'; options: Options } | { kind: 'done' }

const INPUT = 'Input:'
const OUTPUT = 'Output:'
const LIMITS = 'Limits:'

const EPILOG = `Examples:
  varnishlog | vlogdump                      live, on a cache host
  vlogdump capture.log.gz --resp-headers     replay a saved capture (any varnishlog layout, gzip or not)
  vlogdump --json access.log | jq .timing    script it

Exit status: 0 if a record was printed, 1 if none was, 2 on an error (a closed pipe counts as success).`

/** Parses argv (without node and the script). Help and version are printed to `print`; errors throw UsageError. */
export function parseArgs(argv: string[], version: string, print: (s: string) => void): ParsedArgs {
  let printed = false
  const y = yargs(argv)
    .scriptName('vlogdump')
    .usage('Usage: $0 [options] [file ...]\n\nOne compact record per client request from varnishlog text (stdin, or files in order; - is stdin).')
    .option('json', { type: 'boolean', group: OUTPUT, describe: 'Print one JSON object per record per line' })
    .option('req-headers', { type: 'boolean', group: OUTPUT, describe: 'Show the request headers as received' })
    .option('resp-headers', { type: 'boolean', group: OUTPUT, describe: 'Show the response headers as sent' })
    .option('bereq-headers', { type: 'boolean', group: OUTPUT, describe: 'Show the backend request headers as sent' })
    .option('beresp-headers', { type: 'boolean', group: OUTPUT, describe: 'Show the backend response headers as received' })
    .option('color', {
      type: 'string',
      choices: ['auto', 'always', 'never'],
      default: 'auto',
      group: OUTPUT,
      describe: 'Color the compact view (auto: stdout is a terminal, NO_COLOR unset, TERM not dumb)',
    })
    .option('summary', { type: 'boolean', group: OUTPUT, describe: 'Print a summary line on stderr at the end (default when stderr is a terminal)' })
    .option('input-format', {
      type: 'string',
      choices: ['auto', 'vxid', 'request', 'session', 'raw'],
      default: 'auto',
      group: INPUT,
      describe: 'The varnishlog layout of the input (-g grouping); auto detects it',
    })
    .option('max-pending', {
      alias: 'L',
      type: 'number',
      default: 10000,
      group: LIMITS,
      describe: 'Most unfinished transactions kept; the oldest is then printed as incomplete (overflow)',
    })
    .option('timeout', {
      alias: 'T',
      type: 'number',
      default: 120,
      group: LIMITS,
      describe: 'Seconds (of log time) a transaction may stay unfinished before it is printed as incomplete; 0: no limit',
    })
    .strictOptions()
    .exitProcess(false)
    .version(version)
    .help()
    .alias('help', 'h')
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw new UsageError(msg || err?.message || 'invalid arguments')
    })
  // With exitProcess(false) yargs prints help/version itself and reports them in the result.
  const orig = console.log
  console.log = (...a: unknown[]) => {
    printed = true
    print(a.join(' ') + '\n')
  }
  let a
  try {
    a = y.parseSync()
  } finally {
    console.log = orig
  }
  if (printed || a.help || a.version) return { kind: 'done' }

  const maxPending = a['max-pending']
  if (typeof maxPending !== 'number' || !Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new UsageError(`--max-pending: expected a whole number of at least 1, got '${String(argValue(argv, 'max-pending', 'L'))}'`)
  }
  const timeout = a.timeout
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new UsageError(`--timeout: expected seconds (0 or more), got '${String(argValue(argv, 'timeout', 'T'))}'`)
  }
  return {
    kind: 'run',
    options: {
      files: a._.map(String),
      output: a.json ? 'json' : 'compact',
      reqHeaders: !!a['req-headers'],
      respHeaders: !!a['resp-headers'],
      bereqHeaders: !!a['bereq-headers'],
      berespHeaders: !!a['beresp-headers'],
      color: a.color as ColorMode,
      maxPending,
      timeout,
      inputFormat: a['input-format'] as InputFormat,
      summary: !!a.summary,
    },
  }
}

/** The text the user gave for an option, for error messages (yargs has already turned it into NaN). */
function argValue(argv: string[], long: string, short: string): string {
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i]
    if (s === `--${long}` || s === `-${short}`) return argv[i + 1] ?? ''
    if (s.startsWith(`--${long}=`)) return s.slice(long.length + 3)
    if (s.startsWith(`-${short}`) && s.length > 2) return s.slice(2)
  }
  return ''
}
