// Owns grouping for Varnish 2.1 and 3.0 (`%5d %-12s %c %s`: fd, tag, c|b|-, data): lines in, one transaction
// tree per client request out, in the same Transaction shape as 4–7 input, so records, filters and outputs work
// unchanged. The interleaved layout (2.1's varnishlog, 3.0's -O) and the grouped one (2.1's -o, 3.0's default)
// are the same lines in another order, so one state machine reads both:
//   - a client fd opens a request at `ReqStart c <ip> <port> <xid>` and ends it at `ReqEnd c <xid> …`; records
//     outside that (SessionOpen, SessionClose, StatSess) belong to the session;
//   - a backend fd carries one backend transaction after another (BackendOpen/BackendXID/TxRequest start one,
//     BackendReuse/BackendClose end it); its xid comes from `BackendXID b <xid>` (3.0) or from the
//     `TxHeader b X-Varnish: <xid>` sent to the backend (2.1), or else from the client's `Backend c <fd> …`.
// A request is emitted at its ReqEnd with the backend transactions of its xid seen so far (in the grouped layout
// they are printed first; in the interleaved one they end before ReqEnd). A backend transaction whose request
// was already emitted, or never comes (`varnishlog -b`), is emitted on its own. Memory is bounded by maxPending
// and the timeout (log time from ReqEnd), as for -g raw.

import type { LineSink } from '../parse/line.js'
import { newTransaction, noLogTimeBefore } from './transaction.js'
import type { IncompleteReason, OtherLine, Transaction, TxType } from '../vsl/types.js'
import type { EmitFn, GrouperOptions, LineCounts } from './grouper.js'

interface ClientFd {
  tx: Transaction | null
  /** Session client address (SessionOpen), for a request without ReqStart fields. */
  addr: string | null
}

interface BackendFd {
  tx: Transaction | null
  /** Set when the current transaction was ended (BackendReuse/BackendClose). */
  ended: boolean
  hasRequest: boolean
  /** xid given by the client's `Backend c <fd>` before this fd's transaction began. */
  nextXid: number
}

export class LegacyGrouper implements LineSink {
  readonly counts: LineCounts = { tx: 0, session: 0, nontx: 0, blank: 0, noise: 0, bad: 0 }
  private readonly clients = new Map<number, ClientFd>()
  private readonly backends = new Map<number, BackendFd>()
  /** Every transaction not yet emitted: open requests, and backend transactions (open or waiting for their
   *  request), in first-seen order, for -L and -T. */
  private readonly pending = new Set<Transaction>()
  /** Ended backend transactions by xid, waiting for their request's ReqEnd. */
  private readonly backendByXid = new Map<number, Transaction[]>()
  /** The last record's transaction, for continuation lines. */
  private lastTx: Transaction | null = null
  private now = 0
  private nextTimeoutCheck = 0

  constructor(
    private readonly opts: GrouperOptions,
    private readonly emit: EmitFn,
  ) {}

  get pendingCount(): number {
    return this.pending.size
  }

  header(): void {
    this.counts.bad++ // 4-7 group headers do not occur in 2.1/3.0 output
  }

  other(kind: OtherLine['kind'], text: string): void {
    if (kind === 'blank') {
      this.counts.blank++
      this.lastTx = null
    } else if (kind === 'noise') this.counts.noise++
    else if (this.lastTx !== null && this.pending.has(this.lastTx)) {
      const d = this.lastTx.data
      d[d.length - 1] += '\n' + text
      this.counts.tx++
    } else this.counts.bad++
  }

  /** `fd` arrives as the vxid; `side` is the c/b/- marker. */
  record(_level: number, fd: number, tag: string, data: string, side: number): void {
    if (fd <= 0 || side === DASH) {
      this.counts.nontx++ // fd 0 and the `-` side: CLI, WorkThread, Backend_health, ExpKill, …
      this.lastTx = null
      return
    }
    if (side === B) this.backendRecord(fd, tag, data)
    else this.clientRecord(fd, tag, data)
  }

  /** Emits everything pending, marked with `reason` unless it was in fact complete. */
  flush(reason: IncompleteReason = 'eof'): void {
    for (const tx of [...this.pending]) if (this.pending.has(tx)) this.evict(tx, reason)
    this.clients.clear()
    this.backends.clear()
    this.backendByXid.clear()
    this.lastTx = null
  }

  private clientRecord(fd: number, tag: string, data: string): void {
    let c = this.clients.get(fd)
    if (c === undefined) {
      c = { tx: null, addr: null }
      this.clients.set(fd, c)
    }
    if (tag === 'ReqStart') {
      if (c.tx !== null) this.evict(c.tx, 'eof') // a request that never logged ReqEnd
      const f = data.split(' ')
      const tx = this.create(toInt(f[2] ?? ''), 'req')
      tx.reason = 'rxreq'
      tx.sessionAddr = c.addr
      c.tx = tx
    }
    const tx = c.tx
    if (tx === null) {
      // Between requests: the session's own records.
      this.counts.session++
      this.lastTx = null
      if (tag === 'SessionOpen') {
        const f = data.split(' ')
        c.addr = f.length >= 2 ? `${f[0]} ${f[1]}` : null
      } else if (tag === 'SessionClose') c.addr = null
      return
    }
    this.counts.tx++
    tx.tags.push(tag)
    tx.data.push(data)
    this.lastTx = tx
    if (tag === 'Backend') {
      // Backend c <backend fd> <director> <backend>: that fd now works for this request.
      const bfd = toInt(data.slice(0, data.indexOf(' ')))
      if (bfd > 0) this.claimBackend(bfd, tx.vxid)
    } else if (tag === 'ReqEnd') {
      c.tx = null
      this.lastTx = null
      tx.state = 1
      this.logTime(data, tx)
      this.finishRequest(tx)
    }
  }

  private backendRecord(fd: number, tag: string, data: string): void {
    let b = this.backends.get(fd)
    if (b === undefined) {
      b = { tx: null, ended: true, hasRequest: false, nextXid: -1 }
      this.backends.set(fd, b)
    }
    const starts =
      b.tx === null ||
      b.ended ||
      tag === 'BackendOpen' ||
      (tag === 'TxRequest' && b.hasRequest) ||
      (tag === 'BackendXID' && b.tx.tags.includes('BackendXID'))
    if (starts) {
      if (b.tx !== null && !b.ended) this.endBackend(b)
      const tx = this.create(b.nextXid, 'bereq')
      tx.reason = 'fetch'
      b.tx = tx
      b.ended = false
      b.hasRequest = false
      b.nextXid = -1
    }
    const tx = b.tx!
    this.counts.tx++
    tx.tags.push(tag)
    tx.data.push(data)
    this.lastTx = tx
    switch (tag) {
      case 'TxRequest':
        b.hasRequest = true
        break
      // What the backend transaction itself says overrides the guess from the client's `Backend c <fd>`.
      case 'BackendXID':
        tx.vxid = toInt(data)
        break
      case 'TxHeader':
        if (/^x-varnish:/i.test(data)) tx.vxid = toInt(data.slice(data.indexOf(':') + 1).trim().split(' ')[0])
        break
      case 'BackendReuse':
      case 'BackendClose':
        this.endBackend(b)
        break
    }
  }

  /** The client's `Backend c <fd>` names the backend fd of its fetch: an xid-less transaction there is its. */
  private claimBackend(fd: number, xid: number): void {
    const b = this.backends.get(fd)
    if (b !== undefined && b.tx !== null && !b.ended && b.tx.vxid <= 0) b.tx.vxid = xid
    else if (b === undefined || b.tx === null || b.ended) {
      if (b === undefined) this.backends.set(fd, { tx: null, ended: true, hasRequest: false, nextXid: xid })
      else b.nextXid = xid
    }
  }

  private endBackend(b: BackendFd): void {
    const tx = b.tx!
    b.ended = true
    tx.state = 2
    if (tx.vxid <= 0 || !this.pending.has(tx)) {
      // No xid to join it by (or already taken): on its own.
      if (this.pending.has(tx)) this.emitTree(tx, null)
      return
    }
    const list = this.backendByXid.get(tx.vxid)
    if (list === undefined) this.backendByXid.set(tx.vxid, [tx])
    else list.push(tx)
  }

  /** At ReqEnd: the request takes the backend transactions of its xid seen so far, and is emitted. */
  private finishRequest(tx: Transaction): void {
    const list = this.backendByXid.get(tx.vxid)
    if (list !== undefined) {
      this.backendByXid.delete(tx.vxid)
      for (const b of list) {
        this.pending.delete(b)
        tx.children.push(b)
      }
    }
    // A backend transaction of this xid still running on its fd (its BackendReuse comes later) joins too.
    for (const b of this.backends.values()) {
      if (b.tx !== null && !b.ended && b.tx.vxid === tx.vxid && this.pending.has(b.tx)) {
        this.pending.delete(b.tx)
        tx.children.push(b.tx)
      }
    }
    tx.state = 2
    this.emitTree(tx, null)
  }

  private create(xid: number, type: TxType): Transaction {
    const tx = newTransaction(xid, type, this.now, true)
    this.pending.add(tx)
    if (this.pending.size > this.opts.maxPending) {
      const oldest = this.pending.values().next().value as Transaction
      this.evict(oldest, 'overflow')
    }
    return tx
  }

  /** `ReqEnd c <xid> <t_start> <t_end> …`: log time is t_end (whole seconds suffice for -T). The request ending,
   *  and the backend transactions of its xid it takes, are not evicted by the step its own ReqEnd makes (the
   *  request was printed twice, as timed out and as ended, when it outlasted -T and no other ReqEnd came meanwhile). */
  private logTime(data: string, ending: Transaction): void {
    const f = data.split(' ')
    const t = Math.floor(Number(f[2]))
    if (!(t > this.now)) return
    noLogTimeBefore(this.now, t, this.pending)
    this.now = t
    if (this.opts.timeout > 0 && t >= this.nextTimeoutCheck) {
      this.nextTimeoutCheck = t + 1
      const limit = t - this.opts.timeout
      for (const tx of [...this.pending]) {
        if (tx.t0 === 0) tx.t0 = t
        if (tx.t0 >= limit) break
        if (!takes(ending, tx) && this.pending.has(tx)) this.evict(tx, 'timeout')
      }
    }
  }

  private evict(tx: Transaction, reason: IncompleteReason): void {
    // Detach it from wherever it is still referenced, so later lines start afresh.
    for (const c of this.clients.values()) if (c.tx === tx) c.tx = null
    for (const b of this.backends.values()) if (b.tx === tx) b.ended = true
    const list = this.backendByXid.get(tx.vxid)
    if (list !== undefined) {
      const i = list.indexOf(tx)
      if (i >= 0) list.splice(i, 1)
      if (list.length === 0) this.backendByXid.delete(tx.vxid)
    }
    this.emitTree(tx, tx.state === 0 ? reason : null)
  }

  private emitTree(tx: Transaction, incomplete: IncompleteReason | null): void {
    this.pending.delete(tx)
    if (this.lastTx === tx) this.lastTx = null
    this.emit(tx, incomplete)
  }
}

/** Whether the request ending takes tx along (finishRequest): itself, and the backend transactions of its xid. */
function takes(ending: Transaction, tx: Transaction): boolean {
  return tx === ending || (tx.type === 'bereq' && ending.vxid > 0 && tx.vxid === ending.vxid)
}

const B = 98 // 'b'
const DASH = 45 // '-'

function toInt(s: string): number {
  const n = Number(s)
  return Number.isSafeInteger(n) && n > 0 ? n : -1
}
