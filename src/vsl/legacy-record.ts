// Owns the record model for Varnish 2.1/3.0 transactions (group/legacy.ts): a request tree in, the same
// ClientRecord as 4–7 input out; what the old format does not log (bytes, backend timings) is null.
//
//   request   RxRequest, RxURL, RxProtocol, RxHeader (before the first VCL_call: as received)
//   response  TxStatus, TxResponse, TxProtocol, TxHeader (the last status is the one sent)
//   timing    ReqEnd <xid> <t_start> <t_end> <dh> <dp> <da>: total = dp + da (= t_end - t_start), ttfb = dp;
//             `nan` is null, never a number
//   handling  VCL_call hit/miss/pass/pipe/error (error is synth), HitPass sticks as hitpass; VCL_call and its
//             VCL_return may be merged on one line (`VCL_call c recv lookup`) or not. A restart (`restart`
//             returned) starts the handling over; the ESI includes, which share the xid and come after the
//             page's deliver, do not change it.

import { decodeBytes } from './text.js'
import { addr, header, isoTime, toStatus } from './fields.js'
import type { BackendFetch, Bytes, ClientRecord, Handling, Header, IncompleteReason, Transaction } from './types.js'

const NO_BYTES: Bytes = { header_rx: null, body_rx: null, total_rx: null, header_tx: null, body_tx: null, total_tx: null }

export function buildLegacyRecord(tx: Transaction, incomplete: IncompleteReason | null): ClientRecord {
  if (tx.type === 'bereq') {
    const b = legacyBackend([tx], null, null)
    return {
      ...base(tx, incomplete),
      side: 'backend',
      reason: 'fetch',
      request: b.request,
      response: b.response,
      backend: b,
      vcl_log: [],
      start: null,
      startEpoch: null,
    }
  }
  const r = base(tx, incomplete)
  let method: string | null = null
  let url: string | null = null
  let protocol: string | null = null
  const reqHeaders: Header[] = []
  let receiving = true
  let status: number | null = null
  let reason: string | null = null
  let respProtocol: string | null = null
  const respHeaders: Header[] = []
  let client: ClientRecord['client'] = null
  let handling: Handling | null = null
  let frozen = false // the page was delivered: later recv blocks are ESI includes
  let lastCall = ''
  let lastReturn = ''
  let restarts = 0
  // Backend fetches (`Backend c` records): those of the final recv block before the page was delivered are the
  // page's fetch and its retries; earlier blocks were restarted, later ones are ESI includes.
  let backendSeen = 0
  let blockStart = 0
  let blockEnd = -1
  let backendName: string | null = null
  let fetchError: string | null = null
  let reqEnd: string[] | null = null
  const vclLog: string[] = []

  const call = (method: string, ret: string | null): void => {
    if (method === 'recv' && !frozen) {
      if (lastReturn === 'restart') restarts++
      if (handling !== 'hitpass') handling = null
      blockStart = backendSeen
    }
    if (!frozen) {
      switch (method) {
        case 'hit':
          handling = 'hit'
          break
        case 'miss':
          if (handling !== 'hitpass') handling = 'miss'
          break
        case 'pass':
          if (handling !== 'hitpass') handling = 'pass'
          break
        case 'pipe':
          handling = 'pipe'
          break
        case 'error':
          handling = 'synth'
          break
      }
    }
    lastCall = method
    if (ret !== null) ret_(ret)
  }
  const ret_ = (ret: string): void => {
    lastReturn = ret
    if (ret === 'deliver' && (lastCall === 'deliver' || lastCall === 'error') && !frozen) {
      frozen = true
      blockEnd = backendSeen
    }
    if (ret === 'pipe' && !frozen) handling = 'pipe'
  }

  for (let i = 0; i < tx.tags.length; i++) {
    const d = tx.data[i]
    switch (tx.tags[i]) {
      case 'ReqStart':
        client = addr(d)
        break
      case 'RxRequest':
        if (method === null) method = decodeBytes(d)
        break
      case 'RxURL':
        if (url === null) url = decodeBytes(d)
        break
      case 'RxProtocol':
        if (protocol === null) protocol = decodeBytes(d)
        break
      case 'RxHeader':
        if (receiving) reqHeaders.push(header(d))
        break
      case 'TxStatus':
        if (!frozen || status === null) status = toStatus(d)
        break
      case 'TxResponse':
        if (!frozen || reason === null) reason = decodeBytes(d)
        break
      case 'TxProtocol':
        if (!frozen || respProtocol === null) respProtocol = decodeBytes(d)
        break
      case 'TxHeader':
        respHeaders.push(header(d))
        break
      case 'VCL_call': {
        receiving = false
        const sp = d.indexOf(' ')
        call(sp < 0 ? d : d.slice(0, sp), sp < 0 ? null : d.slice(sp + 1))
        break
      }
      case 'VCL_return':
        ret_(d)
        break
      case 'HitPass':
        if (!frozen) handling = 'hitpass'
        break
      case 'Backend': {
        // Backend c <fd> <director> <backend>
        backendSeen++
        const f = d.split(' ')
        if (f.length >= 3 && !frozen) backendName = decodeBytes(f[2])
        break
      }
      case 'FetchError':
        if (fetchError === null) fetchError = decodeBytes(d)
        break
      case 'VCL_Log':
        vclLog.push(decodeBytes(d))
        break
      case 'ReqEnd':
        reqEnd = d.split(' ')
        break
    }
  }
  let total: number | null = null
  let ttfb: number | null = null
  let startAbs: string | null = null
  if (reqEnd !== null) {
    startAbs = finite(reqEnd[1]) === null ? null : reqEnd[1]
    const tStart = finite(reqEnd[1])
    const tEnd = finite(reqEnd[2])
    const dp = finite(reqEnd[4])
    const da = finite(reqEnd[5])
    ttfb = dp
    total = dp !== null && da !== null ? round9(dp + da) : tStart !== null && tEnd !== null ? round9(tEnd - tStart) : null
  }
  const backends = tx.children.filter((c) => c.type === 'bereq').slice(blockStart, blockEnd < 0 ? backendSeen : blockEnd)
  return {
    ...r,
    start: isoTime(startAbs),
    startEpoch: startAbs === null ? null : Number(startAbs),
    client: client ?? addr(tx.sessionAddr),
    request: { method, url, protocol, headers: reqHeaders },
    response: { status, reason, protocol: respProtocol, headers: respHeaders },
    handling,
    restarts,
    timing: { total, ttfb },
    backend: backends.length === 0 ? null : legacyBackend(backends, backendName, fetchError),
    vcl_log: vclLog,
  }
}

function base(tx: Transaction, incomplete: IncompleteReason | null): ClientRecord {
  return {
    vxid: tx.vxid,
    side: 'client',
    reason: 'rxreq',
    parent: null,
    session: null,
    start: null,
    client: null,
    request: { method: null, url: null, protocol: null, headers: [] },
    response: { status: null, reason: null, protocol: null, headers: [] },
    handling: null,
    grace: null, // 2.1 and 3.0 log no TTL in Hit
    streaming: null, // 2.1 and 3.0 log no fetch progress
    restarts: 0,
    restarted_vxids: [],
    timing: { total: null, ttfb: null },
    bytes: NO_BYTES,
    backend: null,
    bgfetch: null,
    esi: [],
    vcl_log: [],
    incomplete,
    startEpoch: null,
    tree: tx,
  }
}

/** The backend side: the last attempt answered (3.0 retries log two), the earlier ones are retries. */
function legacyBackend(attempts: Transaction[], name: string | null, clientError: string | null): BackendFetch {
  const tx = attempts[attempts.length - 1]
  let method: string | null = null
  let url: string | null = null
  let protocol: string | null = null
  const reqHeaders: Header[] = []
  let status: number | null = null
  let reason: string | null = null
  let respProtocol: string | null = null
  const respHeaders: Header[] = []
  let openName: string | null = null
  let error: string | null = null
  for (let i = 0; i < tx.tags.length; i++) {
    const d = tx.data[i]
    switch (tx.tags[i]) {
      case 'TxRequest':
        method = decodeBytes(d)
        break
      case 'TxURL':
        url = decodeBytes(d)
        break
      case 'TxProtocol':
        protocol = decodeBytes(d)
        break
      case 'TxHeader':
        reqHeaders.push(header(d))
        break
      case 'RxStatus':
        status = toStatus(d)
        break
      case 'RxResponse':
        reason = decodeBytes(d)
        break
      case 'RxProtocol':
        respProtocol = decodeBytes(d)
        break
      case 'RxHeader':
        respHeaders.push(header(d))
        break
      case 'BackendOpen':
        // BackendOpen b <backend> <local ip> <port> <remote ip> <port>
        openName = decodeBytes(d.split(' ')[0])
        break
      case 'BackendReuse':
      case 'BackendClose':
        if (openName === null) openName = decodeBytes(d.split(' ')[0])
        break
      case 'FetchError':
        if (error === null) error = decodeBytes(d)
        break
    }
  }
  return {
    vxid: tx.vxid,
    reason: 'fetch',
    name: name ?? openName,
    status,
    error: error ?? clientError,
    retries: attempts.length - 1,
    retried_vxids: [],
    timing: { wait: null, total: null, ttfb: null },
    bytes: NO_BYTES,
    request: { method, url, protocol, headers: reqHeaders },
    response: { status, reason, protocol: respProtocol, headers: respHeaders },
    incomplete: attempts.some((t) => t.state === 0) ? 'eof' : null,
  }
}

function finite(s: string | undefined): number | null {
  if (s === undefined || s === '') return null
  const n = Number(s)
  return Number.isFinite(n) ? n : null
}

/** Sums of the printed nanosecond values, without binary noise. */
function round9(n: number): number {
  return Math.round(n * 1e9) / 1e9
}
