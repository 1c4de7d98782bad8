// The shared vocabulary of the pipeline, no logic: what a parsed line is (parse/), what a transaction is
// (group/), and what a client record is (vsl/record.ts → filter/ → render/).

/** One log record: `-   ReqURL         /x`, `        12 ReqURL         c /x`, … */
export interface LogRecord {
  kind: 'record'
  /** Nesting level from the `-`/`--`/`-4-` marker; 0 in the raw layout. */
  level: number
  /** vxid printed on the line (raw and -v layouts); -1 when the layout does not print it. */
  vxid: number
  tag: string
  /** Record data, latin1-decoded (one char per byte); UTF-8 is decoded only when a field is printed. */
  data: string
}

/** A group header: `*   << Request  >> 5`, `**  << BeReq    >> 6`, `*  << Session  >> 4`. */
export interface TxHeader {
  kind: 'header'
  level: number
  vxid: number
  type: TxType
}

/** A line that is not a log line: blank separators, varnishlog's own messages, or text that may continue the
 *  previous record (varnishlog prints a record containing a newline as several lines). */
export interface OtherLine {
  kind: 'blank' | 'noise' | 'text'
  text: string
}

export type ParsedLine = LogRecord | TxHeader | OtherLine

export type TxType = 'req' | 'bereq' | 'sess' | 'raw' | 'unknown'

/** Why a record was emitted before all of it was seen. `overflow`, `timeout` and `flush` also come from
 *  varnishlog itself (`VSL store overflow|timeout|flush`); `reused` means the same vxid began again (a varnishd
 *  restart); `eof` means the input ended first. */
export type IncompleteReason = 'overflow' | 'timeout' | 'flush' | 'eof' | 'reused'

/** One Varnish transaction (a request, a backend request or a session) with its records in log order and, once
 *  its group is complete, the transactions it links to (backend fetches, ESI children, restarts). */
export interface Transaction {
  vxid: number
  type: TxType
  /** Begin's parent vxid; -1 when unknown. */
  parent: number
  /** Begin's reason: rxreq, esi, restart, fetch, pass, pipe, bgfetch, retry, …; '' when no Begin was seen. */
  reason: string
  tags: string[]
  data: string[]
  /** vxids and reasons of the Link records, in order. */
  links: number[]
  linkReasons: string[]
  /** When the grouper first saw each Link (its count of lines read), in raw input; Infinity in grouped input. */
  linkSeen: number[]
  /** When the grouper first saw this transaction (its count of lines read then). With linkSeen, the order in
   *  which varnishlog's request grouping lists a transaction's children: by their first mention. */
  seen: number
  /** Linked transactions, attached when the group is emitted (in link order; missing ones are left out). */
  children: Transaction[]
  /** 0 open, 1 ended (End seen), 2 complete (ended and every linked transaction complete). */
  state: 0 | 1 | 2
  /** Set when varnishlog forced this transaction to end (VSL store overflow / timeout / flush). */
  forced: IncompleteReason | null
  /** For -T (log time: epoch seconds, the newest Timestamp read): the later of its first Timestamp and the log
   *  time then; before it has one, the log time when it was first seen; 0 when none was known. */
  t0: number
  /** True once t0 comes from the transaction's own Timestamp. */
  stamped: boolean
  /** The largest "since start" time of its Timestamps, read quickly (sinceStartQuick), for --slow's test of a tree
   *  (src/filter/tree.ts); NaN once one could not be read so, or a text line continued one (they are then read
   *  exactly), -1 before any; NaN throughout when the grouper does not keep it (no --slow: GrouperOptions). */
  slowest: number
  /** Client address of the session, when the session was seen first (raw layout); used without ReqStart. */
  sessionAddr: string | null
  /** Block mode, binary, with a bound on trees (src/group/store.ts): its records not yet in tags and data, kept as
   *  their positions in the block: the first and last of its runs in the block's RecordStore; -1 when none. */
  stored: number
  storedLast: number
  /** A Varnish 2.1/3.0 transaction (keyed by xid, with that version's tags). */
  legacy?: boolean
  /** Block mode: its first record is not Begin (it began in an earlier block, or its Begin is still to come). It
   *  may stay pending to the block's end: its data is copied, not sliced from the text being read (slices kept
   *  the decoded text of the whole block alive, and the garbage of each block was promoted). */
  fragment?: boolean
}

export type Handling = 'hit' | 'miss' | 'pass' | 'pipe' | 'synth' | 'hitmiss' | 'hitpass'

export type Header = [name: string, value: string]

export interface HttpRequest {
  method: string | null
  url: string | null
  protocol: string | null
  headers: Header[]
  /** The header records as logged (latin1: a char per byte, `Name: value`) when `headers` is header() of each, in
   *  order: the JSON writer writes them from these. Absent where a record has only the pairs. */
  readonly lines?: readonly string[]
}

export interface HttpResponse {
  status: number | null
  reason: string | null
  protocol: string | null
  headers: Header[]
  /** The header records as logged (latin1: a char per byte, `Name: value`) when `headers` is header() of each, in
   *  order: the JSON writer writes them from these. Absent where a record has only the pairs. */
  readonly lines?: readonly string[]
}

export interface Bytes {
  header_rx: number | null
  body_rx: number | null
  total_rx: number | null
  header_tx: number | null
  body_tx: number | null
  total_tx: number | null
}

export interface BackendFetch {
  vxid: number
  reason: string | null
  name: string | null
  status: number | null
  error: string | null
  retries: number
  retried_vxids: number[]
  timing: { wait: number | null; total: number | null; ttfb: number | null }
  bytes: Bytes
  request: HttpRequest
  response: HttpResponse
  incomplete: IncompleteReason | null
}

/** One client request joined with its backend fetch, ESI children and restart chain: what vlogdump prints.
 *  The JSON output is exactly these keys (render/json.ts fixes their order); `tree` is the raw material. */
export interface ClientRecord {
  vxid: number
  side: 'client' | 'backend'
  reason: string | null
  parent: number | null
  session: number | null
  start: string | null
  client: { ip: string; port: number | null } | null
  request: HttpRequest
  response: HttpResponse
  handling: Handling | null
  /** A stale object was served (Hit TTL < 0); null on Varnish 2.1/3.0, whose Hit has no TTL. */
  grace: boolean | null
  /** A hit on an object still being fetched (Hit with fetch progress, 7.0 and later); null where the log cannot
   *  tell: a hit served by Varnish 6 or older (its Via says so) and Varnish 2.1/3.0. */
  streaming: boolean | null
  restarts: number
  restarted_vxids: number[]
  timing: { total: number | null; ttfb: number | null }
  bytes: Bytes
  backend: BackendFetch | null
  bgfetch: BackendFetch | null
  esi: ClientRecord[]
  vcl_log: string[]
  incomplete: IncompleteReason | null
  /** Start as epoch seconds (not in JSON; for sorting and --time). */
  startEpoch: number | null
  /** The transactions this record was built from (not in JSON; for the query language and --output log). */
  tree: Transaction
}
