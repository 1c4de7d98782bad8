// Owns the row shape: one ClientRecord in, one line of JSON out whose keys are the columns of the table that
// --ch-create recommends (schema.ts), for ClickHouse's `FORMAT JSONEachRow`. The same shape for every server
// version: the start as whole epoch seconds (a DateTime column) plus its microseconds, headers as the two arrays
// of a Nested column; newer servers add a DateTime64 and a Map computed from these (ALIAS columns). Values are
// those of --json, flattened: null stays null (Nullable columns), booleans are 0/1. The `batch` column is added by
// the batcher (batcher.ts), which also reads `start` back from the front of the line: it must stay first.

import { hostname } from 'node:os'
import type { ClientRecord, Header } from '../../vsl/types.js'
import type { ClickHouseOptions } from './settings.js'

export interface RowLabels {
  /** The `host` column: --host-label, or the machine's hostname. */
  host: string
  /** The `instance` column: -n NAME, or ''. */
  instance: string
}

/** The labels of a run: --host-label (cli.ts fills in the hostname; this machine's when it did not) and -n. */
export function rowLabels(ch: ClickHouseOptions, instance: string | null): RowLabels {
  return { host: ch.hostLabel ?? hostname(), instance: instance ?? '' }
}

/** Every column the row has, in its order (the batcher's `batch` last); schema.ts declares the same list. */
export const ROW_COLUMNS = [
  'start',
  'start_us',
  'host',
  'instance',
  'vxid',
  'side',
  'reason',
  'client',
  'method',
  'url',
  'protocol',
  'req_host',
  'status',
  'handling',
  'grace',
  'streaming',
  'restarts',
  'total',
  'ttfb',
  'backend_name',
  'backend_status',
  'backend_error',
  'backend_total',
  'backend_ttfb',
  'bytes_rx',
  'bytes_tx',
  'body_tx',
  'esi',
  'vcl_log',
  'incomplete',
  'req_headers.name',
  'req_headers.value',
  'resp_headers.name',
  'resp_headers.value',
  'batch',
] as const

/** Compiled once per run (and per worker thread): the labels are fixed, the record varies. */
export function compileRow(labels: RowLabels): (rec: ClientRecord) => string {
  const { host, instance } = labels
  return (r) => {
    const [start, startUs] = startParts(r.start)
    const b = r.backend
    const req = r.request.headers
    const resp = r.response.headers
    return (
      JSON.stringify({
        start,
        start_us: startUs,
        host,
        instance,
        vxid: r.vxid,
        side: r.side,
        reason: r.reason,
        client: r.client === null ? null : r.client.ip,
        method: r.request.method,
        url: r.request.url,
        protocol: r.request.protocol,
        req_host: hostHeader(req),
        status: r.response.status,
        handling: r.handling,
        grace: flag(r.grace),
        streaming: flag(r.streaming),
        restarts: r.restarts,
        total: r.timing.total,
        ttfb: r.timing.ttfb,
        backend_name: b === null ? null : b.name,
        backend_status: b === null ? null : b.status,
        backend_error: b === null ? null : b.error,
        backend_total: b === null ? null : b.timing.total,
        backend_ttfb: b === null ? null : b.timing.ttfb,
        bytes_rx: r.bytes.total_rx,
        bytes_tx: r.bytes.total_tx,
        body_tx: r.bytes.body_tx,
        esi: r.esi.length,
        vcl_log: r.vcl_log,
        incomplete: r.incomplete,
        'req_headers.name': names(req),
        'req_headers.value': values(req),
        'resp_headers.name': names(resp),
        'resp_headers.value': values(resp),
      }) + '\n'
    )
  }
}

function flag(b: boolean | null): 0 | 1 | null {
  return b === null ? null : b ? 1 : 0
}

function names(hs: Header[]): string[] {
  return hs.map((h) => h[0])
}

function values(hs: Header[]): string[] {
  return hs.map((h) => h[1])
}

/** The first Host header as received (h2's :authority arrives as host too). */
function hostHeader(hs: Header[]): string | null {
  for (const h of hs) if (h[0].length === 4 && h[0].toLowerCase() === 'host') return h[1]
  return null
}

let lastBase = ''
let lastSecs = 0

/** `2026-11-23T18:49:27.841077Z` → [1795459767, 841077], exactly, from the text --json prints; [0, 0] for a
 *  record without a start time (its Begin was never seen): the epoch, as ClickHouse's DateTime has no null in a
 *  sorting key. Records come in time order: the date is parsed once per second of log time. */
export function startParts(iso: string | null): [number, number] {
  if (iso === null) return [0, 0]
  const base = iso.slice(0, 19)
  if (base !== lastBase) {
    lastBase = base
    lastSecs = Date.parse(base + 'Z') / 1000
  }
  return [lastSecs, Number(iso.slice(20, 26))]
}
