// Owns turning parsed argv (yargs' result, or the option table's defaults for a command line of files only) into
// validated, typed Options: everything loose (strings, numbers from argv) is checked here, so no later stage
// re-checks it. No parser is loaded here.

import { UsageError } from './errors.js'
import { MAX_WINDOW } from './top/window.js'
import { OPTIONS } from './option-table.js'
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
import { parseClickHouseOptions, type ClickHouseOptions } from './sink/clickhouse/settings.js'

export type ColorMode = 'auto' | 'always' | 'never'

export type OutputMode = 'compact' | 'json' | 'log' | 'format'

/** --top: the live view (src/top/) instead of records. */
export interface TopOptions {
  /** Seconds between refreshes. */
  interval: number
  /** Seconds of the sliding window. */
  window: number
  /** The time base: the records' log time, the wall clock, or auto (cli.ts decides from the input; log in run()). */
  clock: 'auto' | 'wall' | 'log'
  /** -i: the URL filter typed after `/` ignores case, as --url does. */
  ignoreCase: boolean
  /** Test only (VLOGDUMP_TOP_CRASH_TEST, set by cli.ts): the second refresh throws, to prove the terminal is given
   *  back after a crash. */
  crashTest?: boolean
}

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
  /** -r: read this binary VSL file. */
  vslFile: string | null
  /** --via-varnishlog: -r starts varnishlog -r FILE and reads its text (the native reader otherwise). */
  viaVarnishlog: boolean
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
  /** --threads: worker threads for large files; 0 picks one per core (at most 4), 1 reads in one thread. */
  threads: number
  inputFormat: InputFormat
  summary: boolean
  filters: FilterOptions
  /** -q queries, ORed. */
  queries: string[]
  /** -Q files, read by cli.ts; their queries are ORed with -q's. */
  queryFiles: string[]
  /** -C: caseless query matching. */
  caseless: boolean
  /** --top, --interval, --window, --clock; null without --top. */
  top: TopOptions | null
  /** --clickhouse: records are inserted into ClickHouse (src/sink/clickhouse). */
  clickhouse: ClickHouseOptions | null
  /** Records are printed on stdout: false with --clickhouse and no --json, -o or -F. */
  printRecords: boolean
}

export type ParsedArgs = { kind: 'run'; options: Options; hints: string[] } | { kind: 'done' }

/** The values of the options (yargs' result shape: kebab-case keys, `_` the positionals). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ParsedArgv = { [key: string]: any; _: (string | number)[] }

export function toOptions(a: ParsedArgv, argv: string[]): ParsedArgs {

  const maxPending = a['max-pending']
  if (typeof maxPending !== 'number' || !Number.isSafeInteger(maxPending) || maxPending < 1) {
    throw new UsageError(`--max-pending: expected a whole number of at least 1, got '${String(argValue(argv, 'max-pending', 'L'))}'`)
  }
  const timeout = a.timeout
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0) {
    throw new UsageError(`--timeout: expected seconds (0 or more), got '${String(argValue(argv, 'timeout', 'T'))}'`)
  }
  const threads = a.threads
  if (typeof threads !== 'number' || !Number.isSafeInteger(threads) || threads < 0 || threads > 64) {
    throw new UsageError(`--threads: expected a whole number from 0 to 64, got '${String(argValue(argv, 'threads', 'j'))}'`)
  }
  if (a.json && a.output !== undefined && a.output !== 'json') throw new UsageError(`--json and --output ${a.output} do not go together`)
  if (a.format !== undefined && (a.json || a.output !== undefined)) throw new UsageError('--format and --json/--output do not go together')
  if (a.format !== undefined && a.format === '') throw new UsageError('--format: expected a format string')
  const clickhouse = parseClickHouseOptions({
    clickhouse: a.clickhouse,
    table: a['ch-table'],
    create: a['ch-create'],
    batch: a['ch-batch'],
    buffer: a['ch-buffer'],
    wait: a['ch-wait'],
    user: a['ch-user'],
    hostLabel: a['host-label'],
  })
  const output: OutputMode = a.format !== undefined ? 'format' : a.json ? 'json' : ((a.output as OutputMode | undefined) ?? 'compact')
  const limit = a.limit === undefined ? null : a.limit
  if (limit !== null && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new UsageError(`--limit: expected a whole number of at least 1, got '${String(argValue(argv, 'limit', 'k'))}'`)
  }
  if (a.instance !== undefined && a['read-file'] !== undefined) throw new UsageError('-n and -r do not go together')
  if ((a.instance !== undefined || a['read-file'] !== undefined) && a._.length > 0) {
    throw new UsageError(a.instance !== undefined ? '-n reads from varnishlog: give no files as well' : '-r reads one file: give no files as well')
  }
  if (a.dump && a.instance === undefined) throw new UsageError('--dump goes with -n')
  if (a['via-varnishlog'] && a['read-file'] === undefined) throw new UsageError('--via-varnishlog goes with -r')
  if ([a.stats, a['stats-only'], a['stats-json']].filter(Boolean).length > 1) throw new UsageError('choose one of --stats, --stats-only, --stats-json')
  const top = topOptions(a, argv)
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
      viaVarnishlog: !!a['via-varnishlog'],
      dump: !!a.dump,
      stats: a['stats-json'] ? 'json' : a['stats-only'] ? 'only' : a.stats ? 'with-records' : 'off',
      reqHeaders: !!a['req-headers'] || legacy.reqHeaders,
      respHeaders: !!a['resp-headers'] || legacy.respHeaders,
      bereqHeaders: !!a['bereq-headers'],
      berespHeaders: !!a['beresp-headers'],
      color: a.color as ColorMode,
      maxPending,
      timeout,
      threads,
      inputFormat: a['input-format'] as InputFormat,
      summary: !!a.summary,
      filters,
      queries: list(a.query) ?? [],
      queryFiles: list(a['query-file']) ?? [],
      caseless: !!a.caseless,
      top,
      clickhouse,
      // --top shows the records' figures, never the records.
      printRecords: top === null && (clickhouse === null || !!a.json || a.output !== undefined || a.format !== undefined),
    },
  }
}

/** --top and its settings; the options that print records or statistics do not go with it. */
function topOptions(a: ParsedArgv, argv: string[]): TopOptions | null {
  if (!a.top) {
    for (const k of ['interval', 'window', 'clock'] as const) if (a[k] !== undefined) throw new UsageError(`--${k} goes with --top`)
    return null
  }
  const clash = [
    ['json', a.json],
    ['output', a.output !== undefined],
    ['format', a.format !== undefined],
    ['stats', a.stats],
    ['stats-only', a['stats-only']],
    ['stats-json', a['stats-json']],
    ['limit', a.limit !== undefined],
    ['time', a.time],
    ['clickhouse', a.clickhouse !== undefined],
  ].find(([, on]) => on)
  if (clash !== undefined) throw new UsageError(`--top shows no records: --${String(clash[0])} does not go with it`)
  const interval = a.interval ?? 1
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 0.1 || interval > 3600) {
    throw new UsageError(`--interval: expected seconds from 0.1 to 3600, got '${String(argValue(argv, 'interval'))}'`)
  }
  const window = a.window ?? 60
  if (typeof window !== 'number' || !Number.isSafeInteger(window) || window < 1 || window > MAX_WINDOW) {
    throw new UsageError(`--window: expected whole seconds from 1 to ${MAX_WINDOW}, got '${String(argValue(argv, 'window'))}'`)
  }
  return { interval, window, clock: (a.clock as TopOptions['clock'] | undefined) ?? 'auto', ignoreCase: !!a['ignore-case'] }
}

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
function argValue(argv: string[], long: string, short?: string): string {
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i]
    if (s === `--${long}` || (short !== undefined && s === `-${short}`)) return argv[i + 1] ?? ''
    if (s.startsWith(`--${long}=`)) return s.slice(long.length + 3)
    if (short !== undefined && s.startsWith(`-${short}`) && s.length > 2) return s.slice(2)
  }
  return ''
}

/** A command line of files only (or none: stdin), with no option at all: its Options from the option table's
 *  defaults, as the parser would give them, without loading the parser (start-up time). Null for any other
 *  command line, which args.ts parses. */
export function filesOnly(argv: string[]): ParsedArgs | null {
  if (argv[0] === 'completion' || argv.some((x) => x.startsWith('-') && x !== '-')) return null
  const a: ParsedArgv = { _: [...argv] }
  for (const [key, spec] of Object.entries(OPTIONS)) if ('default' in spec) a[key] = spec.default
  return toOptions(a, argv)
}
