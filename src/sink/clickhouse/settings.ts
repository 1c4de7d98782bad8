// Owns the ClickHouse output's options: the loose argv values of --clickhouse, --ch-table, --ch-batch,
// --ch-buffer, --ch-wait, --ch-user, --host-label in, a validated ClickHouseOptions out (options.ts calls this at
// the edge, so nothing later re-checks them). Bad values are UsageErrors (exit 2).

import { UsageError } from '../../errors.js'

export interface BatchLimits {
  /** A batch is sent when it holds this many records, */
  rows: number
  /** or this many bytes of rows (JSON, before gzip), */
  bytes: number
  /** or when its first record has waited this long. */
  waitMs: number
}

export interface ClickHouseOptions {
  /** The server's HTTP interface, without credentials: `http://ch:8123/`. */
  url: string
  /** `table` or `database.table`, each part a plain identifier. */
  table: string
  /** --ch-create: print the CREATE TABLE for the server's version, insert nothing. */
  create: boolean
  batch: BatchLimits
  /** Most bytes of batches (gzip'd) held for the server; beyond it, while the server fails, batches are dropped. */
  buffer: number
  /** At the end of the input: give up after this many seconds without a batch delivered. */
  waitSeconds: number
  user: string | null
  /** The `host` column; null: the machine's hostname (cli.ts fills it in). */
  hostLabel: string | null
}

export const DEFAULT_TABLE = 'varnish_requests'
export const DEFAULT_BATCH: BatchLimits = { rows: 10000, bytes: 1 << 20, waitMs: 1000 }
export const DEFAULT_BUFFER = 128 << 20
export const DEFAULT_WAIT_SECONDS = 30
/** The environment variable the password is read from (never from the command line, where ps shows it). */
export const PASSWORD_ENV = 'VLOGDUMP_CH_PASSWORD'
/** ClickHouse's max_insert_block_size: a batch of at most this many rows is inserted as one block, all or
 *  nothing, which the check before a retry relies on. */
const MAX_BATCH_ROWS = 1_000_000

/** The values as yargs gives them (an option given twice is an array). */
export interface ClickHouseArgs {
  clickhouse?: unknown
  table?: unknown
  create?: unknown
  batch?: unknown
  buffer?: unknown
  wait?: unknown
  user?: unknown
  hostLabel?: unknown
}

/** The ClickHouse options from argv, or null without --clickhouse (then none of the others may be given). */
export function parseClickHouseOptions(args: ClickHouseArgs): ClickHouseOptions | null {
  const a = {
    clickhouse: once<string>('--clickhouse', args.clickhouse),
    table: once<string>('--ch-table', args.table),
    create: once<boolean>('--ch-create', args.create),
    batch: once<string>('--ch-batch', args.batch),
    buffer: once<string>('--ch-buffer', args.buffer),
    wait: once<string>('--ch-wait', args.wait),
    user: once<string>('--ch-user', args.user),
    hostLabel: once<string>('--host-label', args.hostLabel),
  }
  if (a.clickhouse === undefined) {
    const stray = [
      ['--ch-table', a.table],
      ['--ch-create', a.create || undefined],
      ['--ch-batch', a.batch],
      ['--ch-buffer', a.buffer],
      ['--ch-wait', a.wait],
      ['--ch-user', a.user],
      ['--host-label', a.hostLabel],
    ].find(([, v]) => v !== undefined)
    if (stray !== undefined) throw new UsageError(`${stray[0]} goes with --clickhouse URL`)
    return null
  }
  const wait = a.wait === undefined ? DEFAULT_WAIT_SECONDS : a.wait.trim() === '' ? NaN : Number(a.wait)
  // 0 would give up on the last batch before its answer could come, however healthy the server.
  if (!Number.isFinite(wait) || wait <= 0) throw new UsageError(`--ch-wait: expected seconds (more than 0), got '${a.wait}'`)
  if (a.user !== undefined && !/^[^\s:]+$/.test(a.user)) throw new UsageError(`--ch-user: expected a user name without spaces or ':', got '${a.user}'`)
  if (a.hostLabel !== undefined && a.hostLabel === '') throw new UsageError('--host-label: expected a name')
  return {
    url: parseServerUrl(a.clickhouse),
    table: parseTable(a.table ?? DEFAULT_TABLE),
    create: !!a.create,
    batch: a.batch === undefined ? DEFAULT_BATCH : parseBatch(a.batch),
    buffer: a.buffer === undefined ? DEFAULT_BUFFER : parseSize('--ch-buffer', a.buffer, 1024, 2 ** 40),
    waitSeconds: wait,
    user: a.user ?? null,
    hostLabel: a.hostLabel ?? null,
  }
}

function once<T>(flag: string, v: unknown): T | undefined {
  if (Array.isArray(v)) throw new UsageError(`${flag} given more than once`)
  return v as T | undefined
}

/** `http://ch:8123`, `https://ch.example:8443/prefix/`: http or https, no credentials (they would show in ps),
 *  no query string (vlogdump makes the query). Normalised to end with `/`. */
export function parseServerUrl(s: string): string {
  let u: URL
  try {
    u = new URL(s)
  } catch {
    throw new UsageError(`--clickhouse: expected the URL of ClickHouse's HTTP interface (http://host:8123), got '${s}'`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--clickhouse: expected an http:// or https:// URL, got '${s}'`)
  if (u.username !== '' || u.password !== '') {
    throw new UsageError(`--clickhouse: give no user or password in the URL: --ch-user NAME, and the password in ${PASSWORD_ENV}`)
  }
  if (u.search !== '' || u.hash !== '') throw new UsageError(`--clickhouse: give the URL without a query string, got '${s}'`)
  if (!u.pathname.endsWith('/')) u.pathname += '/'
  return u.href
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/

/** `table` or `database.table`. Plain identifiers only: they are put into SQL as they are (in backquotes). */
export function parseTable(s: string): string {
  const parts = s.split('.')
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new UsageError(`--ch-table: expected a table name or database.table (letters, digits, _), got '${s}'`)
  }
  return s
}

/** `10000`, `1MiB`, `500ms`, or a comma-separated list of them: records, bytes, a wait. What is not given keeps
 *  its default. */
export function parseBatch(s: string): BatchLimits {
  const limits = { ...DEFAULT_BATCH }
  const bad = (why: string): never => {
    throw new UsageError(`--ch-batch: ${why}, got '${s}' (for example 10000,1MiB,1s: records, bytes, the longest wait)`)
  }
  const seen = new Set<string>()
  for (const part of s.split(',')) {
    const p = part.trim()
    const time = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(p)
    let kind: keyof BatchLimits
    if (time !== null) {
      kind = 'waitMs'
      limits.waitMs = Number(time[1]) * (time[2] === 's' ? 1000 : 1)
      if (limits.waitMs < 10 || limits.waitMs > 60_000) bad('the wait must be from 10ms to 60s')
    } else if (/^\d+$/.test(p)) {
      kind = 'rows'
      limits.rows = Number(p)
      if (limits.rows < 1 || limits.rows > MAX_BATCH_ROWS) bad(`records must be from 1 to ${MAX_BATCH_ROWS}`)
    } else if (SIZE.test(p)) {
      kind = 'bytes'
      limits.bytes = parseSize('--ch-batch', p, 1024, 256 << 20)
    } else return bad('expected records (a number), bytes (a size: 512KiB, 4MiB) or a wait (500ms, 1s)')
    if (seen.has(kind)) bad('each of records, bytes and wait once')
    seen.add(kind)
  }
  return limits
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|k|K|M|G)$/
const UNITS: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, k: 1024, K: 1024, MB: 1e6, MiB: 1 << 20, M: 1 << 20, GB: 1e9, GiB: 2 ** 30, G: 2 ** 30 }

/** `512KiB`, `64MiB`, `1G` (k, M, G: powers of 1024), or bytes as a plain number. */
export function parseSize(flag: string, s: string, min: number, max: number): number {
  const m = SIZE.exec(s.trim()) ?? (/^\d+$/.test(s.trim()) ? [s, s.trim(), 'B'] : null)
  const n = m === null ? NaN : Math.round(Number(m[1]) * UNITS[m[2]])
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag}: expected a size from ${formatSize(min)} to ${formatSize(max)} (like 64MiB), got '${s}'`)
  }
  return n
}

/** 1048576 → `1MiB`, 1500 → `1500B`. */
export function formatSize(n: number): string {
  for (const [unit, f] of [['GiB', 2 ** 30], ['MiB', 1 << 20], ['KiB', 1024]] as const) if (n >= f && n % f === 0) return `${n / f}${unit}`
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)}MiB`
  return `${n}B`
}

/** `db.table` → `` `db`.`table` ``. */
export function quoteTable(table: string): string {
  return table
    .split('.')
    .map((p) => `\`${p}\``)
    .join('.')
}
