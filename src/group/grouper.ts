// Owns grouping: parsed lines in, complete transaction trees out (a client request with its backend fetches, ESI
// children and restarts). Links by vxid (Begin's parent, Link's child), never by position, so every layout works:
// in -g vxid a backend transaction is printed before its request, in -g raw everything interleaves. A tree is
// emitted as soon as its root and everything it links to have ended. Memory is bounded by maxPending (oldest
// evicted first) and by a timeout in log time; whatever is evicted or left at the end is emitted, marked.

import type { LineSink } from '../parse/line.js'
import { newTransaction, noLogTimeBefore } from './transaction.js'
import { grown, type RecordStore } from './store.js'
import { field, sinceStartQuick, stampSeconds } from '../vsl/fields.js'
import type { IncompleteReason, OtherLine, ParsedLine, Transaction, TxType } from '../vsl/types.js'

export interface GrouperOptions {
  /** Most transactions kept waiting at once (-L). */
  maxPending: number
  /** Seconds of log time a transaction may wait (-T); 0 disables. */
  timeout: number
  /** Block mode (src/parallel): remember, per transaction, the position of each of its lines (`pos` when it was
   *  read), so that what is still pending at the end of a block can be handed on as lines. */
  track?: boolean
  /** Keep each transaction's Transaction.slowest (--slow's tree test; a quick read of every Timestamp). Without
   *  it, it is NaN: the test then reads the Timestamps itself. */
  slowest?: boolean
  /** Block mode: where the positions of the lines go; one per thread, reused from block to block (a new one for
   *  each was a megabyte of garbage per block). Emptied when the grouper starts. */
  log?: PositionLog
  /** Block mode, binary: keep each record as its position there, not in the transaction's tags and data (the
   *  reader decodes only the records the grouper reads; see src/group/store.ts). Cleared when the grouper starts. */
  store?: RecordStore
}

/** What a block leaves unfinished: the positions of the lines of its pending transactions, in order, and what it
 *  read of sessions, for the grouper that reads on. */
export interface Leftovers {
  positions: number[]
  sessions: SessionEvent[]
  /** The vxid and position of each transaction's Begin (or group header) read, in input order (a vxid may begin
   *  again: Grouper.beganElsewhere). */
  begun: number[]
  /** Log time (whole seconds) and the position of the line that moved it on, each time it did, in input order:
   *  the grouper that reads on moves on with it there (-T evicts what waits too long at that line). */
  ticks: number[]
}

/** What a block read of a session, at the position of the line where it did (Grouper.sessionEvent): its Begin or
 *  group header (SESSION_BEGUN: a new session under that vxid, with the address the block read for it, if any),
 *  or its End (SESSION_ENDED: it is forgotten, as the sequential grouper forgets it). A session's records after a
 *  Begin the block did not read are handed on, as lines. */
export type SessionEvent = [vxid: number, addr: string | null, pos: number, kind: number]
export const SESSION_BEGUN = 0
export const SESSION_ENDED = 1

/** What became of every line read: a line either belongs to a client/backend transaction or is skipped. */
export interface LineCounts {
  /** Lines that went into a request or backend transaction (headers, records, continuations). */
  tx: number
  /** Lines of session transactions (used for the client address, not records themselves). */
  session: number
  /** Non-transactional records (vxid 0: CLI, Backend_health, …). */
  nontx: number
  blank: number
  /** varnishlog's own messages (Log overrun, …). */
  noise: number
  /** Lines that are not log lines and continue nothing. */
  bad: number
}

/** Adds one grouper's line counts to a total (several inputs, several blocks). */
export function addLineCounts(into: LineCounts, from: LineCounts): void {
  into.tx += from.tx
  into.session += from.session
  into.nontx += from.nontx
  into.blank += from.blank
  into.noise += from.noise
  into.bad += from.bad
}

export type EmitFn = (root: Transaction, incomplete: IncompleteReason | null) => void

interface Session {
  addr: string | null
  /** Block mode: where it began. */
  pos: number
}

const MAX_DEPTH = 256

export class Grouper implements LineSink {
  readonly counts: LineCounts = { tx: 0, session: 0, nontx: 0, blank: 0, noise: 0, bad: 0 }
  /** Transactions begun but not yet emitted, oldest first (Map keeps insertion order). */
  private readonly pending = new Map<number, Transaction>()
  private readonly sessions = new Map<number, Session>()
  /** Block mode: each time log time moved on (Leftovers.ticks). */
  private readonly ticks: number[] = []
  /** Block mode: the vxid and position of each Begin (and transaction header) read, in order. */
  private readonly begun: number[] = []
  /** Block mode: the sessions begun in the block (in block mode a session is only made by its Begin or header). */
  private readonly begunSessions: [number, Session][] = []
  /** Block mode: the sessions whose End the block read (their SESSION_ENDED events). */
  private readonly sessionEnds: SessionEvent[] = []
  /** Transaction of the last group header (grouped layouts), or null. */
  private current: Transaction | null = null
  /** What the last header opened when it is not a transaction: 1 session, 2 non-transactional records. */
  private currentOther: 0 | 1 | 2 = 0
  private currentSession: Session | null = null
  private currentSessionVxid = 0
  /** Where a continuation line goes: the transaction that got the last record, or what to count it as. */
  private lastTx: Transaction | null = null
  private lastOther: 0 | 1 | 2 = 0
  /** Log time: the latest Timestamp seen, in epoch seconds. */
  private now = 0
  private nextTimeoutCheck = 0
  /** Lines read: when each transaction and Link was first seen (the order of children in --output log). */
  private seq = 0
  private readonly track: boolean
  private readonly slowest: boolean
  /** Block mode: where each line that went to a transaction is, and which (its `seen`): the leftovers. */
  private readonly log: PositionLog
  private readonly store: RecordStore | null
  /** Block mode: the position of the line being read (set by the reader before each line). */
  pos = 0
  /** Block mode: no group header or blank line yet. A block may start inside a group (grouped layouts): its
   *  first lines belong to a header an earlier block read, and are handed on with the leftovers. */
  private atHead = true
  private readonly head: number[] = []
  /** Block mode: the last header line, when it opened a session or non-transactional group that no blank line
   *  has closed yet (a block that ends there hands it on, so the next block's lines keep their context). */
  private openHeader = -1
  private openKind: 0 | 1 | 2 = 0
  /** The Timestamp being read came read already (stampRecord): its times, not its data. */
  private stampRead = false
  private stampSince = NaN
  private stampSecs = -1
  /** The transaction whose Timestamp is moving log time on (stamp()). */
  private stamping: Transaction | null = null
  /** Block mode: the last record line went to a transaction whose Begin this block has not read. */
  private afterFragment = false
  /** Block mode: the vxids of the transactions the block read (begun here or not). */
  private readonly created = new Set<number>()
  /** Block mode: a vxid began again in the block (varnishd restarted, or logs were joined). Where a transaction
   *  that waits for another block (its Begin, a child, its parent or its session may be there) is of an earlier
   *  run of the vxids than the records after it, the block cannot tell them apart as the sequential grouper does
   *  (which has finished it by then): a child of the later run could be taken as the earlier one's. The block is
   *  then read again, whole, by the grouper that reads on (src/parallel/block.ts). */
  reused = false
  /** A header below level 1 was read: a grouped layout, where subrequests follow their parent. */
  private deepHeaders = false
  /** The input is in the vxid grouping (as its first lines say, set before the first line): each transaction on
   *  its own, in the order they ended, so a request's ESI subrequests come before it. */
  vxidLayout = false

  constructor(
    private readonly opts: GrouperOptions,
    private readonly emit: EmitFn,
  ) {
    this.track = opts.track === true
    this.slowest = opts.slowest === true
    this.log = opts.log ?? new PositionLog()
    this.log.clear()
    this.store = opts.store ?? null
    this.store?.clear()
  }

  /** Number of transactions waiting (for tests and statistics). */
  get pendingCount(): number {
    return this.pending.size
  }

  /** A parsed line as an object (tests and tools; the pipeline calls the LineSink methods directly). */
  push(p: ParsedLine): void {
    if (p.kind === 'record') this.record(p.level, p.vxid, p.tag, p.data)
    else if (p.kind === 'header') this.header(p.level, p.vxid, p.type)
    else this.other(p.kind, p.text)
  }

  other(kind: OtherLine['kind'], text: string): void {
    switch (kind) {
      case 'blank':
        // Block mode: a blank line before the block's first header (or record) is handed on with the lines around
        // it: it does not end the group an earlier block's header opened (the records after it are that group's,
        // as when reading line by line), but a text line after it continues nothing.
        if (this.track && this.atHead) {
          this.head.push(this.pos)
          return
        }
        // Nor does it end a group: the header of one still open is handed on (its End does end it).
        this.counts.blank++
        this.lastTx = null
        this.lastOther = 0
        this.afterFragment = false
        return
      case 'noise':
        this.counts.noise++
        return
      case 'text':
        this.continuation(text)
        return
    }
  }

  /** Emits everything still pending, marked with `reason` unless it was in fact complete. */
  flush(reason: IncompleteReason = 'eof'): void {
    for (const tx of this.pending.values()) {
      if (this.pending.has(tx.vxid)) this.evict(tx, reason)
    }
    this.sessions.clear()
    this.current = null
    this.lastTx = null
  }

  header(level: number, vxid: number, type: TxType): void {
    this.seq++
    if (level >= 2) this.deepHeaders = true
    this.lastTx = null
    this.current = null
    this.currentSession = null
    this.atHead = false
    this.afterFragment = false
    if (type === 'raw' || vxid === 0) {
      this.currentOther = 2
      this.lastOther = 2
      this.counts.nontx++
      this.openHeader = this.pos
      this.openKind = 2
      return
    }
    if (type === 'sess') {
      this.currentOther = 1
      this.lastOther = 1
      this.counts.session++
      this.currentSession = this.session(vxid)
      this.currentSessionVxid = vxid
      this.openHeader = this.pos
      this.openKind = 1
      return
    }
    this.openHeader = -1
    this.currentOther = 0
    this.counts.tx++
    if (this.track && this.beginsAgain(vxid)) this.reused = true
    let tx = this.pending.get(vxid)
    if (tx !== undefined && this.begunBefore(tx)) {
      // A header for a vxid that already began: varnishd restarted and handed out the same vxid again. (Or records
      // of it came before, outside its group: a tail of its own, isFragment.)
      this.evict(tx, 'reused')
      tx = undefined
    }
    if (tx === undefined) tx = this.create(vxid, type)
    else if (tx.type === 'unknown') tx.type = type
    if (this.track) this.log.push(this.pos, tx.seen)
    this.current = tx
  }

  record(level: number, vxid: number, tag: string, data: string): void {
    this.seq++
    this.afterFragment = false
    if (level === 0 && vxid < 0) {
      this.counts.nontx++ // a negative fd (Varnish 2.1's -1): not a transaction
      return
    }
    let tx: Transaction | null | undefined
    if (vxid < 0 || (this.current !== null && vxid === this.current.vxid)) {
      tx = this.current
      if (tx === null) {
        if (this.currentOther === 1) {
          if (tag === 'Begin') this.sessionBegins()
          this.sessionRecord(this.currentSession!, tag, data)
          if (tag === 'End') this.endSession()
        }
        else if (this.currentOther === 2) this.counts.nontx++
        else if (this.track && this.atHead) this.head.push(this.pos)
        else this.counts.bad++ // a record line before any header: nothing to attach it to
        this.lastOther = this.currentOther
        return
      }
      // A second Begin in a group is damage (a line doubled; a header of a vxid that begins again evicts in
      // header(), and after the group's End there is no group): counted, and the group read on.
      if (tag === 'Begin' && tx.reason !== '') {
        this.lastTx = null
        this.counts.bad++
        return
      }
    } else if (vxid === 0) {
      this.counts.nontx++
      this.lastTx = null
      this.lastOther = 2
      return
    } else {
      tx = this.pending.get(vxid)
      // Block mode: a Begin for a vxid the block read before (varnishd restarted, or logs were joined; or records
      // before their Begin, which only damage makes): the block is read again by the grouper that reads on.
      if (this.track && tag === 'Begin' && this.beginsAgain(vxid)) this.reused = true
      // A Begin under the vxid of records read before any Begin of it: another transaction (isFragment).
      if (tx !== undefined && tag === 'Begin' && tx.reason === '' && this.isFragment(tx)) {
        this.evict(tx, 'reused')
        tx = undefined
      }
      // A session begins under the vxid of a transaction still pending: that one is of an earlier run.
      if (tx !== undefined && tag === 'Begin' && tx.reason !== '' && data.startsWith('sess')) {
        this.evict(tx, 'reused')
        tx = undefined
      }
      if (tx === undefined) {
        const s = this.sessions.get(vxid)
        // A transaction beginning under a session's vxid: varnishd handed it out again (vxids wrap), and the
        // session, whose End the log never had, is gone.
        if (s !== undefined && tag === 'Begin') this.sessions.delete(vxid) // a new session starts under it too
        else if (s !== undefined) {
          this.sessionRecord(s, tag, data)
          if (tag === 'End') this.forgetSession(vxid)
          this.lastTx = null
          this.lastOther = 1
          return
        }
        // A session's own records. Varnish 6.0 ends an h2 session twice (`End` after the upgrade request's
        // ReqAcct, then `SessClose` and `End` when the connection closes): what follows the first End is the session's.
        // (Block mode: a SessClose the block knows nothing of is handed on, as its records before it were: the
        // grouper that reads on may hold them, as a transaction, when the session's Begin was lost.)
        if ((tag === 'Begin' && data.startsWith('sess')) || (tag === 'SessClose' && !this.track)) {
          this.sessionRecord(this.session(vxid), tag, data)
          this.lastTx = null
          this.lastOther = 1
          return
        }
      }
    }
    if (tag === 'Begin' && tx !== undefined && tx.reason !== '') {
      this.evict(tx, 'reused')
      tx = undefined
    }
    if (tx === undefined) tx = this.create(vxid, 'unknown')
    this.counts.tx++
    if (this.track) {
      if (this.store === null) this.log.push(this.pos, tx.seen) // else the store has them (leftovers())
      this.atHead = false // what follows has a context of this block's own
      if (!hasRecords(tx) && tag !== 'Begin') tx.fragment = true
    }
    if (this.store !== null) this.store.add(tx, this.pos)
    else {
      tx.tags.push(tag)
      tx.data.push(tx.fragment === true ? own(data) : data)
    }
    this.lastTx = tx
    this.lastOther = 0 // a text line after this one continues it, or (after End) nothing
    switch (tag) {
      case 'Begin':
        this.begin(tx, data)
        break
      case 'Link':
        link(tx, data, level === 0 ? this.seq : Infinity)
        break
      case 'Timestamp':
        this.timestamp(tx, data)
        break
      case 'VSL':
        if (data === 'store overflow') tx.forced = 'overflow'
        else if (data === 'timeout') tx.forced = 'timeout'
        else if (data === 'flush') tx.forced = 'flush'
        break
      case 'End':
        this.lastTx = null
        // The End of a group's transaction ends the group: a record line after it without a header of its own is
        // of no transaction known (its header was lost), not more of this one.
        if (this.current === tx) this.current = null
        if (tx.state === 0) {
          tx.state = 1
          if (tx.type === 'req' && this.esiFirst(level)) dropUnseenEsi(tx, this.pending)
          this.settle(tx)
        }
        break
    }
    // Block mode: a transaction without Begin may be a session an earlier block opened; what a text line after it
    // continues is for the grouper that reads on to say.
    if (this.track) this.afterFragment = tx.reason === ''
  }

  /** The binary reader: a record whose data the grouper does not read (`data`: '' when the store keeps it), of
   *  the transaction the record just before it went to (still pending: lastTx is that or null), kept as record()
   *  keeps it, without the rest of record(): a transaction's records come in runs. False when it is not that:
   *  record() reads it. */
  more(vxid: number, tag: string, data: string): boolean {
    if (this.store !== null) return this.moreRun(vxid, this.pos, 1)
    const tx = this.lastTx
    if (tx === null || tx.vxid !== vxid) return false
    this.seq++
    this.counts.tx++
    if (this.track) this.log.push(this.pos, tx.seen)
    tx.tags.push(tag)
    tx.data.push(tx.fragment === true ? own(data) : data)
    this.afterFragment = this.track && tx.reason === ''
    return true
  }

  /** more() of `n` such records one after the other from `pos`, kept in the store (BinaryScanner.lazy). */
  moreRun(vxid: number, pos: number, n: number): boolean {
    const tx = this.lastTx
    if (tx === null || tx.vxid !== vxid || this.store === null) return false
    this.seq += n
    this.counts.tx += n
    this.store.add(tx, pos, n)
    this.afterFragment = this.track && tx.reason === ''
    return true
  }

  private continuation(text: string): void {
    const tx = this.lastTx
    if (tx !== null && this.pending.get(tx.vxid) === tx) {
      if (this.store?.holds(tx) === true) this.store.load(tx)
      const last = tx.data.length - 1
      tx.data[last] += '\n' + text
      if (tx.tags[last] === 'Timestamp') tx.slowest = NaN // read exactly, as the record reads the whole text
      this.counts.tx++
      if (this.track) this.log.push(this.pos, tx.seen)
    } else if (this.lastOther === 1) this.counts.session++
    else if (this.lastOther === 2) this.counts.nontx++
    else if (this.track && (this.atHead || this.afterFragment)) this.head.push(this.pos)
    else this.counts.bad++
  }

  private create(vxid: number, type: TxType): Transaction {
    // -L: the oldest goes before the new one is added, so that it cannot take the new one along in its tree (a
    // fetch its Link names): the new one's records would follow a transaction already emitted.
    if (this.pending.size >= this.opts.maxPending && this.pending.size > 0) {
      const oldest = this.pending.values().next().value as Transaction
      this.evict(oldest, 'overflow')
    }
    const tx = newTransaction(vxid, type, this.now, false, this.seq)
    if (!this.slowest) tx.slowest = NaN
    this.pending.set(vxid, tx)
    if (this.track) this.created.add(vxid)
    return tx
  }

  /** `Begin <type> <parent> <reason> [sublevel]` */
  private begin(tx: Transaction, data: string): void {
    const a = data.indexOf(' ')
    const b = a < 0 ? -1 : data.indexOf(' ', a + 1)
    if (a < 0 || b < 0) return
    const type = data.slice(0, a)
    if (type === 'req' || type === 'bereq') tx.type = type
    tx.parent = toInt(data.slice(a + 1, b))
    const c = data.indexOf(' ', b + 1)
    tx.reason = c < 0 ? data.slice(b + 1) : data.slice(b + 1, c)
    if (tx.reason === 'rxreq') {
      const s = this.sessions.get(tx.parent)
      if (s !== undefined) tx.sessionAddr = s.addr
    }
  }

  /** `Label: <abs> <since start> <since last>`: log time is the absolute time, whole seconds being all the -T
   *  bookkeeping needs (read without making a string). */
  private timestamp(tx: Transaction, data: string): void {
    if (this.stampRead) this.stamp(tx, this.stampSince, this.stampSecs)
    else this.stamp(tx, this.slowest ? sinceStartQuick(data) : NaN, stampSeconds(data))
  }

  /** A Timestamp's since-start time (sinceStartQuick) and whole seconds (stampSeconds, -1 for none). */
  private stamp(tx: Transaction, since: number, t: number): void {
    if (this.slowest) tx.slowest = Math.max(tx.slowest, since) // NaN stays NaN
    if (!tx.stamped && t > 0) {
      tx.stamped = true
      // Not before the log time already read: a damaged Timestamp (a line cut short) can be decades back, which
      // timed the transaction out at the next check (before its own time moves the clock on).
      tx.t0 = Math.max(t, this.now)
    }
    if (t > this.now) {
      // The transaction whose Timestamp moves log time on is not waiting: -T does not evict it at this step (a
      // damaged earlier Timestamp of its own, or a pause longer than -T in it, did; a block, which evicts nothing,
      // read it whole).
      this.stamping = tx
      this.advanceTo(t)
      this.stamping = null
    }
  }

  /** A Timestamp record the binary reader read from its bytes (LineSink.stampRecord). */
  stampRecord(vxid: number, since: number, secs: number): void {
    this.stampRead = true
    this.stampSince = since
    this.stampSecs = secs
    this.record(0, vxid, 'Timestamp', '')
    this.stampRead = false
  }

  /** Log time moves on to `t` (epoch seconds): transactions waiting longer than the timeout are evicted. Called
   *  per Timestamp, and by the parallel reader at each step of a block's log time (Leftovers.ticks) and with the
   *  latest time a block saw. */
  advanceTo(t: number): void {
    if (t <= this.now) return
    noLogTimeBefore(this.now, t, this.pending.values())
    this.now = t
    if (this.track) this.ticks.push(t, this.pos)
    if (this.opts.timeout > 0 && t >= this.nextTimeoutCheck) {
      this.nextTimeoutCheck = t + 1
      this.expire()
    }
  }

  /** The latest log time seen (epoch seconds, whole). */
  get clock(): number {
    return this.now
  }

  /** Block mode: a transaction begins under `vxid` (its Begin or group header), noted for the grouper that reads
   *  on (Leftovers.begun); whether the block read that vxid before. */
  private beginsAgain(vxid: number): boolean {
    this.begun.push(vxid, this.pos)
    return this.created.has(vxid)
  }

  /** Records of a vxid read before its Begin, outside a group of its own (the raw layout, binary): a tail whose
   *  Begin was before the input (or lines out of place). A Begin of that vxid starts another transaction: the
   *  tail is reported on its own, as one whose vxid began again, and not taken into it (a block that reads the
   *  Begin cannot know of a tail an earlier block read). In a group of its own (a header and its records, the
   *  -v layouts), records before the Begin are the group's. */
  private isFragment(tx: Transaction): boolean {
    return tx !== this.current && hasRecords(tx)
  }

  /** A pending transaction that another beginning of its vxid evicts as `reused`: its Begin was read (an earlier
   *  run of the vxids), or it is a tail of its own (isFragment). */
  private begunBefore(tx: Transaction): boolean {
    return tx.reason !== '' || this.isFragment(tx)
  }

  /** Block mode: a block read a transaction's Begin (or header) under `vxid` (Leftovers.begun). One still pending
   *  here under it is of an earlier run of the vxids (varnishd restarted, or logs were joined), evicted as the
   *  sequential grouper evicts it at that line. One that is only a group's header (its records, which name their
   *  vxid in the -v layouts, went to a block after a blank line) is the block's transaction, which the sequential
   *  grouper reads into it: it is dropped here (its line is counted). */
  beganElsewhere(vxid: number): void {
    const tx = this.pending.get(vxid)
    if (tx === undefined) return
    if (this.begunBefore(tx)) this.evict(tx, 'reused')
    else if (!hasRecords(tx)) {
      this.pending.delete(vxid)
      if (this.current === tx) this.current = null
    }
  }

  /** Block mode: what a block read of a session (SessionEvent), in input order with the lines it hands on: the
   *  requests read after it take the address it has then, as when reading line by line. */
  sessionEvent(vxid: number, addr: string | null, _pos: number, kind: number): void {
    this.sessions.delete(vxid)
    if (kind === SESSION_BEGUN) this.session(vxid).addr = addr
  }

  /** Block mode: the block read a header or record, and its last group ended (or had no transaction): no line of a
   *  group still open is handed on, so the grouper that reads on must end the group it read last (closeGroup). */
  get groupClosed(): boolean {
    return !this.atHead && this.current === null && this.currentOther === 0
  }

  /** No group is open: what a group's End leaves (endSession), and, in block mode, what a block that read its last
   *  group to its End leaves for the lines of the next block that no header starts (groupClosed). */
  closeGroup(): void {
    this.current = null
    this.currentOther = 0
    this.currentSession = null
    this.lastTx = null
    this.lastOther = 0
  }

  /** Block mode: the lines of everything still pending, and the events (Leftovers), for the grouper that reads on.
   *  The lines are taken out of the counts (that grouper counts them when it reads them). Nothing is emitted. */
  leftovers(): Leftovers {
    const positions: number[] = []
    if (this.store !== null) {
      // Binary: each transaction's records are all in the store (only an emitted tree's are decoded).
      for (const tx of this.pending.values()) this.store.positions(tx, positions)
    } else {
      const open: number[] = []
      for (const tx of this.pending.values()) open.push(tx.seen)
      this.log.collect(open, positions)
    }
    this.counts.tx -= positions.length
    // Lines before the block's first header (uncounted here), and the header of a group still open.
    for (const p of this.head) positions.push(p)
    if (this.openHeader >= 0) {
      positions.push(this.openHeader)
      if (this.openKind === 1) this.counts.session--
      else this.counts.nontx--
    }
    positions.sort((a, b) => a - b)
    // Every session begun here, ended or not (a request between its Begin and End may be handed on; the session
    // grouping keeps a session after its End for the requests that follow it), with the address read for it.
    const sessions = this.sessionEnds
    for (const [vxid, s] of this.begunSessions) sessions.push([vxid, s.addr, s.pos, SESSION_BEGUN])
    return { positions, sessions, begun: this.begun, ticks: this.ticks }
  }

  /** Evicts transactions that have waited longer than the timeout. Map order is first-seen order, so the scan
   *  stops at the first transaction still within its time. */
  private expire(): void {
    const limit = this.now - this.opts.timeout
    for (const tx of this.pending.values()) {
      if (tx.t0 === 0) tx.t0 = this.now
      if (tx === this.stamping) continue
      if (tx.t0 >= limit) break
      if (this.pending.get(tx.vxid) === tx) this.evict(tx, 'timeout')
    }
  }

  /** The group of the current session ended. Its address is kept for the requests that follow it in the session
   *  grouping; in the vxid grouping its requests came before it, and one that follows is of another run of the
   *  vxids (varnishd restarted), which this address is not for. */
  private endSession(): void {
    if (this.vxidLayout) this.forgetSession(this.currentSessionVxid)
    // As a transaction's End ends its group (record()), so does a session's: lines after it are of no group (in
    // block mode, its header is not handed on as a group still open).
    this.closeGroup()
    this.openHeader = -1
  }

  /** The `Begin` of the current session's group: a session that already had an address is of an earlier run of the
   *  numbers (varnishd restarted, or logs were joined), and is forgotten; the new one takes its own. */
  private sessionBegins(): void {
    if (this.currentSession!.addr === null) return
    this.sessions.delete(this.currentSessionVxid)
    this.currentSession = this.session(this.currentSessionVxid)
  }

  /** A session's End: it is forgotten (a block tells the grouper that reads on, which may know it). */
  private forgetSession(vxid: number): void {
    this.sessions.delete(vxid)
    if (this.track) this.sessionEnds.push([vxid, null, this.pos, SESSION_ENDED])
  }

  private session(vxid: number): Session {
    let s = this.sessions.get(vxid)
    if (s === undefined) {
      s = { addr: null, pos: this.pos }
      if (this.track) this.begunSessions.push([vxid, s])
      this.sessions.set(vxid, s)
      if (this.sessions.size > this.opts.maxPending) {
        // Sessions only lend their client address; the oldest is forgotten, never reported as a record.
        this.sessions.delete(this.sessions.keys().next().value as number)
      }
    }
    return s
  }

  private sessionRecord(s: Session, tag: string, data: string): void {
    this.counts.session++
    if (tag === 'SessOpen') {
      // SessOpen <remote ip> <port> <listener> <local ip> <port> <time> <fd>
      const a = data.indexOf(' ')
      const b = a < 0 ? -1 : data.indexOf(' ', a + 1)
      if (b > 0 && s.addr === null) s.addr = own(data.slice(0, b))
    } else if (tag === 'Proxy') {
      // Proxy <version> <client ip> <client port> <server ip> <server port>
      const a = data.indexOf(' ')
      const b = a < 0 ? -1 : data.indexOf(' ', a + 1)
      const c = b < 0 ? -1 : data.indexOf(' ', b + 1)
      if (c > 0) s.addr = own(data.slice(a + 1, c))
    }
  }

  /** Called when `tx` ended or a child of it completed: completes what can be completed, emits a finished root. */
  private settle(tx: Transaction): void {
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      if (tx.state === 0) return
      // Block mode: a transaction without Begin (an earlier block read it) is finished by the grouper that reads
      // on; here it never completes, and neither does the tree it belongs to.
      if (this.track && tx.reason === '') return
      const links = tx.links
      for (let i = 0; i < links.length; i++) {
        const child = this.pending.get(links[i])
        if (child === undefined || child.state !== 2 || child === tx) return
      }
      // Block mode: a request without ReqStart (garbage) takes its client address from its session, which an
      // earlier block may have read: it is finished by the grouper that reads on, which knows every session.
      if (this.track && tx.sessionAddr === null && tx.reason === 'rxreq' && !this.hasClientAddr(tx)) return
      tx.state = 2
      if (isRoot(tx)) {
        this.emitTree(tx, null)
        return
      }
      const parent = this.pending.get(tx.parent)
      // No parent yet (in -g vxid it prints after its children): wait for it, or for eviction.
      if (parent === undefined || parent === tx || !parent.links.includes(tx.vxid)) return
      tx = parent
    }
  }

  /** Whether a ReqStart of tx gives its client address (the record takes the first that does, else its
   *  session's: a ReqStart cut short gives none). */
  private hasClientAddr(tx: Transaction): boolean {
    if (this.store !== null) return this.store.some(tx, 'ReqStart', givesAddr)
    for (let i = 0; i < tx.tags.length; i++) if (tx.tags[i] === 'ReqStart' && givesAddr(tx.data[i])) return true
    return false
  }

  /** An ESI subrequest ends before its parent. Where lines come in the order transactions ended (raw, and the
   *  vxid grouping), one not read by its parent's End is not in the input: varnishlog 7.2 and later leave ESI
   *  subrequests out of the vxid grouping unless given -E. (In the grouped layouts they follow their parent; in a
   *  block, an earlier block may have read them: the grouper that reads on decides.) */
  private esiFirst(level: number): boolean {
    if (this.track) return false
    return level === 0 || (this.vxidLayout && !this.deepHeaders)
  }

  /** Emits the whole tree `tx` belongs to, as incomplete with `reason` if any part of it is unfinished. */
  private evict(tx: Transaction, reason: IncompleteReason): void {
    let root = tx
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const parent = this.pending.get(root.parent)
      if (parent === undefined || parent === root || !parent.links.includes(root.vxid)) break
      root = parent
    }
    this.emitTree(root, reason)
  }

  private emitTree(root: Transaction, reason: IncompleteReason | null): void {
    const state = { unfinished: false, forced: null as IncompleteReason | null }
    this.detach(root, state, 0)
    let incomplete: IncompleteReason | null = null
    if (state.unfinished) incomplete = reason ?? 'eof'
    else if (state.forced !== null) incomplete = state.forced
    if (this.current !== null && this.pending.get(this.current.vxid) !== this.current) this.current = null
    if (this.lastTx !== null && this.pending.get(this.lastTx.vxid) !== this.lastTx) this.lastTx = null
    this.emit(root, incomplete)
  }

  /** Removes `tx` and the linked transactions present from pending, attaching them as children. */
  private detach(tx: Transaction, state: { unfinished: boolean; forced: IncompleteReason | null }, depth: number): void {
    this.pending.delete(tx.vxid)
    // Unfinished: no End yet, or no Begin (a fragment: the input started in the middle of it).
    if (tx.state === 0 || tx.reason === '') state.unfinished = true
    if (tx.forced !== null && state.forced === null) state.forced = tx.forced
    tx.children = []
    for (const v of tx.links) {
      const child = this.pending.get(v)
      if (child === undefined || depth >= MAX_DEPTH) {
        state.unfinished = true
        continue
      }
      tx.children.push(child)
      this.detach(child, state, depth + 1)
    }
  }
}

/** collect()'s table covers `seen` up to this (a block's lines); beyond, it looks each line up in a Set. */
const MAX_FLAGS = 1 << 22

/** Block mode: (position, transaction) for every line a transaction got, in two typed arrays (an array of
 *  positions per transaction was a third of a block's garbage). */
export class PositionLog {
  private pos = new Float64Array(0)
  private tx = new Float64Array(0)
  /** collect()'s flags, by `seen`: all 0 between calls. */
  private flags = new Uint8Array(0)
  private n = 0

  clear(): void {
    this.n = 0
  }

  push(pos: number, tx: number): void {
    if (this.n === this.pos.length) this.grow()
    this.pos[this.n] = pos
    this.tx[this.n++] = tx
  }

  /** Appends the positions of the lines of the transactions in `open` (their `seen`), in the order they were read.
   *  A block's grouper numbers its lines from 0, so a transaction's `seen` indexes a table of flags: a Set looked
   *  up for every line of the block was 2% of a binary --json block's time. */
  collect(open: readonly number[], into: number[]): void {
    let max = -1
    for (const s of open) {
      if (!(Number.isInteger(s) && s >= 0 && s < MAX_FLAGS)) return this.collectSet(new Set(open), into)
      if (s > max) max = s
    }
    if (max < 0) return
    if (this.flags.length <= max) this.flags = new Uint8Array(max + 1 + (max >> 1))
    const flags = this.flags
    for (const s of open) flags[s] = 1
    const tx = this.tx
    for (let i = 0; i < this.n; i++) {
      const t = tx[i]
      if (t <= max && flags[t] === 1) into.push(this.pos[i])
    }
    for (const s of open) flags[s] = 0
  }

  private collectSet(open: Set<number>, into: number[]): void {
    for (let i = 0; i < this.n; i++) if (open.has(this.tx[i])) into.push(this.pos[i])
  }

  private grow(): void {
    const size = Math.max(4096, this.pos.length * 2)
    this.pos = grown(this.pos, new Float64Array(size))
    this.tx = grown(this.tx, new Float64Array(size))
  }
}

/** Whether a transaction has records (kept in the store, or its own): not only a group's header. */
function hasRecords(tx: Transaction): boolean {
  return tx.tags.length > 0 || tx.stored >= 0
}

/** Whether a ReqStart's data gives an address (record.ts's addr() makes one of its first field). */
function givesAddr(d: string): boolean {
  return field(d, 0) !== null
}

/** A client request that starts a tree: received from a client (rxreq), or one varnishlog synthesized without a
 *  known parent (`Begin req 0 synth`). Backend, ESI and restart transactions hang below a request. */
function isRoot(tx: Transaction): boolean {
  return tx.type === 'req' && (tx.reason === 'rxreq' || tx.parent <= 0)
}

/** Forgets the links to ESI subrequests that are not in the input. */
function dropUnseenEsi(tx: Transaction, pending: Map<number, Transaction>): void {
  for (let i = tx.links.length - 1; i >= 0; i--) {
    if (tx.linkReasons[i] === 'esi' && !pending.has(tx.links[i])) {
      tx.links.splice(i, 1)
      tx.linkReasons.splice(i, 1)
      tx.linkSeen.splice(i, 1)
    }
  }
}

/** `Link <type> <vxid> <reason> [sublevel]` */
function link(tx: Transaction, data: string, seen: number): void {
  const a = data.indexOf(' ')
  const b = a < 0 ? -1 : data.indexOf(' ', a + 1)
  if (a < 0 || b < 0) return
  const vxid = toInt(data.slice(a + 1, b))
  if (vxid <= 0 || vxid === tx.vxid) return
  const c = data.indexOf(' ', b + 1)
  tx.links.push(vxid)
  tx.linkReasons.push(c < 0 ? data.slice(b + 1) : data.slice(b + 1, c))
  tx.linkSeen.push(seen)
}

/** A string of its own: a slice of the data would keep all the text it was cut from (binary input decodes
 *  16 KiB at a time) alive as long as the session (or a block's fragment) is remembered. */
function own(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'latin1').latin1Slice(0, s.length)
}

function toInt(s: string): number {
  const n = Number(s)
  return Number.isSafeInteger(n) && n >= 0 ? n : -1
}
