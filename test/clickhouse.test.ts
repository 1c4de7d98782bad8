// The ClickHouse output without a server: its options (exact errors), the row shape against --json, the CREATE
// TABLE text for old and current servers (golden files: test/golden/clickhouse-*.sql, UPDATE_GOLDEN=1), the
// batcher, and the delivery logic over a scripted transport — retries, the check before sending a batch whose
// answer was lost, the buffer, a refusal for good. test/clickhouse-live.test.ts runs all of it against a real server.

import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import { parseArgs } from '../src/args.js'
import { UsageError } from '../src/errors.js'
import { Batcher, type Batch } from '../src/sink/clickhouse/batcher.js'
import { Delivery } from '../src/sink/clickhouse/delivery.js'
import type { Answer, Transport } from '../src/sink/clickhouse/http.js'
import { compileRow, ROW_COLUMNS, startParts } from '../src/sink/clickhouse/row.js'
import { createTableSql, featuresOf, parseVersion, storedColumnNames } from '../src/sink/clickhouse/schema.js'
import { DEFAULT_BATCH, DEFAULT_BUFFER } from '../src/sink/clickhouse/settings.js'
import type { RecordSink, SinkReport } from '../src/sink/sink.js'
import { recordsInFile, recordsOf, repoPath, runOn } from './support.js'
import { expectedRow } from './clickhouse-server.js'

const update = process.env.UPDATE_GOLDEN === '1'

function optionsOf(argv: string[]) {
  const p = parseArgs(argv, '0', () => {})
  assert.equal(p.kind, 'run')
  return p.options
}

function usageError(argv: string[]): string {
  try {
    parseArgs(argv, '0', () => {})
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err))
    return err.message
  }
  assert.fail(`no error for ${argv.join(' ')}`)
}

describe('clickhouse options', () => {
  it('defaults, and records leave stdout', () => {
    const o = optionsOf(['--clickhouse', 'http://ch:8123'])
    assert.deepEqual(o.clickhouse, {
      url: 'http://ch:8123/',
      table: 'varnish_requests',
      create: false,
      batch: DEFAULT_BATCH,
      buffer: DEFAULT_BUFFER,
      waitSeconds: 30,
      user: null,
      hostLabel: null,
    })
    assert.equal(o.printRecords, false)
    assert.equal(optionsOf(['--clickhouse', 'http://ch:8123', '--json']).printRecords, true)
    assert.equal(optionsOf(['--clickhouse', 'http://ch:8123', '-F', '%s']).printRecords, true)
    assert.equal(optionsOf(['--json']).printRecords, true)
  })

  it('--ch-batch, --ch-buffer, --ch-table, --host-label, --ch-user', () => {
    const o = optionsOf(['--clickhouse', 'https://ch.example/x', '--ch-batch', '500,256KiB,250ms', '--ch-buffer', '1KiB', '--ch-table', 'logs.vr', '--host-label', 'cache-7', '--ch-user', 'fleet', '--ch-wait', '0.5'])
    assert.deepEqual(o.clickhouse, {
      url: 'https://ch.example/x/',
      table: 'logs.vr',
      create: false,
      batch: { rows: 500, bytes: 256 * 1024, waitMs: 250 },
      buffer: 1024,
      waitSeconds: 0.5,
      user: 'fleet',
      hostLabel: 'cache-7',
    })
    assert.deepEqual(optionsOf(['--clickhouse', 'http://ch:8123', '--ch-batch', '2s']).clickhouse!.batch, { ...DEFAULT_BATCH, waitMs: 2000 })
  })

  it('bad values, each with its message', () => {
    const cases: [string[], string][] = [
      [['--ch-table', 'x'], '--ch-table goes with --clickhouse URL'],
      [['--host-label', 'x'], '--host-label goes with --clickhouse URL'],
      [['--clickhouse', 'ch:8123'], "--clickhouse: expected an http:// or https:// URL, got 'ch:8123'"],
      [['--clickhouse', 'nonsense'], "--clickhouse: expected the URL of ClickHouse's HTTP interface (http://host:8123), got 'nonsense'"],
      [['--clickhouse', 'http://u:secret@ch:8123'], '--clickhouse: give no user or password in the URL: --ch-user NAME, and the password in VLOGDUMP_CH_PASSWORD'],
      [['--clickhouse', 'http://ch:8123/?database=x'], "--clickhouse: give the URL without a query string, got 'http://ch:8123/?database=x'"],
      [['--clickhouse', 'http://ch', '--ch-table', 'a;drop'], "--ch-table: expected a table name or database.table (letters, digits, _), got 'a;drop'"],
      [['--clickhouse', 'http://ch', '--ch-batch', '0'], "--ch-batch: records must be from 1 to 1000000, got '0' (for example 10000,1MiB,1s: records, bytes, the longest wait)"],
      [['--clickhouse', 'http://ch', '--ch-batch', '5,6'], "--ch-batch: each of records, bytes and wait once, got '5,6' (for example 10000,1MiB,1s: records, bytes, the longest wait)"],
      [['--clickhouse', 'http://ch', '--ch-batch', 'lots'], "--ch-batch: expected records (a number), bytes (a size: 512KiB, 4MiB) or a wait (500ms, 1s), got 'lots' (for example 10000,1MiB,1s: records, bytes, the longest wait)"],
      [['--clickhouse', 'http://ch', '--ch-batch', '5ms'], "--ch-batch: the wait must be from 10ms to 60s, got '5ms' (for example 10000,1MiB,1s: records, bytes, the longest wait)"],
      [['--clickhouse', 'http://ch', '--ch-buffer', '12'], "--ch-buffer: expected a size from 1KiB to 1024GiB (like 64MiB), got '12'"],
      [['--clickhouse', 'http://ch', '--ch-wait', '-1'], "--ch-wait: expected seconds (more than 0), got '-1'"],
      [['--clickhouse', 'http://ch', '--ch-wait', '0'], "--ch-wait: expected seconds (more than 0), got '0'"],
      [['--clickhouse', 'http://ch', '--ch-wait', 'soon'], "--ch-wait: expected seconds (more than 0), got 'soon'"],
      [['--clickhouse', 'http://ch', '--clickhouse', 'http://ch2'], '--clickhouse given more than once'],
    ]
    for (const [argv, message] of cases) assert.equal(usageError(argv), message, argv.join(' '))
  })
})

describe('clickhouse rows', () => {
  it('their keys are the columns of the table, start first (the batcher reads it there)', () => {
    assert.deepEqual(storedColumnNames(), [...ROW_COLUMNS])
    const row = compileRow({ host: 'h', instance: '' })(recordsInFile('fixtures/lab/lab.vxid.log')[0])
    assert.deepEqual(Object.keys(JSON.parse(row)), ROW_COLUMNS.slice(0, -1))
    assert.match(row, /^\{"start":\d+,"start_us":\d+,/)
    assert.ok(row.endsWith('}\n'))
  })

  it('the start: exact seconds and microseconds of --json\'s text', () => {
    assert.deepEqual(startParts('2026-11-23T18:49:27.841077Z'), [1795459767, 841077])
    assert.deepEqual(startParts('1970-01-01T00:00:00.000001Z'), [0, 1])
    assert.deepEqual(startParts(null), [0, 0])
  })

  for (const file of ['fixtures/lab/lab.vxid.log', 'fixtures/lab/lab.raw.log', 'fixtures/varnish-6.0/lab.vsl', 'fixtures/lab/lab.backend-only.log', 'fixtures/varnish-3.0.7/varnish-3.0.7.log']) {
    it(`hold --json's values, through run(), on ${file}`, async () => {
      const json = await recordsOf([{ file }])
      const sink = new RowSink()
      const ch = { ...optionsOf(['--clickhouse', 'http://ch:8123', '--host-label', 'cache-1']).clickhouse! }
      const r = await runOn([{ file }], { clickhouse: ch, printRecords: false, instance: 'i1' }, sink)
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', ''])
      const rows = sink.rows.map((l) => JSON.parse(l) as Record<string, unknown>)
      assert.equal(rows.length, json.length)
      for (let i = 0; i < rows.length; i++) assert.deepEqual(rows[i], expectedRow(json[i], 'cache-1', 'i1'), `record ${i} (vxid ${json[i].vxid})`)
    })
  }
})

describe('clickhouse CREATE TABLE', () => {
  it('features by version', () => {
    assert.deepEqual(parseVersion('18.16.1'), [18, 16])
    assert.deepEqual(parseVersion('24.8.4.13'), [24, 8])
    assert.equal(parseVersion('nonsense'), null)
    assert.deepEqual(featuresOf([18, 16]), { ttl: false, current: false })
    assert.deepEqual(featuresOf([19, 6]), { ttl: true, current: false })
    assert.deepEqual(featuresOf([22, 2]), { ttl: true, current: false })
    assert.deepEqual(featuresOf([22, 3]), { ttl: true, current: true })
    assert.deepEqual(featuresOf([25, 1]), { ttl: true, current: true })
  })

  for (const version of ['18.16.1', '20.3.21.2', '24.8.4.13']) {
    it(`for ${version} (test/golden/clickhouse-${version}.sql)`, () => {
      const text = createTableSql('varnish_requests', version)
      const path = repoPath(`test/golden/clickhouse-${version}.sql`)
      if (update || !existsSync(path)) {
        mkdirSync(repoPath('test/golden'), { recursive: true })
        writeFileSync(path, text)
      }
      assert.equal(text, readFileSync(path, 'utf8'))
    })
  }

  it('a current server: DateTime64(6) and Maps computed from the stored columns, LowCardinality, a TTL', () => {
    const text = createTableSql('logs.vr', '24.8.4.13')
    for (const line of [
      "    start_time       DateTime64(6, 'UTC') ALIAS fromUnixTimestamp64Micro(toInt64(start) * 1000000 + start_us, 'UTC'),",
      "    req_headers_map  Map(String, String) ALIAS CAST((req_headers.name, req_headers.value), 'Map(String, String)'),",
      "    resp_headers_map Map(String, String) ALIAS CAST((resp_headers.name, resp_headers.value), 'Map(String, String)')",
      'CREATE TABLE IF NOT EXISTS `logs`.`vr`',
      'TTL start + INTERVAL 30 DAY',
      '--     ENGINE = Distributed(fleet, logs, vr, batch);',
    ]) {
      assert.ok(text.split('\n').some((l) => l === line || l.startsWith(line + ' ')), `missing: ${line}\n${text}`)
    }
    assert.match(text, /^ {4}host +LowCardinality\(String\),/m)
    assert.match(text, /^ {4}req_headers +Nested\(name String, value String\),/m)
    // The stored columns are those of the old server: one JSON row for both.
    const stored = (t: string): string[] => [...t.matchAll(/^ {4}(\w+) +(?!.* ALIAS )/gm)].map((m) => m[1])
    assert.deepEqual(stored(text), stored(createTableSql('logs.vr', '18.16.1')))
  })

  it('an old server: DateTime and Nested, no TTL but how to drop old days', () => {
    const text = createTableSql('varnish_requests', '18.16.1')
    const sql = text.split('\n').filter((l) => !l.startsWith('--'))
    assert.deepEqual(sql.filter((l) => /DateTime64|Map\(|LowCardinality|CODEC|^TTL/.test(l)), [])
    assert.match(text, /^-- {3}ALTER TABLE `varnish_requests` DROP PARTITION toYYYYMMDD\(today\(\) - 30\);$/m)
  })
})

/** A sink that keeps the rows it is given. */
class RowSink implements RecordSink {
  rows: string[] = []
  start(): void {}
  push(row: string): void {
    this.rows.push(row)
  }
  async write(bytes: Buffer): Promise<void> {
    this.rows.push(...bytes.toString('utf8').split(/(?<=\n)/).filter((l) => l !== ''))
  }
  async flush(): Promise<void> {}
  async close(): Promise<SinkReport> {
    return { name: 'rows', inserted: this.rows.length, dropped: 0, undelivered: 0 }
  }
}

/** Batches from rows, through push (strings) or pushBytes (the parallel reader's bytes). */
function batchesOf(rows: string[], limits = DEFAULT_BATCH, bytes = false): Batch[] {
  const out: Batch[] = []
  const b = new Batcher(limits, (x) => out.push({ ...x, body: Buffer.from(x.body) }))
  if (bytes) b.pushBytes(Buffer.from(rows.join('')))
  else for (const r of rows) b.push(r)
  b.seal()
  return out
}

describe('clickhouse batcher', () => {
  const rows = Array.from({ length: 25 }, (_, i) => `{"start":${1000 + (i % 7)},"v":"é${i}"}\n`)

  it('cuts at the record limit; each row gets its batch token; strings and bytes alike', () => {
    for (const bytes of [false, true]) {
      const bs = batchesOf(rows, { rows: 10, bytes: 1 << 20, waitMs: 1000 }, bytes)
      assert.deepEqual(
        bs.map((b) => b.rows),
        [10, 10, 5],
      )
      assert.equal(new Set(bs.map((b) => b.token)).size, 3)
      const parsed = bs.flatMap((b) =>
        b.body
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => ({ batch: b.token, row: JSON.parse(l) as Record<string, unknown> })),
      )
      assert.deepEqual(
        parsed.map((p) => p.row),
        rows.map((r, i) => ({ ...JSON.parse(r), batch: parsed[i].batch })),
      )
      assert.ok(parsed.every((p) => p.row.batch === p.batch))
      assert.deepEqual([bs[0].minStart, bs[0].maxStart, bs[2].minStart, bs[2].maxStart], [1000, 1006, 1000, 1006])
      assert.ok(bs.every((b) => Number.isSafeInteger(b.token)))
    }
  })

  it('cuts at the byte limit', () => {
    const bs = batchesOf(rows, { rows: 1000, bytes: 100, waitMs: 1000 })
    assert.ok(bs.length > 3)
    assert.equal(
      bs.reduce((n, b) => n + b.rows, 0),
      25,
    )
  })

  it('sends a batch whose first row has waited long enough', async () => {
    const out: Batch[] = []
    const b = new Batcher({ rows: 1000, bytes: 1 << 20, waitMs: 30 }, (x) => out.push(x))
    b.push(rows[0])
    b.push(rows[1])
    assert.equal(out.length, 0)
    await new Promise((r) => setTimeout(r, 80))
    assert.deepEqual(
      out.map((x) => x.rows),
      [2],
    )
  })
})

/** A transport that answers from a script, and records what it was asked. */
class ScriptedTransport implements Transport {
  sent: { query: string; rows: number }[] = []
  table = new Map<number, number>() // batch token → rows inserted
  constructor(private readonly script: (query: string, n: number) => Answer | 'insert' | 'count') {}
  // 'insert': the insert is done, but its answer is lost; 'count': the check's answer, from what was inserted.
  async send(params: Record<string, string>, body: Buffer | null): Promise<Answer> {
    const query = params.query
    const rows = body === null ? 0 : gunzipSync(body).toString().split('\n').filter((l) => l !== '').length
    this.sent.push({ query, rows })
    const token = body === null ? 0 : (JSON.parse(gunzipSync(body).toString().split('\n')[0]) as { batch: number }).batch
    const a = this.script(query, this.sent.length)
    if (a === 'count') {
      const m = /batch = (\d+)/.exec(query)!
      return { kind: 'ok', text: `0\t${this.table.get(Number(m[1])) ?? 0}\n` }
    }
    if (a === 'insert' || (query.startsWith('INSERT') && a.kind === 'ok')) {
      this.table.set(token, (this.table.get(token) ?? 0) + rows)
      return a === 'insert' ? { kind: 'lost', message: 'socket hang up' } : a
    }
    return a
  }
  close(): void {}
}

function delivery(t: Transport, buffer = 1 << 20) {
  const warnings: string[] = []
  const fatal: string[] = []
  const d = new Delivery(t, { table: 'varnish_requests', buffer, backoff: { minMs: 1, maxMs: 5 }, level: 1 }, { warn: (m) => warnings.push(m), fatal: (m) => fatal.push(m) })
  return { d, warnings, fatal }
}

function batch(rows: number, token = Math.floor(Math.random() * 1e9)): Batch {
  const body = Buffer.from(Array.from({ length: rows }, (_, i) => `{"start":${1000 + i},"batch":${token}}\n`).join(''))
  return { token, body, rows, minStart: 1000, maxStart: 1000 + rows - 1 }
}

const OK: Answer = { kind: 'ok', text: '' }
const REFUSED: Answer = { kind: 'unreached', message: 'connect ECONNREFUSED 127.0.0.1:8123' }

describe('clickhouse delivery', () => {
  it('an insert whose answer was lost is counted on the server, not sent again', async () => {
    const t = new ScriptedTransport((q, n) => (n === 1 ? 'insert' : q.startsWith('SELECT') ? 'count' : OK))
    const { d, warnings } = delivery(t)
    d.add(batch(3))
    await d.drain(5, undefined)
    assert.deepEqual(
      t.sent.map((s) => s.query.split(' ')[0]),
      ['INSERT', 'SELECT'],
    )
    assert.deepEqual([...t.table.values()], [3])
    assert.deepEqual(d.counts, { inserted: 3, dropped: 0, undelivered: 0 })
    assert.equal(warnings.length, 2) // failing, then delivering again
    assert.match(warnings[1], /^clickhouse: delivering again after [\d.]+ s \(nothing lost\)$/)
  })

  it('an insert that was lost before it arrived is sent again after the check finds nothing', async () => {
    const t = new ScriptedTransport((q, n) => (n === 1 ? { kind: 'lost', message: 'read ECONNRESET' } : q.startsWith('SELECT') ? 'count' : OK))
    const { d } = delivery(t)
    d.add(batch(4))
    await d.drain(5, undefined)
    assert.deepEqual(
      t.sent.map((s) => s.query.split(' ')[0]),
      ['INSERT', 'SELECT', 'INSERT'],
    )
    assert.deepEqual(d.counts, { inserted: 4, dropped: 0, undelivered: 0 })
  })

  it('the check waits while the first attempt is still running', async () => {
    let checks = 0
    const t = new ScriptedTransport((q, n) => {
      if (n === 1) return 'insert'
      if (q.startsWith('SELECT') && ++checks === 1) return { kind: 'ok', text: '1\t0\n' }
      return q.startsWith('SELECT') ? 'count' : OK
    })
    const { d } = delivery(t)
    d.add(batch(2))
    await d.drain(5, undefined)
    assert.deepEqual(
      t.sent.map((s) => s.query.split(' ')[0]),
      ['INSERT', 'SELECT', 'SELECT'],
    )
    assert.deepEqual(d.counts, { inserted: 2, dropped: 0, undelivered: 0 })
  })

  it('nothing reached the server: sent again (no check needed), in order', async () => {
    const t = new ScriptedTransport((_q, n) => (n <= 3 ? REFUSED : OK))
    const { d } = delivery(t)
    d.add(batch(1, 1))
    d.add(batch(2, 2))
    await d.drain(5, undefined)
    assert.deepEqual(
      t.sent.map((s) => s.rows),
      [1, 1, 1, 1, 2],
    )
    assert.deepEqual(d.counts, { inserted: 3, dropped: 0, undelivered: 0 })
  })

  it('a refusal for good (no such table) is reported with the server\'s message, and nothing more is sent', async () => {
    const msg = "Code: 60, e.displayText() = DB::Exception: Table default.nope doesn't exist., e.what() = DB::Exception (HTTP 404)"
    const t = new ScriptedTransport(() => ({ kind: 'error', status: 404, code: 60, message: msg }))
    const { d, fatal } = delivery(t)
    d.add(batch(5))
    d.add(batch(6))
    await d.drain(5, undefined)
    d.add(batch(7))
    assert.equal(t.sent.length, 1)
    assert.deepEqual(fatal, [`clickhouse: the server refused the records: ${msg}; nothing more is sent`])
    assert.deepEqual(d.counts, { inserted: 0, dropped: 0, undelivered: 18 })
  })

  it('a check the user may not run ends the delivery, saying why', async () => {
    const denied: Answer = { kind: 'error', status: 500, code: 497, message: 'Code: 497. DB::Exception: fleet: Not enough privileges (HTTP 500)' }
    const t = new ScriptedTransport((q, n) => (n === 1 ? 'insert' : q.startsWith('SELECT') ? denied : OK))
    const { d, fatal } = delivery(t)
    d.add(batch(3))
    await d.drain(5, undefined)
    assert.deepEqual(fatal, [
      'clickhouse: cannot count a batch whose insert got no answer (the user needs SELECT on the table): Code: 497. DB::Exception: fleet: Not enough privileges (HTTP 500); nothing more is sent',
    ])
    assert.deepEqual(d.counts, { inserted: 0, dropped: 0, undelivered: 3 })
  })

  it('a temporary refusal (too many parts) is retried', async () => {
    const t = new ScriptedTransport((_q, n) => (n === 1 ? { kind: 'error', status: 500, code: 252, message: 'Too many parts' } : OK))
    const { d, fatal } = delivery(t)
    d.add(batch(5))
    await d.drain(5, undefined)
    assert.deepEqual([fatal, d.counts], [[], { inserted: 5, dropped: 0, undelivered: 0 }])
  })

  it('while the server fails, batches beyond the buffer are dropped and counted; the reader is not held', async () => {
    const t = new ScriptedTransport(() => REFUSED)
    const { d, warnings } = delivery(t, 1)
    d.add(batch(5))
    await new Promise((r) => setTimeout(r, 20)) // its first attempt failed
    assert.equal(d.full, false)
    d.add(batch(6))
    d.add(batch(7))
    await d.drain(0.05, undefined)
    assert.deepEqual(d.counts, { inserted: 0, dropped: 13, undelivered: 5 })
    assert.ok(warnings.some((w) => w.startsWith('clickhouse: the buffer is full (--ch-buffer 1B)')))
  })

  it('while the server takes batches, a full buffer holds the reader instead', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => (release = r))
    const t: Transport = { send: async () => (await gate, OK), close() {} }
    const { d } = delivery(t, 1)
    d.add(batch(5))
    await new Promise((r) => setTimeout(r, 20))
    assert.equal(d.full, true)
    let went = false
    const room = d.room().then(() => (went = true))
    await new Promise((r) => setTimeout(r, 20))
    assert.equal(went, false)
    release()
    await room
    await d.drain(5, undefined)
    assert.deepEqual(d.counts, { inserted: 5, dropped: 0, undelivered: 0 })
  })

  it('at the end, gives up after --ch-wait without a delivery; Ctrl-C gives up at the first failure', async () => {
    const t = new ScriptedTransport(() => REFUSED)
    const { d } = delivery(t)
    d.add(batch(3))
    const t0 = Date.now()
    await d.drain(0.2, undefined)
    assert.ok(Date.now() - t0 >= 190)
    assert.deepEqual(d.counts, { inserted: 0, dropped: 0, undelivered: 3 })

    const t2 = new ScriptedTransport(() => REFUSED)
    const { d: d2 } = delivery(t2)
    d2.add(batch(3))
    const ac = new AbortController()
    ac.abort()
    const t1 = Date.now()
    await d2.drain(30, ac.signal)
    assert.ok(Date.now() - t1 < 1000)
    assert.deepEqual(d2.counts, { inserted: 0, dropped: 0, undelivered: 3 })
  })
})
