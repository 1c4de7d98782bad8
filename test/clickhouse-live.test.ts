// --clickhouse against a real ClickHouse server: the installed clickhouse-server (Debian's package, 18.16),
// started on free loopback ports with a temporary data directory (test/clickhouse-server.ts). Every record
// inserted is counted back with SQL and its values are those --json prints; the server killed mid-run and started
// again loses nothing and inserts nothing twice; an answer lost after the insert is checked, not resent; a full
// buffer is counted; a schema error stops with the server's message. Skips only when clickhouse-server is not
// installed; CI (.ci/run) installs it.

import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import { generate } from '../bench/gen.js'
import { run } from '../src/run.js'
import { ROW_COLUMNS } from '../src/sink/clickhouse/row.js'
import { parseClickHouseOptions } from '../src/sink/clickhouse/settings.js'
import { ClickHouseSink } from '../src/sink/clickhouse/sink.js'
import type { ClientRecord } from '../src/vsl/types.js'
import { clickhouseCommand, expectedRow, startClickHouse, TEST_CLUSTER, TEST_USER, type ClickHouseServer } from './clickhouse-server.js'
import { DEFAULTS, repoPath, Sink } from './support.js'

const CLI = repoPath('dist/vlogdump.cjs')
const COMMAND = clickhouseCommand()
const tmp = mkdtempSync(join(tmpdir(), 'vlogdump-ch-live-'))

/** Every child this file spawns, killed at the end whatever happens. */
const children = new Set<ChildProcess>()

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/** Starts the CLI; `feed` writes its stdin (then ends it) when given, else stdin is ignored. */
function cli(args: string[], opts: { env?: Record<string, string>; stdin?: boolean } = {}): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<Result>((resolve) => child.once('close', (code) => (children.delete(child), resolve({ code, stdout, stderr }))))
  return { child, done }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** The DDL --ch-create prints, without its comment lines: what an operator would run. */
async function createTable(ch: ClickHouseServer, table: string): Promise<string> {
  const r = await cli(['--clickhouse', ch.url, '--ch-create', '--ch-table', table]).done
  assert.equal(r.code, 0, r.stderr)
  await ch.query(sqlOf(r.stdout))
  return r.stdout
}

function sqlOf(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('--') && l.trim() !== '')
    .join('\n')
}

/** The rows of a table as row.ts makes them (batch apart), sorted: a multiset to compare. */
async function rowsOf(ch: ClickHouseServer, table: string): Promise<{ rows: string[]; batches: number[] }> {
  const cols = ROW_COLUMNS.map((c) => (c === 'start' ? 'toUInt32(start) AS start' : c === 'side' ? 'toString(side) AS side' : `\`${c}\``))
  const text = await ch.query(`SELECT ${cols.join(', ')} FROM ${table} FORMAT JSONEachRow`, { output_format_json_quote_64bit_integers: '0' })
  const rows: string[] = []
  const batches: number[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const r = JSON.parse(line) as Record<string, unknown>
    batches.push(r.batch as number)
    delete r.batch
    rows.push(JSON.stringify(r))
  }
  return { rows: rows.sort(), batches }
}

function expectedRows(json: ClientRecord[], host: string, instance = ''): string[] {
  return json.map((j) => JSON.stringify(expectedRow(j, host, instance))).sort()
}

function jsonLines(text: string): ClientRecord[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ClientRecord)
}

async function count(ch: ClickHouseServer, sql: string): Promise<number> {
  return Number((await ch.query(sql)).trim())
}

/** A TCP proxy in front of the server that, for the first INSERT it sees, lets the server do it and then cuts the
 *  connection before the answer reaches the client: the insert happened, the client cannot know. */
async function answerDropper(port: number): Promise<{ port: number; inserts: number; selects: number; close(): Promise<void> }> {
  const state = { port: 0, inserts: 0, selects: 0, dropped: false, close: async () => {} }
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    let cutNext = false
    client.on('data', (d: Buffer) => {
      const text = d.toString('latin1')
      if (/^POST \/\?query=INSERT/m.test(text)) {
        state.inserts++
        if (!state.dropped) {
          state.dropped = true
          cutNext = true
        }
      } else if (/^POST \/\?query=SELECT/m.test(text)) state.selects++
      upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      if (cutNext) {
        client.destroy()
        upstream.destroy()
        return
      }
      client.write(d)
    })
    const end = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  state.port = (server.address() as { port: number }).port
  state.close = async () => {
    for (const s of sockets) s.destroy()
    await new Promise((r) => server.close(r))
  }
  return state
}

describe('clickhouse server', { timeout: 300_000 }, () => {
  let ch: ClickHouseServer | null = null

  before(
    async () => {
      if (COMMAND !== null) ch = await startClickHouse(COMMAND)
    },
    { timeout: 90_000 },
  )

  after(async () => {
    for (const c of children) c.kill('SIGKILL')
    await ch?.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  /** The server, or a skip when none is installed. */
  function server(t: TestContext): ClickHouseServer | null {
    if (COMMAND === null) {
      t.skip('clickhouse-server not installed')
      return null
    }
    assert.ok(ch !== null)
    return ch
  }

  it('--ch-create asks the server its version; the CREATE TABLE and the cluster recipe run on it', async (t) => {
    const s = server(t)
    if (s === null) return
    const text = await createTable(s, 'created')
    t.diagnostic(`server ${s.version}`)
    assert.match(text, new RegExp(`^-- The table for vlogdump --clickhouse, for ClickHouse ${s.version.replace(/\./g, '\\.')}\\.$`, 'm'))
    assert.equal(await count(s, 'EXISTS TABLE created'), 1)
    // The retention recipe for a server without TTL, and the Distributed table (ON CLUSTER needs ZooKeeper, which
    // a one-server test has not: the same statement without it).
    for (const line of text.split('\n').filter((l) => /^-- {3}ALTER TABLE|^-- CREATE TABLE|^-- {5}ENGINE = Distributed/.test(l))) t.diagnostic(line)
    if (/^-- {3}ALTER TABLE/m.test(text)) await s.query(/^-- {3}(ALTER TABLE .*);$/m.exec(text)![1])
    const dist = /^-- (CREATE TABLE .*)\n-- +(ENGINE = Distributed.*);$/m.exec(text)!
    await s.query(`${dist[1]} ${dist[2]}`.replace(` ON CLUSTER ${TEST_CLUSTER}`, ''))
    const r = await cli(['--clickhouse', s.url, '--ch-table', 'created_all', '--host-label', 'h', 'fixtures/lab/lab.vxid.log'].map((a) => (a.startsWith('fixtures/') ? repoPath(a) : a))).done
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await count(s, 'SELECT count() FROM created_all'), 99)
    assert.equal(await count(s, 'SELECT count() FROM created'), 99)
  })

  it('every record is inserted once: counted back with SQL, each value that of --json', async (t) => {
    const s = server(t)
    if (s === null) return
    await createTable(s, 'all_records')
    const files = ['fixtures/lab/lab.vxid.log', 'fixtures/varnish-7.1/small.raw.log', 'fixtures/lab/lab.backend-only.log', 'fixtures/varnish-3.0.7/varnish-3.0.7.log'].map(repoPath)
    const r = await cli(['--clickhouse', s.url, '--ch-table', 'all_records', '--ch-batch', '100', '--host-label', 'cache-1', '--json', '--summary', ...files]).done
    assert.equal(r.code, 0, r.stderr)
    const json = jsonLines(r.stdout)
    assert.match(r.stderr, new RegExp(`; clickhouse: ${json.length} inserted, 0 dropped, 0 not delivered\\n$`))
    assert.equal(await count(s, 'SELECT count() FROM all_records'), json.length)
    assert.equal(await count(s, 'SELECT count() FROM all_records WHERE status >= 500'), json.filter((j) => (j.response.status ?? 0) >= 500).length)
    assert.equal(await count(s, "SELECT count() FROM all_records WHERE handling = 'hit'"), json.filter((j) => j.handling === 'hit').length)
    const { rows, batches } = await rowsOf(s, 'all_records')
    assert.deepEqual(rows, expectedRows(json, 'cache-1'))
    t.diagnostic(`${json.length} records in ${new Set(batches).size} batches`)
  })

  it('records read by several threads: the rows the threads render are those of one thread', async (t) => {
    const s = server(t)
    if (s === null) return
    await createTable(s, 'threads')
    const input = join(tmp, 'gen.log')
    const meta = generate('raw', '3M', input)
    const ch = { ...parseClickHouseOptions({ clickhouse: s.url, table: 'threads', hostLabel: 'par' })! }
    const sink = new ClickHouseSink({ ...ch, password: null })
    const stdout = new Sink()
    const stderr = new Sink()
    const settings = { ...DEFAULTS, clickhouse: ch, printRecords: false, summary: true, threads: 2, parallel: { minBytes: 0, blockBytes: 64 * 1024 } }
    const code = await run(settings, { inputs: [{ name: input, path: input }], stdout, stderr, sink })
    assert.deepEqual([code, stdout.text], [0, ''], stderr.text)
    assert.match(stderr.text, new RegExp(`; clickhouse: ${meta.expect.records} inserted, 0 dropped, 0 not delivered\\n$`))
    const one = await cli(['--json', '--threads', '1', input]).done
    const json = jsonLines(one.stdout)
    assert.equal(json.length, meta.expect.records)
    assert.deepEqual((await rowsOf(s, 'threads')).rows, expectedRows(json, 'par'))
  })

  it('an insert done whose answer is lost is checked on the server, not sent again', async (t) => {
    const s = server(t)
    if (s === null) return
    await createTable(s, 'lost_answer')
    const proxy = await answerDropper(s.httpPort)
    try {
      const r = await cli(['--clickhouse', `http://127.0.0.1:${proxy.port}`, '--ch-table', 'lost_answer', '--summary', repoPath('fixtures/lab/lab.vxid.log')]).done
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, /^vlogdump: clickhouse: .*; retrying, records are held meanwhile/m)
      assert.match(r.stderr, /^vlogdump: clickhouse: delivering again after [\d.]+ s \(nothing lost\)$/m)
      assert.match(r.stderr, /; clickhouse: 99 inserted, 0 dropped, 0 not delivered\n$/)
      assert.deepEqual([proxy.inserts, proxy.selects >= 1], [1, true], 'one INSERT: the batch was counted, not resent')
      assert.equal(await count(s, 'SELECT count() FROM lost_answer'), 99)
    } finally {
      await proxy.close()
    }
  })

  it('the server killed mid-run and started again: every record arrives, exactly once', async (t) => {
    const s = server(t)
    if (s === null) return
    await createTable(s, 'restart')
    const input = join(tmp, 'restart.log')
    const meta = generate('vxid', '6M', input)
    const text = readFileSync(input)
    // Three parts, cut at line ends.
    const cut = (f: number): number => text.indexOf(10, Math.floor(text.length * f)) + 1
    const parts = [text.subarray(0, cut(1 / 3)), text.subarray(cut(1 / 3), cut(2 / 3)), text.subarray(cut(2 / 3))]
    const { child, done } = cli(['--clickhouse', s.url, '--ch-table', 'restart', '--ch-batch', '100,200ms', '--summary', '-'], { stdin: true })
    const write = (b: Buffer): Promise<void> => new Promise((resolve, reject) => child.stdin!.write(b, (err) => (err ? reject(err) : resolve())))
    await write(parts[0])
    // Delivering: some batches are in.
    const t0 = Date.now()
    while ((await count(s, 'SELECT count() FROM restart')) === 0) {
      assert.ok(Date.now() - t0 < 20_000, 'nothing arrived within 20 s')
      await sleep(100)
    }
    await s.kill()
    const before = Date.now()
    await write(parts[1])
    await sleep(1500) // batches fail and are retried meanwhile
    await s.start()
    t.diagnostic(`server down ${Date.now() - before} ms`)
    await write(parts[2])
    child.stdin!.end()
    const r = await done
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /^vlogdump: clickhouse: .*; retrying, records are held meanwhile/m)
    assert.match(r.stderr, /^vlogdump: clickhouse: delivering again after [\d.]+ s \(nothing lost\)$/m)
    assert.match(r.stderr, new RegExp(`; clickhouse: ${meta.expect.records} inserted, 0 dropped, 0 not delivered\\n$`))
    assert.equal(await count(s, 'SELECT count() FROM restart'), meta.expect.records)
    assert.equal(await count(s, 'SELECT uniqExact(vxid, start, start_us) FROM restart'), meta.expect.records, 'no record twice')
    t.diagnostic(r.stderr.trim())
  })

  it('the server down and a small --ch-buffer: what is dropped is counted on stderr and in --summary; exit 2', async (t) => {
    const s = server(t)
    if (s === null) return
    await createTable(s, 'overflow')
    await s.kill()
    try {
      const r = await cli(['--clickhouse', s.url, '--ch-table', 'overflow', '--ch-batch', '10', '--ch-buffer', '1KiB', '--ch-wait', '1', '--summary', repoPath('fixtures/lab/lab.vxid.log')]).done
      assert.equal(r.code, 2, r.stderr)
      const m = /; clickhouse: 0 inserted, (\d+) dropped, (\d+) not delivered\n$/.exec(r.stderr)
      assert.ok(m !== null, r.stderr)
      const [dropped, undelivered] = [Number(m[1]), Number(m[2])]
      assert.ok(dropped > 0, r.stderr)
      assert.equal(dropped + undelivered, 99)
      assert.match(r.stderr, /^vlogdump: clickhouse: the buffer is full \(--ch-buffer 1KiB\): records are dropped, and counted, until the server takes batches again$/m)
      assert.ok(r.stderr.includes(`vlogdump: clickhouse: ${dropped} records dropped: the buffer (--ch-buffer 1KiB) was full while the server could not take them\n`), r.stderr)
      assert.match(r.stderr, new RegExp(`^vlogdump: clickhouse: ${undelivered} records not delivered \\(no batch delivered for --ch-wait 1 s; last error: .*ECONNREFUSED.*\\)$`, 'm'))
    } finally {
      await s.start()
    }
  })

  it("a schema error is reported with the server's message, and not retried", async (t) => {
    const s = server(t)
    if (s === null) return
    const t0 = Date.now()
    const r = await cli(['--clickhouse', s.url, '--ch-table', 'nope', '--summary', repoPath('fixtures/lab/lab.vxid.log')]).done
    assert.equal(r.code, 2)
    assert.ok(Date.now() - t0 < 10_000)
    assert.match(r.stderr, /^vlogdump: clickhouse: the server refused the records: Code: 60, .*Table default\.nope doesn't exist.*; nothing more is sent$/m)
    assert.match(r.stderr, /; clickhouse: 0 inserted, 0 dropped, 99 not delivered\n$/)
    // A table of other columns: the server's words about the first one it does not know.
    await s.query('CREATE TABLE other (start DateTime, x UInt8) ENGINE = Memory')
    const o = await cli(['--clickhouse', s.url, '--ch-table', 'other', repoPath('fixtures/lab/lab.vxid.log')]).done
    assert.equal(o.code, 2)
    assert.match(o.stderr, /^vlogdump: clickhouse: the server refused the records: Code: 117, .*Unknown field found while parsing JSONEachRow format: start_us.*; nothing more is sent$/m)
    assert.equal(await count(s, 'SELECT count() FROM other'), 0)
  })

  it('--ch-user with the password from VLOGDUMP_CH_PASSWORD, which no message shows', async (t) => {
    const s = server(t)
    if (s === null) return
    await createTable(s, 'authed')
    const args = ['--clickhouse', s.url, '--ch-table', 'authed', '--ch-user', TEST_USER.name, '--summary', repoPath('fixtures/lab/lab.vxid.log')]
    const ok = await cli(args, { env: { VLOGDUMP_CH_PASSWORD: TEST_USER.password } }).done
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(await count(s, 'SELECT count() FROM authed'), 99)
    const bad = await cli(args, { env: { VLOGDUMP_CH_PASSWORD: 'not ' + TEST_USER.password } }).done
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^vlogdump: clickhouse: the server refused the records: Code: 193, .*Wrong password for user fleet.*\(HTTP 401\); nothing more is sent$/m)
    assert.ok(!bad.stderr.includes(TEST_USER.password) && !bad.stdout.includes(TEST_USER.password))
    const create = await cli(['--clickhouse', s.url, '--ch-create', '--ch-user', TEST_USER.name], { env: { VLOGDUMP_CH_PASSWORD: 'wrong' } }).done
    assert.equal(create.code, 2)
    assert.match(create.stderr, /^vlogdump: clickhouse: cannot ask http:\/\/127\.0\.0\.1:\d+\/ for its version: Code: 193, /)
  })

  it("README's queries run on this server", async (t) => {
    const s = server(t)
    if (s === null) return
    await createTable(s, 'varnish_requests')
    const r = await cli(['--clickhouse', s.url, repoPath('fixtures/lab/lab.vxid.log'), repoPath('fixtures/varnish-7.1/small.vxid.log')]).done
    assert.equal(r.code, 0, r.stderr)
    const readme = readFileSync(repoPath('README.md'), 'utf8')
    const queries = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]).filter((q) => /^SELECT/m.test(q) && !/^CREATE/m.test(q))
    assert.ok(queries.length >= 4, `${queries.length} queries in README`)
    for (const q of queries) {
      // The log time of the fixtures is in the past: their queries' time ranges are moved to it.
      const text = await s.query(q.replace(/now\(\) - INTERVAL 1 DAY|yesterday\(\)/g, "toDateTime('2020-01-01 00:00:00')"))
      assert.ok(text.trim() !== '', `no rows from:\n${q}`)
    }
  })
})
