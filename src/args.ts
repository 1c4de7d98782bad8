// Owns the command line: the yargs option table (the single source of --help) in, a validated, typed Options out.
// Everything loose (strings, numbers from argv, env) is checked here, so no later stage re-checks it.

import yargs from 'yargs'
import { OPTIONS } from './option-table.js'
import { UsageError } from './errors.js'
import { toOptions, type ParsedArgs } from './options.js'

export type { ColorMode, Options, OutputMode, ParsedArgs } from './options.js'

const EPILOG = `Examples:
  varnishlog | vlogdump --misses --slow 200   live, on a cache host (or: vlogdump -n <instance> …)
  vlogdump capture.log.gz --status 5xx        replay a saved capture (any varnishlog layout, gzip or not)
  vlogdump --json access.log | jq .timing     script it
  vlogdump -F ncsa access.log                 varnishncsa's format; -F '%h %s %D %U' for your own
  vlogdump --top -n <instance>                what is happening now, full screen (q quits)
  varnishlog | vlogdump --clickhouse http://ch:8123   every cache host into one ClickHouse table

Exit status: 0 if a record was printed, 1 if none was, 2 on an error (a closed pipe counts as success).
With --clickhouse a record counts as printed once inserted, and 2 also says that some were not delivered.`

/** Parses argv (without node and the script). Help and version are printed to `print`; errors throw UsageError. */
export function parseArgs(argv: string[], version: string, print: (s: string) => void): ParsedArgs {
  let printed = false
  const y = yargs(argv)
    .scriptName('vlogdump')
    .usage('Usage: $0 [options] [file ...]\n\nOne compact record per client request from varnishlog text (stdin, or files in order; - is stdin).')
    .options(OPTIONS)
    .completion('completion', 'Print a shell completion script (bash; zsh with bashcompinit)')
    .strictOptions()
    .exitProcess(false)
    .version(version)
    .help()
    .alias('help', 'h')
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw new UsageError(suggest(msg || err?.message || 'invalid arguments', (y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key))
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
  return toOptions(a, argv)
}

/** `Unknown argument: jsn` → `… (did you mean --json?)` when an option name is one or two edits away. */
function suggest(text: string, known: Record<string, unknown>): string {
  let msg = text
  const m = /^Unknown arguments?: (.+)$/.exec(msg)
  if (m === null) return msg
  // yargs also lists the camelCase twin of a dashed name (req-header-x, reqHeaderX): once is enough.
  const all = m[1].split(', ')
  const camel = (a: string): string => a.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
  const args = all.filter((a) => a.includes('-') || !all.some((b) => b !== a && camel(b) === a))
  msg = `Unknown argument${args.length > 1 ? 's' : ''}: ${args.join(', ')}`
  const names = Object.keys(known).filter((k) => k.length > 1 && !/[A-Z]/.test(k))
  const hints: string[] = []
  for (const arg of args) {
    let best = ''
    let bestD = 3
    for (const n of names) {
      const d = distance(arg, n)
      if (d < bestD) {
        best = n
        bestD = d
      }
    }
    if (best !== '') hints.push(`--${best}`)
  }
  return hints.length === 0 ? msg : `${msg} (did you mean ${hints.join(', ')}?)`
}

/** Levenshtein distance, for the suggestion above. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]
}

/** `--slow` alone means 1000 ms. */
