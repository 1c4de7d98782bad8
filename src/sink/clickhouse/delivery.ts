// Owns getting batches into the table: Batches in (from batcher.ts), inserts over a Transport out, one at a time
// and in order, each exactly once. A batch is gzip'd and queued; memory is bounded by --ch-buffer (the gzip'd
// batches held). While the server takes batches, a full buffer makes the reader wait (a replay is inserted whole,
// however slow the server); while it does not, batches are retried with backoff and those beyond the buffer are
// dropped, and counted. An answer the server gives that no retry can change (no such table, a column of the
// wrong type, a wrong password) is reported with its message and ends the delivery.
//
// No batch is inserted twice. ClickHouse 18.16 deduplicates inserts only into Replicated tables, so every row
// carries its batch's token (the `batch` column) and every insert its query_id. When an insert may have reached
// the server but no answer came back (the connection broke, the server was killed), the batch is not sent again
// before the server has been asked, once it answers: is that query still running (then wait), and how many rows
// of that token does the table hold? All of them: delivered. None: send it again. A batch of at most
// max_insert_block_size rows (--ch-batch allows no more) is inserted as one block: all or none of it.

import { gzip } from 'node:zlib'
import type { Batch } from './batcher.js'
import type { Answer, Transport } from './http.js'
import { formatSize, quoteTable } from './settings.js'

export interface DeliverySettings {
  table: string
  /** --ch-buffer, bytes. */
  buffer: number
  /** Backoff between attempts: from minMs, doubled each time, at most maxMs (with ±20% jitter). */
  backoff: { minMs: number; maxMs: number }
  /** gzip level of the bodies. */
  level: number
}

export interface DeliveryEvents {
  /** Something the user should know (the server fails, delivers again, the buffer is full). */
  warn(message: string): void
  /** Delivery is over for good: no retry can help. */
  fatal(message: string): void
}

export interface DeliveryCounts {
  /** Records the table holds now. */
  inserted: number
  /** Records dropped because the buffer was full while the server did not take them. */
  dropped: number
  /** Records given up on: at the end (--ch-wait), on Ctrl-C, or after the server refused them for good. */
  undelivered: number
}

/** ClickHouse exception codes that say "not now": the insert was not done and may be sent again later. */
const TRANSIENT_CODES = new Set([
  159, // TIMEOUT_EXCEEDED
  160, // TOO_SLOW
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  216, // QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING: the attempt before is still being inserted
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY (a replica that lost ZooKeeper)
  252, // TOO_MANY_PARTS
  285, // TOO_FEW_LIVE_REPLICAS
  286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
  319, // UNKNOWN_STATUS_OF_INSERT (checked before the next attempt)
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  439, // CANNOT_SCHEDULE_TASK
  473, // DEADLOCK_AVOIDED
  999, // KEEPER_EXCEPTION
])
/** A proxy in front of the server: it is (re)starting, or overloaded. */
const TRANSIENT_STATUS = new Set([429, 502, 503, 504])

/** After Ctrl-C: what is held is sent once, for at most this long, with no retry. */
const INTERRUPT_GRACE_MS = 2000

interface Held {
  batch: Batch
  /** The gzip'd body, once made. */
  gz: Promise<Buffer>
  /** Bytes counted against the buffer: the body's until it is gzip'd, then the gzip's. */
  size: number
}

/** delivered: all rows are in the table; counted: the rows are counted already (part of a batch found in the
 *  table); fatal, abandoned: none of it was delivered. */
type Outcome = 'delivered' | 'counted' | 'fatal' | 'abandoned'

export class Delivery {
  readonly counts: DeliveryCounts = { inserted: 0, dropped: 0, undelivered: 0 }
  /** Set once no retry can help: the server's message. */
  failure: string | null = null
  private readonly queue: Held[] = []
  private held = 0
  private pumping: Promise<void> | null = null
  /** The last attempt failed (the server is down or refusing for now), since this time. */
  private failingSince: number | null = null
  private lastError = ''
  private droppedInEpisode = 0
  private lastDelivery = Date.now()
  /** Giving up: at the end after --ch-wait without a delivery, or after Ctrl-C. */
  private abandoned = false
  private interrupted = false
  private readonly waiters = new Set<() => void>()
  private cancelSleep: (() => void) | null = null
  private readonly insertQuery: string

  constructor(
    private readonly transport: Transport,
    private readonly settings: DeliverySettings,
    private readonly events: DeliveryEvents,
  ) {
    this.insertQuery = `INSERT INTO ${quoteTable(settings.table)} FORMAT JSONEachRow`
  }

  /** Takes a closed batch: queued (gzip'd in the background), or dropped when the buffer is full while the
   *  server is failing, or counted as undelivered once delivery has ended. */
  add(batch: Batch): void {
    if (this.failure !== null || this.abandoned) {
      this.counts.undelivered += batch.rows
      return
    }
    const size = batch.body.length
    if (this.failingSince !== null && this.held > 0 && this.held + size > this.settings.buffer) {
      this.counts.dropped += batch.rows
      if (this.droppedInEpisode === 0) {
        this.events.warn(`clickhouse: the buffer is full (--ch-buffer ${formatSize(this.settings.buffer)}): records are dropped, and counted, until the server takes batches again`)
      }
      this.droppedInEpisode += batch.rows
      return
    }
    const held: Held = { batch, size, gz: Promise.resolve(Buffer.alloc(0)) }
    held.gz = new Promise<Buffer>((resolve, reject) =>
      gzip(batch.body, { level: this.settings.level }, (err, out) => {
        if (err !== null) return reject(err)
        this.held += out.length - held.size
        held.size = out.length
        batch.body = EMPTY // the rows are in the gzip now
        resolve(out)
      }),
    )
    this.held += size
    this.queue.push(held)
    this.pumping ??= this.pump()
  }

  /** The reader should wait: the buffer is full and the server is taking batches (it will make room). */
  get full(): boolean {
    return this.held >= this.settings.buffer && this.failingSince === null && this.failure === null && !this.abandoned
  }

  /** Resolves when the reader may go on: there is room, or the server started failing (then batches beyond the
   *  buffer are dropped instead of waited for). */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve()
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.full) return
        this.waiters.delete(check)
        resolve()
      }
      this.waiters.add(check)
    })
  }

  /** The end of the input: waits until every batch is delivered, or gives up — after `waitSeconds` without a
   *  batch delivered (counted from now at the earliest), or at once on the first failure once interrupted. */
  async drain(waitSeconds: number, signal: AbortSignal | undefined): Promise<void> {
    this.lastDelivery = Date.now()
    const onAbort = (): void => this.interrupt()
    if (signal?.aborted) this.interrupt()
    signal?.addEventListener('abort', onAbort)
    try {
      while (this.queue.length > 0 && this.failure === null && !this.abandoned) {
        const limit = this.interrupted ? INTERRUPT_GRACE_MS : waitSeconds * 1000
        const left = this.lastDelivery + limit - Date.now()
        if (left <= 0) {
          this.abandon()
          break
        }
        await this.changed(left)
      }
      await this.pumping // what was given up on is counted
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Ctrl-C: no more retries; what is held is sent once, briefly. */
  interrupt(): void {
    if (this.interrupted) return
    this.interrupted = true
    this.lastDelivery = Date.now()
    this.cancelSleep?.()
  }

  /** The reason of the last failure, for the final message. */
  get lastFailure(): string {
    return this.lastError
  }

  /** Gives up on what is held: counted as undelivered; what is in flight is cut off. */
  private abandon(): void {
    this.abandoned = true
    this.cancelSleep?.()
    this.transport.close()
  }

  /** Sends the queue's head until it is delivered or given up on, then the next. One pump at a time. */
  private async pump(): Promise<void> {
    await null // this.pumping is set before the loop can end
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]
        let outcome: Outcome
        try {
          outcome = this.failure !== null ? 'fatal' : this.abandoned ? 'abandoned' : await this.deliver(head)
        } catch (err) {
          this.setFatal(`clickhouse: cannot gzip a batch: ${(err as Error).message}`)
          outcome = 'fatal'
        }
        this.queue.shift()
        this.held -= head.size
        if (outcome === 'delivered') this.delivered(head.batch.rows)
        else if (outcome !== 'counted') this.counts.undelivered += head.batch.rows
        this.wake()
      }
    } finally {
      this.pumping = null
      this.wake()
    }
  }

  private async deliver(h: Held): Promise<Outcome> {
    const body = await h.gz
    const { batch } = h
    const queryId = `vlogdump-${batch.token}`
    // An earlier attempt may have been inserted (no answer came back): ask before sending again.
    let unsure = false
    for (let attempt = 0; ; attempt++) {
      if (this.abandoned) return 'abandoned'
      if (attempt > 0) {
        if (this.interrupted) return this.giveUp()
        await this.sleep(this.backoff(attempt))
        if (this.abandoned) return 'abandoned'
      }
      if (unsure) {
        const a = await this.transport.send({ query: this.checkQuery(batch, queryId) }, null)
        if (a.kind !== 'ok') {
          if (this.failed(a, 'cannot count a batch whose insert got no answer (the user needs SELECT on the table)') === 'fatal') return 'fatal'
          continue
        }
        const [running, count] = a.text.trim().split('\t').map(Number)
        if (running > 0) {
          this.failed({ kind: 'error', status: 0, code: 216, message: `the insert of batch ${batch.token} is still running` })
          continue
        }
        if (count >= batch.rows) return 'delivered'
        if (count > 0) {
          // A batch is one block, all or none; were part of it ever found, it is not sent again (that would
          // insert the part twice), and the rest is counted as not delivered.
          this.delivered(count)
          this.counts.undelivered += batch.rows - count
          return 'counted'
        }
        unsure = false
      }
      const a = await this.transport.send({ query: this.insertQuery, query_id: queryId, insert_distributed_sync: '1' }, body)
      if (a.kind === 'ok') return 'delivered'
      if (a.kind === 'lost' || (a.kind === 'error' && a.code === 319)) unsure = true
      if (this.failed(a) === 'fatal') return 'fatal'
    }
  }

  /** Rows are in the table: counted, and the server works again if it did not. */
  private delivered(rows: number): void {
    this.counts.inserted += rows
    this.lastDelivery = Date.now()
    this.recovered()
  }

  /** How many rows of the batch the table holds, and whether its insert is still running. The start range lets
   *  ClickHouse read only the partitions and index ranges of the batch's rows. */
  private checkQuery(batch: Batch, queryId: string): string {
    return (
      `SELECT (SELECT count() FROM system.processes WHERE query_id = '${queryId}'), ` +
      `(SELECT count() FROM ${quoteTable(this.settings.table)} WHERE start >= toDateTime(${batch.minStart}) AND start <= toDateTime(${batch.maxStart}) AND batch = ${batch.token}) ` +
      'FORMAT TabSeparated'
    )
  }

  /** Classifies a failed attempt: retried later ('retry'), or the end of delivery ('fatal'). */
  private failed(a: Exclude<Answer, { kind: 'ok' }>, what = 'the server refused the records'): 'retry' | 'fatal' {
    if (a.kind === 'error' && !(a.code !== null ? TRANSIENT_CODES.has(a.code) : TRANSIENT_STATUS.has(a.status))) {
      this.setFatal(`clickhouse: ${what}: ${a.message}; nothing more is sent`)
      return 'fatal'
    }
    this.lastError = a.message
    if (this.failingSince === null) {
      this.failingSince = Date.now()
      this.droppedInEpisode = 0
      this.events.warn(`clickhouse: ${this.lastError}; retrying, records are held meanwhile (up to --ch-buffer ${formatSize(this.settings.buffer)})`)
      this.wake() // a reader waiting for room now goes on (and drops beyond the buffer)
    }
    return 'retry'
  }

  private recovered(): void {
    if (this.failingSince === null) return
    const secs = ((Date.now() - this.failingSince) / 1000).toFixed(1)
    const lost = this.droppedInEpisode === 0 ? 'nothing lost' : `${this.droppedInEpisode} records dropped meanwhile`
    this.events.warn(`clickhouse: delivering again after ${secs} s (${lost})`)
    this.failingSince = null
  }

  private giveUp(): 'abandoned' {
    this.abandoned = true
    return 'abandoned'
  }

  private setFatal(message: string): void {
    if (this.failure !== null) return
    this.failure = message
    this.events.fatal(message)
    this.wake()
  }

  private backoff(attempt: number): number {
    const { minMs, maxMs } = this.settings.backoff
    const ms = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 20))
    return ms * (0.8 + 0.4 * Math.random())
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms)
      function done(): void {
        clearTimeout(t)
        resolve()
      }
      this.cancelSleep = () => {
        this.cancelSleep = null
        done()
      }
    })
  }

  /** Resolves when something changed (a batch delivered or given up on), or after `ms`. */
  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms)
      const self = this
      function done(): void {
        clearTimeout(t)
        self.waiters.delete(done)
        resolve()
      }
      this.waiters.add(done)
    })
  }

  private wake(): void {
    for (const w of [...this.waiters]) w()
  }
}

const EMPTY = Buffer.alloc(0)
