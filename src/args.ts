// Owns the command line: the yargs option table (the single source of --help) in, a validated, typed Options out.
// Everything loose (strings, numbers from argv, env) is checked here, so no later stage re-checks it.

import yargs from 'yargs'
import { UsageError } from './errors.js'
import type { InputFormat } from './parse/layout.js'
import type { Pattern } from './filter/predicate.js'
import {
  NO_FILTERS,
  parseClient,
  parseHandling,
  parsePattern,
  parseStatus,
  parseVxids,
  backtrackWarning,
  type FilterOptions,
  type SlowBy,
} from './filter/flags.js'

export type ColorMode = 'auto' | 'always' | 'never'

export type OutputMode = 'compact' | 'json' | 'log' | 'format'

export interface Options {
  files: string[]
  output: OutputMode
  /** -F: the varnishncsa format string (output 'format'). */
  format: string | null
  /** --time: prefix compact entries with their start time. */
  time: boolean
  /** -k: stop after this many records shown. */
  limit: number | null
  /** -n: read from this running Varnish instance (varnishlog -n). */
  instance: string | null
  /** -r: read this binary VSL file (varnishlog -r). */
  vslFile: string | null
  /** -d: with -n, read the shared log from its start and exit (varnishlog -d). */
  dump: boolean
  /** --stats (after the records), --stats-only, --stats-json (one JSON object, no records). */
  stats: 'off' | 'with-records' | 'only' | 'json'
  reqHeaders: boolean
  respHeaders: boolean
  bereqHeaders: boolean
  berespHeaders: boolean
  color: ColorMode
  maxPending: number
  timeout: number
  inputFormat: InputFormat
  summary: boolean
  filters: FilterOptions
  /** -q queries, ORed. */
  queries: string[]
  /** -Q files, read by cli.ts; their queries are ORed with -q's. */
  queryFiles: string[]
  /** -C: caseless query matching. */
  caseless: boolean
}

export type ParsedArgs = { kind: 'run'; options: Options; hints: string[] } | { kind: 'done' }

const INPUT = 'Input:'
const OUTPUT = 'Output:'
const LIMITS = 'Limits:'
const FILTERS = 'Filters (all given must match):'
const QUERY = 'Query (varnishlog -q):'

const LIVE = 'Live (varnishlog started by vlogdump):'
const STATS = 'Statistics:'

const EPILOG = `Examples:
  varnishlog | vlogdump --misses --slow 200   live, on a cache host (or: vlogdump -n <instance> …)
  vlogdump capture.log.gz --status 5xx        replay a saved capture (any varnishlog layout, gzip or not)
  vlogdump --json access.log | jq .timing     script it
  vlogdump -F ncsa access.log                 varnishncsa's format; -F '%h %s %D %U' for your own

Exit status: 0 if a record was printed, 1 if none was, 2 on an error (a closed pipe counts as success).`

/** Parses argv (without node and the script). Help and version are printed to `print`; errors throw UsageError. */
export function parseArgs(argv: string[], version: string, print: (s: string) => void): ParsedArgs {
  let printed = false
  const y = yargs(argv)
    .scriptName('vlogdump')
    .usage('Usage: $0 [options] [file ...]\n\nOne compact record per client request from varnishlog text (stdin, or files in order; - is stdin).')
    .option('json', { type: 'boolean', group: OUTPUT, describe: 'Print one JSON object per record per line (= --output json)' })
    .option('output', {
      alias: 'o',
      type: 'string',
      choices: ['compact', 'json', 'log'],
      group: OUTPUT,
      describe: 'compact (default), json, or log: the original varnishlog lines of each record (vlogdump can read them again)',
    })
    .option('format', {
      alias: 'F',
      type: 'string',
      group: OUTPUT,
      describe: "varnishncsa's format language; 'ncsa' for its default format",
    })
    .option('stats', { type: 'boolean', group: STATS, describe: 'After the records, a summary: hit ratio, handling and status counts, percentiles, top URLs, a latency histogram' })
    .option('stats-only', { type: 'boolean', group: STATS, describe: 'The summary without the records' })
    .option('stats-json', { type: 'boolean', group: STATS, describe: 'The summary as one JSON object, without the records' })
    .option('time', { type: 'boolean', group: OUTPUT, describe: 'Start each compact entry with its start time (ISO 8601)' })
    .option('limit', { alias: 'k', type: 'number', group: LIMITS, describe: 'Stop after N records shown' })
    .option('instance', { alias: 'n', type: 'string', group: LIVE, describe: 'Start varnishlog -n NAME and read it' })
    .option('read-file', { alias: 'r', type: 'string', group: LIVE, describe: 'Start varnishlog -r FILE (a binary log from varnishlog -w) and read it' })
    .option('dump', { alias: 'd', type: 'boolean', group: LIVE, describe: 'With -n: read the log from its start, then exit (varnishlog -d)' })
    .completion('completion', 'Print a shell completion script (bash; zsh with bashcompinit)')
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
    .option('hits', { type: 'boolean', group: FILTERS, describe: 'Served from cache (grace hits included)' })
    .option('misses', { type: 'boolean', group: FILTERS, describe: 'Not served from cache: miss, pass, pipe, synth, hitmiss, hitpass' })
    .option('handling', { type: 'string', group: FILTERS, describe: 'Any of: hit,miss,pass,pipe,synth,hitmiss,hitpass' })
    .option('grace', { type: 'boolean', group: FILTERS, describe: 'Grace hits: a stale object was served' })
    .option('restarted', { type: 'boolean', group: FILTERS, describe: 'Requests that were restarted' })
    .option('esi', { type: 'boolean', group: FILTERS, describe: 'Requests with ESI children' })
    .option('incomplete', { type: 'boolean', group: FILTERS, describe: 'Records printed before they were complete' })
    .option('slow', { type: 'string', group: FILTERS, describe: 'Took at least MS milliseconds (default 1000)' })
    .option('slow-by', {
      type: 'string',
      choices: ['total', 'ttfb', 'backend'],
      default: 'total',
      group: FILTERS,
      describe: 'The time --slow looks at: total, time to first byte, or the backend fetch',
    })
    .option('status', { type: 'string', group: FILTERS, describe: "Response status: 404, 5xx, 4xx,5xx, 500-599, '!200'" })
    .option('url', { type: 'string', group: FILTERS, describe: 'URL (as received) matches REGEX; a leading ! negates' })
    .option('method', { type: 'string', group: FILTERS, describe: 'Method matches REGEX' })
    .option('host', { type: 'string', group: FILTERS, describe: 'Host header matches REGEX' })
    .option('backend', { type: 'string', group: FILTERS, describe: 'Backend name matches REGEX' })
    .option('req-header', { type: 'string', group: FILTERS, describe: "A request header line ('Name: value') matches REGEX" })
    .option('resp-header', { type: 'string', group: FILTERS, describe: 'A response header line matches REGEX' })
    .option('bereq-header', { type: 'string', group: FILTERS, describe: 'A backend request header line matches REGEX' })
    .option('beresp-header', { type: 'string', group: FILTERS, describe: 'A backend response header line matches REGEX' })
    .option('vcl-log', { type: 'string', group: FILTERS, describe: 'A VCL_Log record matches REGEX' })
    .option('client', { type: 'string', group: FILTERS, describe: 'Client IP matches REGEX or is in a CIDR network (10.0.0.0/8, 2001:db8::/32)' })
    .option('client-header', { type: 'string', group: FILTERS, describe: 'Take the client IP from this request header when present (X-Real-IP, X-Forwarded-For)' })
    .option('vxid', { type: 'string', group: FILTERS, describe: 'Records containing these vxids (N[,N...])' })
    .option('ignore-case', { alias: 'i', type: 'boolean', group: FILTERS, describe: 'Case-insensitive regex filters' })
    .option('query', { alias: 'q', type: 'string', group: QUERY, describe: "varnishlog's query language; several are ORed" })
    .option('query-file', { alias: 'Q', type: 'string', group: QUERY, describe: 'Read queries from a file (one per line, # comments, \\ continues)' })
    .option('caseless', { alias: 'C', type: 'boolean', group: QUERY, describe: 'Caseless regex and string matching in queries' })
    .option('v', {
      type: 'string',
      group: 'The original vlogdump options:',
      describe: 'name=value: show_req_headers, show_resp_headers, client_match, req_headers_match, resp_headers_match, req_method, only_hits, only_misses, only_slow, only_status, url_match',
    })
    .option('input-format', {
      type: 'string',
      choices: ['auto', 'vxid', 'request', 'session', 'raw', 'legacy'],
      default: 'auto',
      group: INPUT,
      describe: 'The varnishlog layout of the input (-g grouping; legacy: Varnish 2.1/3.0); auto detects it',
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

  const maxPending = a['max-pending']
  if (typeof maxPending !== 'number' || !Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new UsageError(`--max-pending: expected a whole number of at least 1, got '${String(argValue(argv, 'max-pending', 'L'))}'`)
  }
  const timeout = a.timeout
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new UsageError(`--timeout: expected seconds (0 or more), got '${String(argValue(argv, 'timeout', 'T'))}'`)
  }
  if (a.json && a.output !== undefined && a.output !== 'json') throw new UsageError(`--json and --output ${a.output} do not go together`)
  if (a.format !== undefined && (a.json || a.output !== undefined)) throw new UsageError('--format and --json/--output do not go together')
  if (a.format !== undefined && a.format === '') throw new UsageError('--format: expected a format string')
  const output: OutputMode = a.format !== undefined ? 'format' : a.json ? 'json' : ((a.output as OutputMode | undefined) ?? 'compact')
  const limit = a.limit === undefined ? null : a.limit
  if (limit !== null && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new UsageError(`--limit: expected a whole number of at least 1, got '${String(argValue(argv, 'limit', 'k'))}'`)
  }
  if (a.instance !== undefined && a['read-file'] !== undefined) throw new UsageError('-n and -r do not go together')
  if ((a.instance !== undefined || a['read-file'] !== undefined) && a._.length > 0) {
    throw new UsageError('-n/-r read from varnishlog: give no files as well')
  }
  if (a.dump && a.instance === undefined) throw new UsageError('--dump goes with -n')
  if ([a.stats, a['stats-only'], a['stats-json']].filter(Boolean).length > 1) throw new UsageError('choose one of --stats, --stats-only, --stats-json')
  const hints: string[] = []
  // Repeatable options: yargs gives a string once, an array when repeated.
  const list = (v: unknown): string[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.map(String) : [String(v)])
  const legacy = legacyOptions(list(a.v) ?? [], hints)
  const ic = !!a['ignore-case']
  const patterns = (flag: string, values: string[] | undefined, extra: string[] = []): Pattern[] =>
    [...(values ?? []), ...extra].map((v) => {
      const p = parsePattern(flag, v, ic)
      const warning = backtrackWarning(flag, p.re)
      if (warning !== null) hints.push(warning)
      return p
    })
  // --slow takes an optional value: `--slow access.log` means 1000 ms and a file.
  const files = a._.map(String)
  let slowSpec = a.slow ?? legacy.slow
  if (a.slow !== undefined && a.slow !== '' && !Number.isFinite(Number(a.slow))) {
    files.unshift(a.slow)
    slowSpec = ''
  }
  const filters: FilterOptions = {
    ...NO_FILTERS,
    hits: !!a.hits || legacy.hits,
    misses: !!a.misses || legacy.misses,
    handling: a.handling === undefined ? null : parseHandling(a.handling),
    grace: !!a.grace,
    restarted: !!a.restarted,
    esi: !!a.esi,
    incomplete: !!a.incomplete,
    slow: slowSpec === undefined ? null : parseSlow(slowSpec),
    slowBy: a['slow-by'] as SlowBy,
    status: [...(list(a.status) ?? []), ...legacy.status].map(parseStatus),
    url: patterns('--url', list(a.url), legacy.url),
    method: patterns('--method', list(a.method), legacy.method),
    host: patterns('--host', list(a.host)),
    backend: patterns('--backend', list(a.backend)),
    reqHeader: patterns('--req-header', list(a['req-header']), legacy.reqHeader),
    respHeader: patterns('--resp-header', list(a['resp-header']), legacy.respHeader),
    bereqHeader: patterns('--bereq-header', list(a['bereq-header'])),
    berespHeader: patterns('--beresp-header', list(a['beresp-header'])),
    vclLog: patterns('--vcl-log', list(a['vcl-log'])),
    client: [...(list(a.client) ?? []), ...legacy.client].map((c) => parseClient(c, ic)),
    clientHeader: a['client-header'] ?? null,
    vxid: a.vxid === undefined ? null : parseVxids(list(a.vxid) ?? []),
  }
  return {
    kind: 'run',
    hints,
    options: {
      files,
      output,
      format: a.format ?? null,
      time: !!a.time,
      limit,
      instance: a.instance ?? null,
      vslFile: a['read-file'] ?? null,
      dump: !!a.dump,
      stats: a['stats-json'] ? 'json' : a['stats-only'] ? 'only' : a.stats ? 'with-records' : 'off',
      reqHeaders: !!a['req-headers'] || legacy.reqHeaders,
      respHeaders: !!a['resp-headers'] || legacy.respHeaders,
      bereqHeaders: !!a['bereq-headers'],
      berespHeaders: !!a['beresp-headers'],
      color: a.color as ColorMode,
      maxPending,
      timeout,
      inputFormat: a['input-format'] as InputFormat,
      summary: !!a.summary,
      filters,
      queries: list(a.query) ?? [],
      queryFiles: list(a['query-file']) ?? [],
      caseless: !!a.caseless,
    },
  }
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
function parseSlow(v: string): number {
  if (v === '') return 1000
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--slow: expected milliseconds, got '${v}'`)
  return n
}

interface Legacy {
  reqHeaders: boolean
  respHeaders: boolean
  hits: boolean
  misses: boolean
  slow: string | undefined
  status: string[]
  url: string[]
  method: string[]
  reqHeader: string[]
  respHeader: string[]
  client: string[]
}

/** The original vlogdump's `-v name=value` options (it was an awk script), mapped onto the new flags, each with a
 *  one-line hint showing the new spelling. */
function legacyOptions(values: string[], hints: string[]): Legacy {
  const l: Legacy = {
    reqHeaders: false,
    respHeaders: false,
    hits: false,
    misses: false,
    slow: undefined,
    status: [],
    url: [],
    method: [],
    reqHeader: [],
    respHeader: [],
    client: [],
  }
  for (const v of values) {
    const eq = v.indexOf('=')
    const name = eq < 0 ? v : v.slice(0, eq)
    const value = eq < 0 ? '' : v.slice(eq + 1)
    const on = value !== '' && value !== '0'
    const quoted = shellQuote(value)
    let now: string
    switch (name) {
      case 'show_req_headers':
        l.reqHeaders = on
        now = on ? '--req-headers' : '(off: the default)'
        break
      case 'show_resp_headers':
        l.respHeaders = on
        now = on ? '--resp-headers' : '(off: the default)'
        break
      case 'only_hits':
        l.hits = on
        now = on ? '--hits' : '(off: the default)'
        break
      case 'only_misses':
        l.misses = on
        now = on ? '--misses' : '(off: the default)'
        break
      case 'only_slow': {
        // The original took 1 to mean "slow", i.e. one second; any other number is milliseconds.
        const ms = value === '1' ? '1000' : value
        if (on) l.slow = ms
        now = on ? `--slow ${ms}` : '(off: the default)'
        break
      }
      case 'only_status':
        l.status.push(value)
        now = `--status ${quoted}`
        break
      case 'url_match':
        l.url.push(value)
        now = `--url ${quoted}`
        break
      case 'req_method': {
        // An exact method, case-insensitive; `!` still negates.
        const neg = value.startsWith('!')
        const m = `${neg ? '!' : ''}^(?:${escapeRegex(neg ? value.slice(1) : value)})$`
        l.method.push(m)
        now = `--method ${shellQuote(m)}`
        break
      }
      case 'req_headers_match':
        l.reqHeader.push(value)
        now = `--req-header ${quoted}`
        break
      case 'resp_headers_match':
        l.respHeader.push(value)
        now = `--resp-header ${quoted}`
        break
      case 'client_match':
        l.client.push(value)
        now = `--client ${quoted}`
        break
      default:
        throw new UsageError(
          `-v ${name}: not an option of the original vlogdump (show_req_headers, show_resp_headers, client_match, req_headers_match, resp_headers_match, req_method, only_hits, only_misses, only_slow, only_status, url_match)`,
        )
    }
    hints.push(`-v ${v} is now ${now}`)
  }
  return l
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_.,:\/=+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`
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
