// Owns the recommended table: a server version in, the CREATE TABLE text that --ch-create prints out, with a
// recipe for a cluster (a Distributed table over shards). One stored shape for every version, so that one JSON
// row (row.ts) fits them all: the start as DateTime (whole seconds) plus start_us, headers as Nested arrays. What a
// newer server has is added on top: a DateTime64(6) and Maps computed from those columns (ALIAS: no storage),
// LowCardinality strings, column codecs, and a TTL. The DDL for 18.16 is run against that server in the tests;
// the newer one is held to its text by a unit test.

import { quoteTable } from './settings.js'

export type Version = [major: number, minor: number]

/** `18.16.1` → [18, 16]; null for anything else. */
export function parseVersion(text: string): Version | null {
  const m = /^\s*(\d+)\.(\d+)/.exec(text)
  return m === null ? null : [Number(m[1]), Number(m[2])]
}

function atLeast(v: Version, major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor)
}

/** What the server has, by version (each from its release notes). */
export interface Features {
  /** Table TTL: 19.6. */
  ttl: boolean
  /** LowCardinality without a setting, column codecs, DateTime64 and fromUnixTimestamp64Micro (20.5), Map
   *  without allow_experimental_map_type: together from 22.3, the first LTS that has them all. */
  current: boolean
}

export function featuresOf(v: Version): Features {
  return { ttl: atLeast(v, 19, 6), current: atLeast(v, 22, 3) }
}

/** Days of records kept (the TTL, or the partitions to drop by hand on a server without TTL). */
export const KEEP_DAYS = 30

interface Column {
  name: string
  /** The type on every server, and the one on a current server when it differs. */
  type: string
  current?: string
  comment: string
}

/** The stored columns, in the row's order (row.ts ROW_COLUMNS; the Nested column stands for its two arrays). */
const COLUMNS: Column[] = [
  { name: 'start', type: "DateTime('UTC')", current: "DateTime('UTC') CODEC(DoubleDelta, ZSTD(1))", comment: 'start of the request, whole seconds (1970-01-01 when unknown)' },
  { name: 'start_us', type: 'UInt32', comment: 'and its microseconds' },
  { name: 'host', type: 'String', current: 'LowCardinality(String)', comment: 'the cache host (--host-label)' },
  { name: 'instance', type: 'String', current: 'LowCardinality(String)', comment: "varnishd's -n name, '' for the default" },
  { name: 'vxid', type: 'UInt64', comment: '' },
  { name: 'side', type: "Enum8('client' = 1, 'backend' = 2)", comment: 'backend: a backend transaction whose request was not seen' },
  { name: 'reason', type: 'Nullable(String)', current: 'LowCardinality(Nullable(String))', comment: 'rxreq, esi, restart, fetch, pass, pipe, bgfetch, retry' },
  { name: 'client', type: 'Nullable(String)', comment: 'client IP' },
  { name: 'method', type: 'Nullable(String)', current: 'LowCardinality(Nullable(String))', comment: '' },
  { name: 'url', type: 'Nullable(String)', current: 'Nullable(String) CODEC(ZSTD(1))', comment: 'as received, with the query string' },
  { name: 'protocol', type: 'Nullable(String)', current: 'LowCardinality(Nullable(String))', comment: '' },
  { name: 'req_host', type: 'Nullable(String)', current: 'LowCardinality(Nullable(String))', comment: 'the Host header' },
  { name: 'status', type: 'Nullable(UInt16)', comment: 'as sent' },
  { name: 'handling', type: 'Nullable(String)', current: 'LowCardinality(Nullable(String))', comment: 'hit miss pass pipe synth hitmiss hitpass' },
  { name: 'grace', type: 'Nullable(UInt8)', comment: 'a stale object was served' },
  { name: 'streaming', type: 'Nullable(UInt8)', comment: 'a hit on an object still being fetched' },
  { name: 'restarts', type: 'UInt16', comment: '' },
  { name: 'total', type: 'Nullable(Decimal64(9))', comment: 'seconds, exactly as logged' },
  { name: 'ttfb', type: 'Nullable(Decimal64(9))', comment: 'seconds to the first byte' },
  { name: 'backend_name', type: 'Nullable(String)', current: 'LowCardinality(Nullable(String))', comment: '' },
  { name: 'backend_status', type: 'Nullable(UInt16)', comment: 'as received' },
  { name: 'backend_error', type: 'Nullable(String)', comment: 'the first FetchError' },
  { name: 'backend_total', type: 'Nullable(Decimal64(9))', comment: 'seconds, exactly as logged' },
  { name: 'backend_ttfb', type: 'Nullable(Decimal64(9))', comment: 'seconds, exactly as logged' },
  { name: 'bytes_rx', type: 'Nullable(UInt64)', comment: 'from the client, headers and body' },
  { name: 'bytes_tx', type: 'Nullable(UInt64)', comment: 'to the client, headers and body' },
  { name: 'body_tx', type: 'Nullable(UInt64)', comment: 'body bytes to the client' },
  { name: 'esi', type: 'UInt16', comment: 'ESI children' },
  { name: 'vcl_log', type: 'Array(String)', comment: 'VCL_Log records' },
  { name: 'incomplete', type: 'Nullable(String)', current: 'LowCardinality(Nullable(String))', comment: 'why the record was printed early' },
  { name: 'req_headers', type: 'Nested(name String, value String)', comment: 'as received, in order' },
  { name: 'resp_headers', type: 'Nested(name String, value String)', comment: 'as sent, in order' },
  { name: 'batch', type: 'UInt64', comment: "vlogdump's batch token: no batch is inserted twice" },
]

/** Computed on a current server, from the stored columns (nothing more is sent or stored). */
const COMPUTED: Column[] = [
  {
    name: 'start_time',
    type: "DateTime64(6, 'UTC') ALIAS fromUnixTimestamp64Micro(toInt64(start) * 1000000 + start_us, 'UTC')",
    comment: 'start with microseconds',
  },
  { name: 'req_headers_map', type: "Map(String, String) ALIAS CAST((req_headers.name, req_headers.value), 'Map(String, String)')", comment: "req_headers_map['User-Agent']" },
  { name: 'resp_headers_map', type: "Map(String, String) ALIAS CAST((resp_headers.name, resp_headers.value), 'Map(String, String)')", comment: '' },
]

/** The keys a row may have: exactly row.ts's ROW_COLUMNS (a unit test holds them together; a key the table has
 *  no column for would be an insert error). */
export function storedColumnNames(): string[] {
  return COLUMNS.flatMap((c) => (c.type.startsWith('Nested(') ? [`${c.name}.name`, `${c.name}.value`] : [c.name]))
}

/** The text --ch-create prints for a server of `version` (its `SELECT version()`). */
export function createTableSql(table: string, versionText: string): string {
  const v = parseVersion(versionText) ?? [0, 0]
  const f = featuresOf(v)
  const name = quoteTable(table)
  const local = table.includes('.') ? table.slice(table.indexOf('.') + 1) : table
  const db = table.includes('.') ? table.slice(0, table.indexOf('.')) : 'default'
  const cols = [...COLUMNS.map((c) => ({ ...c, type: f.current ? (c.current ?? c.type) : c.type })), ...(f.current ? COMPUTED : [])]
  const width = Math.max(...cols.map((c) => c.name.length))
  const lines = cols.map((c, i) => {
    const def = `    ${c.name.padEnd(width)} ${c.type}${i < cols.length - 1 ? ',' : ''}`
    return c.comment === '' ? def : `${def.padEnd(64)} -- ${c.comment}`
  })
  const out: string[] = []
  out.push(`-- The table for vlogdump --clickhouse, for ClickHouse ${versionText.trim()}.`)
  if (!f.current) {
    out.push(
      '-- This server has no DateTime64 or Map: the start is a DateTime plus start_us, headers are Nested arrays',
      '-- (req_headers.value[indexOf(req_headers.name, \'User-Agent\')]). A server of 22.3 or later gets a DateTime64(6)',
      '-- start_time and header Maps computed from the same columns, so the same rows go into both.',
    )
  }
  out.push(
    '-- Times are seconds as Decimal64(9): the digits of the log, exactly (18.16 parses floats to within a bit, not',
    '-- exactly); an old server takes no Decimal in quantile(): quantile(0.99)(toFloat64(total)) works on all.',
    '-- Partitions by day; sorted by hour, then host, then time: a time range reads only its days and hours.',
    `CREATE TABLE IF NOT EXISTS ${name}`,
    '(',
    ...lines,
    ')',
    'ENGINE = MergeTree()',
    'PARTITION BY toYYYYMMDD(start)',
    'ORDER BY (toStartOfHour(start), host, start)',
  )
  if (f.ttl) out.push(`TTL start + INTERVAL ${KEEP_DAYS} DAY`)
  out.push('SETTINGS index_granularity = 8192;', '')
  if (!f.ttl) {
    out.push(
      `-- This server has no TTL (19.6 and later): to keep ${KEEP_DAYS} days, drop the oldest day's partition daily, e.g.`,
      `--   ALTER TABLE ${name} DROP PARTITION ${'toYYYYMMDD(today() - ' + KEEP_DAYS + ')'};`,
      '',
    )
  }
  out.push(
    '-- A cluster (named in remote_servers of the servers\' config, here `fleet`): the table above on every shard',
    `-- (run it with ON CLUSTER fleet after the table name), and a Distributed table over them. Cache hosts insert`,
    `-- into the Distributed table (--ch-table ${db}.${local}_all); its sharding key is the batch token, so each batch`,
    '-- goes whole to one shard (vlogdump inserts with insert_distributed_sync=1: the batch is on the shard when the',
    '-- insert returns, and can be counted there before a retry). Queries go to the Distributed table too.',
    `-- CREATE TABLE IF NOT EXISTS ${quoteTable(`${db}.${local}_all`)} ON CLUSTER fleet AS ${quoteTable(`${db}.${local}`)}`,
    `--     ENGINE = Distributed(fleet, ${db}, ${local}, batch);`,
    '',
  )
  return out.join('\n')
}
