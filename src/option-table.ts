// Owns the option table: every option's name, alias, type, default, help group and text, as data. args.ts hands
// it to yargs (the single source of --help); cli.ts reads the defaults from it for a command line of files only,
// which needs no parser at all (start-up time).

import type { Options as YargsOption } from 'yargs'

export const INPUT = 'Input:'
export const OUTPUT = 'Output:'
export const LIMITS = 'Limits:'
export const FILTERS = 'Filters (all given must match):'
export const QUERY = 'Query (varnishlog -q):'

export const LIVE = 'Live (varnishlog started by vlogdump):'
export const STATS = 'Statistics:'
export const TOP = 'Live view (--top):'
export const CLICKHOUSE = 'ClickHouse (one table for a fleet of caches):'

/** In --help order. */
export const OPTIONS = {
  json: { type: 'boolean', group: OUTPUT, describe: 'Print one JSON object per record per line (= --output json)' },
  output: {
    alias: 'o',
    type: 'string',
    choices: ['compact', 'json', 'log'],
    group: OUTPUT,
    describe: 'compact (default), json, or log: the original varnishlog lines of each record (vlogdump can read them again)',
  },
  format: {
    alias: 'F',
    type: 'string',
    group: OUTPUT,
    describe: "varnishncsa's format language; 'ncsa' for its default format",
  },
  stats: { type: 'boolean', group: STATS, describe: 'After the records, a summary: hit ratio, handling and status counts, percentiles, top URLs, a latency histogram' },
  'stats-only': { type: 'boolean', group: STATS, describe: 'The summary without the records' },
  'stats-json': { type: 'boolean', group: STATS, describe: 'The summary as one JSON object, without the records' },
  top: {
    type: 'boolean',
    group: TOP,
    describe: 'A full-screen view of what is happening now, refreshed every --interval: rates, hit ratio, percentiles per handling, status classes, top URLs and backends, the slowest requests (keys: q p s / h w); without a terminal, a plain snapshot per interval',
  },
  interval: { type: 'number', group: TOP, describe: 'Seconds between refreshes of --top (default 1)' },
  window: { type: 'number', group: TOP, describe: 'Seconds of the sliding window of --top (default 60, at most 3600)' },
  clock: {
    type: 'string',
    choices: ['auto', 'wall', 'log'],
    group: TOP,
    describe: "--top's time: log (the records' own times: replayed files), wall (arrival: live input); auto: wall for -n and a pipe, log otherwise",
  },
  time: { type: 'boolean', group: OUTPUT, describe: 'Start each compact entry with its start time (ISO 8601)' },
  limit: { alias: 'k', type: 'number', group: LIMITS, describe: 'Stop after N records shown' },
  instance: { alias: 'n', type: 'string', group: LIVE, describe: 'Start varnishlog -n NAME and read it' },
  'read-file': { alias: 'r', type: 'string', group: LIVE, describe: 'Read FILE, a binary log from varnishlog -w (as a file argument is: natively, no varnishlog needed)' },
  'via-varnishlog': { type: 'boolean', group: LIVE, describe: 'With -r: start varnishlog -r FILE and read its text instead' },
  dump: { alias: 'd', type: 'boolean', group: LIVE, describe: 'With -n: read the log from its start, then exit (varnishlog -d)' },
  'req-headers': { type: 'boolean', group: OUTPUT, describe: 'Show the request headers as received' },
  'resp-headers': { type: 'boolean', group: OUTPUT, describe: 'Show the response headers as sent' },
  'bereq-headers': { type: 'boolean', group: OUTPUT, describe: 'Show the backend request headers as sent' },
  'beresp-headers': { type: 'boolean', group: OUTPUT, describe: 'Show the backend response headers as received' },
  color: {
    type: 'string',
    choices: ['auto', 'always', 'never'],
    default: 'auto',
    group: OUTPUT,
    describe: 'Color the compact view (auto: stdout is a terminal, NO_COLOR unset, TERM not dumb)',
  },
  summary: { type: 'boolean', group: OUTPUT, describe: 'Print a summary line on stderr at the end (default when stderr is a terminal)' },
  hits: { type: 'boolean', group: FILTERS, describe: 'Served from cache (grace hits included)' },
  misses: { type: 'boolean', group: FILTERS, describe: 'Not served from cache: miss, pass, pipe, synth, hitmiss, hitpass' },
  handling: { type: 'string', group: FILTERS, describe: 'Any of: hit,miss,pass,pipe,synth,hitmiss,hitpass' },
  grace: { type: 'boolean', group: FILTERS, describe: 'Grace hits: a stale object was served' },
  restarted: { type: 'boolean', group: FILTERS, describe: 'Requests that were restarted' },
  esi: { type: 'boolean', group: FILTERS, describe: 'Requests with ESI children' },
  incomplete: { type: 'boolean', group: FILTERS, describe: 'Records printed before they were complete' },
  slow: { type: 'string', group: FILTERS, describe: 'Took at least MS milliseconds (default 1000)' },
  'slow-by': {
    type: 'string',
    choices: ['total', 'ttfb', 'backend'],
    default: 'total',
    group: FILTERS,
    describe: 'The time --slow looks at: total, time to first byte, or the backend fetch',
  },
  status: { type: 'string', group: FILTERS, describe: "Response status: 404, 5xx, 4xx,5xx, 500-599, '!200'" },
  url: { type: 'string', group: FILTERS, describe: 'URL (as received) matches REGEX; a leading ! negates' },
  method: { type: 'string', group: FILTERS, describe: 'Method matches REGEX' },
  host: { type: 'string', group: FILTERS, describe: 'Host header matches REGEX' },
  backend: { type: 'string', group: FILTERS, describe: 'Backend name matches REGEX' },
  'req-header': { type: 'string', group: FILTERS, describe: "A request header line ('Name: value') matches REGEX" },
  'resp-header': { type: 'string', group: FILTERS, describe: 'A response header line matches REGEX' },
  'bereq-header': { type: 'string', group: FILTERS, describe: 'A backend request header line matches REGEX' },
  'beresp-header': { type: 'string', group: FILTERS, describe: 'A backend response header line matches REGEX' },
  'vcl-log': { type: 'string', group: FILTERS, describe: 'A VCL_Log record matches REGEX' },
  client: { type: 'string', group: FILTERS, describe: 'Client IP matches REGEX or is in a CIDR network (10.0.0.0/8, 2001:db8::/32)' },
  'client-header': { type: 'string', group: FILTERS, describe: 'Take the client IP from this request header when present (X-Real-IP, X-Forwarded-For)' },
  vxid: { type: 'string', group: FILTERS, describe: 'Records containing these vxids (N[,N...])' },
  'ignore-case': { alias: 'i', type: 'boolean', group: FILTERS, describe: 'Case-insensitive regex filters' },
  query: { alias: 'q', type: 'string', group: QUERY, describe: "varnishlog's query language; several are ORed" },
  'query-file': { alias: 'Q', type: 'string', group: QUERY, describe: 'Read queries from a file (one per line, # comments, \\ continues)' },
  caseless: { alias: 'C', type: 'boolean', group: QUERY, describe: 'Caseless regex and string matching in queries' },
  v: {
    type: 'string',
    group: 'The original vlogdump options:',
    describe: 'name=value: show_req_headers, show_resp_headers, client_match, req_headers_match, resp_headers_match, req_method, only_hits, only_misses, only_slow, only_status, url_match',
  },
  'input-format': {
    type: 'string',
    choices: ['auto', 'vxid', 'request', 'session', 'raw', 'legacy'],
    default: 'auto',
    group: INPUT,
    describe: 'The varnishlog layout of the input (-g grouping; legacy: Varnish 2.1/3.0); auto detects it',
  },
  'max-pending': {
    alias: 'L',
    type: 'number',
    default: 10000,
    group: LIMITS,
    describe: 'Most unfinished transactions kept; the oldest is then printed as incomplete (overflow)',
  },
  timeout: {
    alias: 'T',
    type: 'number',
    default: 120,
    group: LIMITS,
    describe: 'Seconds (of log time) a transaction may stay unfinished before it is printed as incomplete; 0: no limit',
  },
  threads: {
    alias: 'j',
    type: 'number',
    default: 0,
    group: LIMITS,
    describe: 'Threads that read files of 32 MB and more (the main one and N-1 workers); 0: one per core (up to 4); 1: no workers',
  },
  clickhouse: {
    type: 'string',
    group: CLICKHOUSE,
    describe: "Insert the records into ClickHouse over its HTTP interface (http://host:8123); stdout prints them only with --json, -o or -F",
  },
  'ch-table': { type: 'string', group: CLICKHOUSE, describe: 'The table, or database.table (default varnish_requests)' },
  'ch-create': { type: 'boolean', group: CLICKHOUSE, describe: "Print the CREATE TABLE for that server's version (asked first), and a cluster recipe; insert nothing" },
  'ch-batch': { type: 'string', group: CLICKHOUSE, describe: 'Send a batch at N records, at SIZE bytes or after a wait, whichever comes first (default 10000,1MiB,1s)' },
  'ch-buffer': { type: 'string', group: CLICKHOUSE, describe: 'Most batches held (gzip size) while the server cannot take them; beyond it they are dropped and counted (default 128MiB)' },
  'ch-wait': { type: 'string', group: CLICKHOUSE, describe: 'At the end of the input, give up after SECONDS without a batch delivered (default 30)' },
  'ch-user': { type: 'string', group: CLICKHOUSE, describe: 'ClickHouse user; the password is read from VLOGDUMP_CH_PASSWORD' },
  'host-label': { type: 'string', group: CLICKHOUSE, describe: 'The host column of the records (default: this machine\'s hostname)' },
} satisfies Record<string, YargsOption>
