// Owns the ClickHouse output as the run sees it (a RecordSink): rows in, batches (batcher.ts) delivered exactly
// once over HTTP (delivery.ts, http.ts), what became of them out (inserted, dropped, not delivered). Also
// --ch-create: the server's version in, the recommended CREATE TABLE (schema.ts) out.

import { VlogdumpError } from '../../errors.js'
import type { RecordSink, SinkHooks, SinkReport } from '../sink.js'
import { Batcher } from './batcher.js'
import { Delivery, type DeliverySettings } from './delivery.js'
import { HttpTransport, type Credentials, type Transport } from './http.js'
import { createTableSql } from './schema.js'
import { formatSize, type ClickHouseOptions } from './settings.js'

export interface ClickHouseSinkSettings extends ClickHouseOptions {
  /** From VLOGDUMP_CH_PASSWORD (cli.ts); goes nowhere but the Authorization header. */
  password: string | null
}

/** Between attempts: 0.1 s, doubled, at most 5 s (a server restarts in seconds). */
const BACKOFF: DeliverySettings['backoff'] = { minMs: 100, maxMs: 5000 }
/** gzip level 1: the bench's records as JSON shrink 8.9 times at 4.7 ms of CPU per MiB, against 13 times at
 *  10.5 ms at the default level 6; on a cache host CPU is dearer than bytes to the server. */
const GZIP_LEVEL = 1

export class ClickHouseSink implements RecordSink {
  private readonly transport: Transport
  private readonly delivery: Delivery
  private readonly batcher: Batcher
  private hooks: SinkHooks = { warn: () => {}, fail: () => {} }

  constructor(private readonly settings: ClickHouseSinkSettings) {
    this.transport = new HttpTransport(settings.url, credentials(settings))
    this.delivery = new Delivery(
      this.transport,
      { table: settings.table, buffer: settings.buffer, backoff: BACKOFF, level: GZIP_LEVEL },
      { warn: (m) => this.hooks.warn(m), fatal: (m) => this.hooks.fail(m) },
    )
    this.batcher = new Batcher(settings.batch, (b) => this.delivery.add(b))
  }

  start(hooks: SinkHooks): void {
    this.hooks = hooks
  }

  push(row: string): void {
    this.batcher.push(row)
  }

  write(bytes: Buffer): Promise<void> {
    this.batcher.pushBytes(bytes)
    return this.delivery.room()
  }

  flush(): Promise<void> {
    return this.delivery.room()
  }

  async close(signal: AbortSignal | undefined): Promise<SinkReport> {
    this.batcher.seal()
    await this.delivery.drain(this.settings.waitSeconds, signal)
    this.transport.close()
    const { inserted, dropped, undelivered } = this.delivery.counts
    if (dropped > 0) {
      this.hooks.warn(`clickhouse: ${dropped} records dropped: the buffer (--ch-buffer ${formatSize(this.settings.buffer)}) was full while the server could not take them`)
    }
    // After a refusal for good, its message said it all (and --summary counts what was not delivered).
    if (undelivered > 0 && this.delivery.failure === null) {
      const why = signal?.aborted ? 'interrupted' : `no batch delivered for --ch-wait ${this.settings.waitSeconds} s`
      this.hooks.warn(`clickhouse: ${undelivered} records not delivered (${why}; last error: ${this.delivery.lastFailure || 'none'})`)
    }
    return { name: 'clickhouse', inserted, dropped, undelivered }
  }
}

function credentials(s: ClickHouseSinkSettings): Credentials {
  return { user: s.user, password: s.password }
}

/** --ch-create: asks the server its version, and returns the CREATE TABLE for it. */
export async function createTableFor(settings: ClickHouseSinkSettings): Promise<string> {
  const transport = new HttpTransport(settings.url, credentials(settings))
  try {
    const a = await transport.send({ query: 'SELECT version()' }, null)
    if (a.kind !== 'ok') throw new VlogdumpError(`clickhouse: cannot ask ${settings.url} for its version: ${a.message}`)
    return createTableSql(settings.table, a.text.trim())
  } finally {
    transport.close()
  }
}
