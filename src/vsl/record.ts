// Owns the record model: a transaction tree (from group/) in, one ClientRecord out — what a client asked, what it
// got, how Varnish handled it (varnishncsa's rules), timings, bytes, the backend fetch, ESI children and the
// restart chain. Each transaction's records are read once, in order; text is UTF-8-decoded here, only for
// records that are emitted.

import type {
  BackendFetch,
  Bytes,
  ClientRecord,
  Handling,
  Header,
  HttpRequest,
  HttpResponse,
  IncompleteReason,
  Transaction,
} from './types.js'
import { decodeBytes } from './text.js'
import { addr, field, fields, header, isoTime, toCount, toStatus } from './fields.js'
import { buildLegacyRecord } from './legacy-record.js'

/** Builds the record for an emitted tree. A tree whose root is a backend transaction (its request never seen)
 *  becomes a `side: "backend"` record. */
export function buildRecord(root: Transaction, incomplete: IncompleteReason | null): ClientRecord {
  if (root.legacy === true) return buildLegacyRecord(root, incomplete)
  return root.type === 'bereq' ? backendRecord(root, incomplete) : clientRecord(root, incomplete)
}

function clientRecord(root: Transaction, incomplete: IncompleteReason | null): ClientRecord {
  // The restart chain: root → … → final; the record speaks for the final request, as varnishncsa does.
  const chain = [root]
  let final = root
  for (let guard = 0; guard < 64; guard++) {
    const next = linked(final, 'restart', 'req')
    if (next === undefined) break
    chain.push(next)
    final = next
  }
  const f = scanRequest(final)
  const first = chain.length > 1 ? scanRequest(root) : f
  return new LazyClientRecord(root, chain, final, f, first, incomplete)
}

/** A client record whose rarely needed parts — the ISO start time, the backend and ESI records, VCL_Log — are
 *  built on first access (prototype getters keep the object shape fixed and fast). */
class LazyClientRecord implements ClientRecord {
  readonly vxid: number
  readonly side = 'client' as const
  readonly reason: string | null
  readonly parent: number | null
  readonly session: number | null
  readonly client: { ip: string; port: number | null } | null
  readonly request: HttpRequest
  readonly response: HttpResponse
  readonly handling: Handling | null
  readonly grace: boolean | null
  readonly streaming: boolean | null
  readonly restarts: number
  readonly restarted_vxids: number[]
  readonly timing: { total: number | null; ttfb: number | null }
  readonly bytes: Bytes
  readonly startEpoch: number | null
  readonly tree: Transaction
  private readonly final: Transaction
  private readonly chain: Transaction[]
  private readonly startAbs: string | null
  private startIso: string | null | undefined = undefined
  private backendFetch: BackendFetch | null | undefined = undefined
  private bgFetch: BackendFetch | null | undefined = undefined
  private esiRecords: ClientRecord[] | undefined = undefined
  private vclLog: string[] | undefined = undefined

  constructor(
    root: Transaction,
    chain: Transaction[],
    final: Transaction,
    f: RequestScan,
    first: RequestScan,
    readonly incomplete: IncompleteReason | null,
  ) {
    this.vxid = final.vxid
    this.reason = final.reason || null
    this.parent = root.reason === 'esi' && root.parent > 0 ? root.parent : null
    this.session = root.reason === 'rxreq' && root.parent > 0 ? root.parent : null
    this.client = f.client ?? first.client ?? addr(root.sessionAddr)
    this.request = f.request
    this.response = f.response
    this.handling = f.handling
    this.grace = f.grace
    this.streaming = f.streaming
    this.restarts = chain.length - 1
    this.restarted_vxids = chain.slice(0, -1).map((t) => t.vxid)
    this.timing = { total: f.total, ttfb: f.ttfb }
    this.bytes = f.bytes
    this.startAbs = first.startAbs
    this.startEpoch = first.startAbs === null ? null : +first.startAbs
    this.tree = root
    this.final = final
    this.chain = chain
  }

  get start(): string | null {
    if (this.startIso === undefined) this.startIso = isoTime(this.startAbs)
    return this.startIso
  }

  get backend(): BackendFetch | null {
    if (this.backendFetch === undefined) {
      const f = this.final
      const tx = linked(f, 'fetch', 'bereq') ?? linked(f, 'pass', 'bereq') ?? linked(f, 'pipe', 'bereq')
      this.backendFetch = tx === undefined ? null : backendFetch(tx)
    }
    return this.backendFetch
  }

  get bgfetch(): BackendFetch | null {
    if (this.bgFetch === undefined) {
      const tx = linked(this.final, 'bgfetch', 'bereq')
      this.bgFetch = tx === undefined ? null : backendFetch(tx)
    }
    return this.bgFetch
  }

  get esi(): ClientRecord[] {
    if (this.esiRecords === undefined) {
      const out: ClientRecord[] = []
      for (const child of this.final.children) {
        if (child.type === 'req' && child.reason === 'esi') out.push(clientRecord(child, child.state === 0 ? (this.incomplete ?? 'eof') : null))
      }
      this.esiRecords = out
    }
    return this.esiRecords
  }

  get vcl_log(): string[] {
    if (this.vclLog === undefined) {
      const out: string[] = []
      for (const tx of this.chain) {
        for (let i = 0; i < tx.tags.length; i++) if (tx.tags[i] === 'VCL_Log') out.push(decodeBytes(tx.data[i]))
      }
      this.vclLog = out
    }
    return this.vclLog
  }
}

function backendRecord(root: Transaction, incomplete: IncompleteReason | null): ClientRecord {
  const b = backendFetch(root)
  const last = lastRetry(root)
  const s = scanBackend(last)
  const first = last === root ? s : scanBackend(root)
  const vclLog: string[] = []
  for (let i = 0; i < last.tags.length; i++) if (last.tags[i] === 'VCL_Log') vclLog.push(decodeBytes(last.data[i]))
  return {
    vxid: root.vxid,
    side: 'backend',
    reason: root.reason || null,
    parent: root.parent > 0 ? root.parent : null,
    session: null,
    start: isoTime(first.startAbs),
    client: null,
    request: b.request,
    response: b.response,
    handling: null,
    grace: false,
    streaming: false,
    restarts: 0,
    restarted_vxids: [],
    timing: { total: b.timing.total, ttfb: b.timing.ttfb },
    bytes: b.bytes,
    backend: b,
    bgfetch: null,
    esi: [],
    vcl_log: vclLog,
    incomplete,
    startEpoch: first.startAbs === null ? null : +first.startAbs,
    tree: root,
  }
}

/** The child linked from `tx` with this Link reason and type, if it was seen. */
function linked(tx: Transaction, reason: string, type: 'req' | 'bereq'): Transaction | undefined {
  for (const c of tx.children) if (c.reason === reason && c.type === type) return c
  return undefined
}

function lastRetry(tx: Transaction): Transaction {
  let cur = tx
  for (let guard = 0; guard < 64; guard++) {
    const next = linked(cur, 'retry', 'bereq')
    if (next === undefined) break
    cur = next
  }
  return cur
}

interface RequestScan {
  request: HttpRequest
  response: HttpResponse
  client: { ip: string; port: number | null } | null
  handling: Handling | null
  grace: boolean
  streaming: boolean | null
  /** Start timestamp as printed (kept as text: exact microseconds for ISO output). */
  startAbs: string | null
  total: number | null
  ttfb: number | null
  bytes: Bytes
}

/** Reads a client request's records once. Handling follows varnishncsa 7.7: the last VCL_call among
 *  HIT/MISS/PASS/SYNTH wins, `VCL_return pipe` makes pipe, HitMiss/HitPass stick through the MISS/PASS after
 *  them, `VCL_call RECV` starts over (a restart or ESI runs it again). */
function scanRequest(tx: Transaction): RequestScan {
  const tags = tx.tags
  const data = tx.data
  let method: string | null = null
  let url: string | null = null
  let protocol: string | null = null
  const reqRaw: string[] = []
  let receiving = true // ReqHeader records before the first VCL_call are the request as received
  let status: number | null = null
  let reason: string | null = null
  let respProtocol: string | null = null
  // RespHeader and RespUnset data in order, and which of them are unsets.
  const respRaw: string[] = []
  const respUnsets: number[] = []
  let client: RequestScan['client'] = null
  let handling: Handling | null = null
  let grace = false
  let streaming = false
  let hit = false
  /** The response's Via names Varnish 6 or older, whose Hit has no fetch progress: a streaming hit is unknown. */
  let noProgress = false
  let startAbs: string | null = null
  let resp: number | null = null
  let process: number | null = null
  let pipeSess: number | null = null
  let pipe: number | null = null
  let reqAcct: string | null = null
  let pipeAcct: string | null = null
  for (let i = 0; i < tags.length; i++) {
    const d = data[i]
    switch (tags[i]) {
      case 'ReqMethod':
        if (method === null) method = decodeBytes(d)
        break
      case 'ReqURL':
        if (url === null) url = decodeBytes(d)
        break
      case 'ReqProtocol':
        if (protocol === null) protocol = decodeBytes(d)
        break
      case 'ReqHeader':
        if (receiving) reqRaw.push(d)
        break
      case 'ReqStart':
        if (client === null) client = addr(d)
        break
      case 'RespStatus':
        status = toStatus(d)
        break
      case 'RespReason':
        reason = decodeBytes(d)
        break
      case 'RespProtocol':
        respProtocol = decodeBytes(d)
        break
      case 'RespHeader':
        respRaw.push(d)
        if ((d.charCodeAt(0) | 32) === 118 && !noProgress) noProgress = oldVia(d)
        break
      case 'RespUnset':
        respRaw.push(d)
        respUnsets.push(respRaw.length - 1)
        break
      case 'VCL_call':
        receiving = false
        switch (d) {
          case 'RECV':
            handling = null
            break
          case 'HIT':
            handling = 'hit'
            break
          case 'MISS':
            if (handling !== 'hitmiss') handling = 'miss'
            break
          case 'PASS':
            if (handling !== 'hitpass') handling = 'pass'
            break
          case 'SYNTH':
            handling = 'synth'
            break
        }
        break
      case 'VCL_return':
        if (d === 'pipe') handling = 'pipe'
        break
      case 'HitMiss':
        handling = 'hitmiss'
        break
      case 'HitPass':
        handling = 'hitpass'
        break
      case 'Hit': {
        // Hit <object vxid> <ttl> <grace> <keep> [<fetched so far> [<length>]]: ttl < 0 is a stale (grace) hit,
        // five or more fields mean the object was still being fetched (streaming hit).
        const f = fields(d)
        if (f.length >= 2 && +f[1] < 0) grace = true
        if (f.length >= 5) streaming = true
        hit = true
        break
      }
      case 'Timestamp': {
        const label = d.slice(0, d.indexOf(':'))
        switch (label) {
          case 'Start':
            if (startAbs === null) startAbs = field(d, 1)
            break
          case 'Resp':
            resp = sinceStart(d)
            break
          case 'Process':
            process = sinceStart(d)
            break
          case 'PipeSess':
            pipeSess = sinceStart(d)
            break
          case 'Pipe':
            pipe = sinceStart(d)
            break
        }
        break
      }
      case 'ReqAcct':
        reqAcct = d
        break
      case 'PipeAcct':
        pipeAcct = d
        break
    }
  }
  return {
    request: new LazyRequest(method, url, protocol, reqRaw, NONE),
    response: new LazyResponse(status, reason, respProtocol, respRaw, respUnsets),
    client,
    handling,
    grace,
    streaming: streaming || !hit || !noProgress ? streaming : null,
    startAbs,
    total: resp ?? pipeSess,
    ttfb: process ?? pipe,
    bytes: pipeAcct !== null && reqAcct === null ? pipeBytes(pipeAcct) : acctBytes(reqAcct, false),
  }
}

interface BackendScan {
  startAbs: string | null
}

function scanBackend(tx: Transaction): BackendScan {
  for (let i = 0; i < tx.tags.length; i++) {
    if (tx.tags[i] === 'Timestamp' && tx.data[i].startsWith('Start:')) return { startAbs: field(tx.data[i], 1) }
  }
  return { startAbs: null }
}

/** The backend side of a fetch: the retry chain is followed to its last attempt, whose response was used. */
function backendFetch(first: Transaction): BackendFetch {
  const attempts = [first]
  let tx = first
  for (let guard = 0; guard < 64; guard++) {
    const next = linked(tx, 'retry', 'bereq')
    if (next === undefined) break
    attempts.push(next)
    tx = next
  }
  const tags = tx.tags
  const data = tx.data
  let method: string | null = null
  let url: string | null = null
  let protocol: string | null = null
  const reqRaw: string[] = []
  const reqUnsets: number[] = []
  let status: number | null = null
  let reason: string | null = null
  let respProtocol: string | null = null
  const respRaw: string[] = []
  let receiving = true // BerespHeader records before VCL_call BACKEND_RESPONSE are the response as received
  let name: string | null = null
  let error: string | null = null
  let beresp: number | null = null
  let berespWait: number | null = null
  let body: number | null = null
  let failed: number | null = null
  let acct: string | null = null
  for (let i = 0; i < tags.length; i++) {
    const d = data[i]
    switch (tags[i]) {
      case 'BereqMethod':
        method = decodeBytes(d)
        break
      case 'BereqURL':
        url = decodeBytes(d)
        break
      case 'BereqProtocol':
        protocol = decodeBytes(d)
        break
      case 'BereqHeader':
        reqRaw.push(d)
        break
      case 'BereqUnset':
        reqRaw.push(d)
        reqUnsets.push(reqRaw.length - 1)
        break
      case 'BerespStatus':
        status = toStatus(d)
        break
      case 'BerespReason':
        reason = decodeBytes(d)
        break
      case 'BerespProtocol':
        if (respProtocol === null) respProtocol = decodeBytes(d)
        break
      case 'BerespHeader':
        if (receiving) respRaw.push(d)
        break
      case 'VCL_call':
        if (d === 'BACKEND_RESPONSE' || d === 'BACKEND_ERROR') receiving = false
        break
      case 'BackendOpen': {
        // BackendOpen <fd> <name> <remote ip> <port> <local ip> <port> connect|reuse
        const f = fields(d)
        if (f.length >= 2) name = decodeBytes(f[1])
        break
      }
      case 'FetchError':
        if (error === null) error = decodeBytes(d)
        break
      case 'Timestamp': {
        const label = d.slice(0, d.indexOf(':'))
        if (label === 'Beresp') {
          beresp = sinceStart(d)
          berespWait = sinceLast(d)
        } else if (label === 'BerespBody') body = sinceStart(d)
        else if (label === 'Error') failed = sinceStart(d)
        break
      }
      case 'BereqAcct':
        acct = d
        break
    }
  }
  const incomplete = attempts.some((t) => t.state === 0) ? 'eof' : null
  return {
    vxid: tx.vxid,
    reason: first.reason || null,
    name,
    status,
    error,
    retries: attempts.length - 1,
    retried_vxids: attempts.slice(0, -1).map((t) => t.vxid),
    timing: { wait: berespWait, total: body ?? failed, ttfb: beresp },
    bytes: acctBytes(acct, true),
    request: new LazyRequest(method, url, protocol, reqRaw, reqUnsets),
    response: new LazyResponse(status, reason, respProtocol, respRaw, NONE),
    incomplete,
  }
}

/** ReqAcct: hdr_rx body_rx total_rx hdr_tx body_tx total_tx. BereqAcct is the same from the other end: what was
 *  sent to the backend first, so for a backend record "rx" is what Varnish received from it. */
function acctBytes(d: string | null, backend: boolean): Bytes {
  const n = d === null ? [] : fields(d).map(toCount)
  const g = (i: number): number | null => n[i] ?? null
  if (backend) {
    return { header_rx: g(3), body_rx: g(4), total_rx: g(5), header_tx: g(0), body_tx: g(1), total_tx: g(2) }
  }
  return { header_rx: g(0), body_rx: g(1), total_rx: g(2), header_tx: g(3), body_tx: g(4), total_tx: g(5) }
}

/** PipeAcct: client request headers, backend request headers, bytes piped from the client, bytes piped to it.
 *  There is no header/body split for what was piped, so those stay null (varnishncsa prints `-` for %b). */
function pipeBytes(d: string): Bytes {
  const n = fields(d).map(toCount)
  return {
    header_rx: n[0] ?? null,
    body_rx: null,
    total_rx: n[2] ?? null,
    header_tx: null,
    body_tx: null,
    total_tx: n[3] ?? null,
  }
}

// Headers are decoded only when something asks for them (a header filter, --*-headers, JSON): most records a
// filter looks at are never printed.

const NONE: number[] = []

/** Request line fields, with the headers decoded on first access. */
class LazyRequest implements HttpRequest {
  private decoded: Header[] | null = null
  private kept: string[] | null = null
  constructor(
    readonly method: string | null,
    readonly url: string | null,
    readonly protocol: string | null,
    private readonly raw: string[],
    private readonly unsets: number[],
  ) {}
  get headers(): Header[] {
    return (this.decoded ??= this.lines.map(header))
  }
  get lines(): readonly string[] {
    return this.unsets.length === 0 ? this.raw : (this.kept ??= keptLines(this.raw, this.unsets))
  }
}

/** Status line fields, with the headers decoded on first access. */
class LazyResponse implements HttpResponse {
  private decoded: Header[] | null = null
  private kept: string[] | null = null
  constructor(
    readonly status: number | null,
    readonly reason: string | null,
    readonly protocol: string | null,
    private readonly raw: string[],
    private readonly unsets: number[],
  ) {}
  get headers(): Header[] {
    return (this.decoded ??= this.lines.map(header))
  }
  get lines(): readonly string[] {
    return this.unsets.length === 0 ? this.raw : (this.kept ??= keptLines(this.raw, this.unsets))
  }
}

/** Header records in log order, less those the records at the `unsets` indexes unset (RespUnset, BereqUnset) and
 *  the unsets themselves. */
function keptLines(raw: string[], unsets: number[]): string[] {
  const out: string[] = []
  let u = 0
  for (let i = 0; i < raw.length; i++) {
    if (u < unsets.length && unsets[u] === i) {
      unset(out, raw[i])
      u++
    } else out.push(raw[i])
  }
  return out
}

/** Applies `RespUnset Name: value`: removes the last header with that exact line (the one VCL unset). */
function unset(lines: string[], d: string): void {
  const [name, value] = header(d)
  const lower = name.toLowerCase()
  for (let i = lines.length - 1; i >= 0; i--) {
    const [n, v] = header(lines[i])
    if (v === value && n.toLowerCase() === lower) {
      lines.splice(i, 1)
      return
    }
  }
}

// Timestamp records: `Label: <abs> <since start> <since last>` (field 0 is the label).

export function sinceStart(d: string): number | null {
  return toSeconds(field(d, 2))
}

function sinceLast(d: string): number | null {
  return toSeconds(field(d, 3))
}

function toSeconds(s: string | null): number | null {
  if (s === null) return null
  const n = Number(s)
  return Number.isFinite(n) ? n : null
}

/** `Via: 1.1 host (Varnish/6.6)`, as varnishd adds it to every response: true for Varnish 6 and older. */
function oldVia(d: string): boolean {
  if (!/^via:/i.test(d)) return false
  const m = /\(Varnish\/(\d+)\./.exec(d)
  return m !== null && Number(m[1]) < 7
}
