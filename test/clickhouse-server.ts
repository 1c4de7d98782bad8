// A throw-away ClickHouse server for the tests and the bench: the installed clickhouse-server (Debian's package:
// 18.16) started on free loopback ports, with its config, data and logs in a temporary directory. It runs as
// whoever runs the tests (root too: 18.16 does not refuse, and later versions only refuse a data directory owned
// by someone else, which this one never is). It can be killed and started again on the same ports and data, and
// never outlives this process. Also: the row a --json record must become (expectedRow).

import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import type { ClientRecord } from '../src/vsl/types.js'

/** A cluster of one shard, this server itself: for the Distributed-table recipe. */
export const TEST_CLUSTER = 'fleet'
/** A user with a password, for --ch-user and VLOGDUMP_CH_PASSWORD. */
export const TEST_USER = { name: 'fleet', password: 'p4ss word:with-colon' }

/** The command that starts a server, or null when none is installed: `clickhouse-server`, or newer packages'
 *  `clickhouse server`. /usr/sbin is searched too (not on every PATH). */
export function clickhouseCommand(): string[] | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin']
  for (const [name, ...args] of [['clickhouse-server'], ['clickhouse', 'server']]) {
    for (const dir of dirs) {
      if (dir === '') continue
      try {
        accessSync(join(dir, name), fsConstants.X_OK)
        return [join(dir, name), ...args]
      } catch {
        /* not here */
      }
    }
  }
  return null
}

export interface ClickHouseServer {
  url: string
  httpPort: number
  tcpPort: number
  dir: string
  /** Runs a query (POST), with settings as URL parameters; the answer's text. Throws on an error answer. */
  query(sql: string, settings?: Record<string, string>): Promise<string>
  /** SIGKILL, as a crash: nothing is flushed. */
  kill(): Promise<void>
  /** Starts it (again) on the same ports and data; resolves once /ping answers. */
  start(): Promise<void>
  /** Stops it and removes its directory. */
  stop(): Promise<void>
  /** The server's version, once started. */
  version: string
  /** Its process id, while it runs. */
  pid: number
}

const running = new Set<ChildProcess>()
let hooked = false

function hookExit(): void {
  if (hooked) return
  hooked = true
  process.on('exit', () => {
    for (const c of running) c.kill('SIGKILL')
  })
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer()
          s.once('error', reject)
          s.listen(0, '127.0.0.1', () => resolve(s))
        }),
    ),
  )
  const ports = servers.map((s) => (s.address() as { port: number }).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <timezone>UTC</timezone>
  <remote_servers>
    <${TEST_CLUSTER}><shard><replica><host>127.0.0.1</host><port>${tcpPort}</port></replica></shard></${TEST_CLUSTER}>
  </remote_servers>
</yandex>
`
}

function usersXml(): string {
  const user = (name: string, password: string): string =>
    `<${name}><password>${password}</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></${name}>`
  return `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>${user('default', '')}${user(TEST_USER.name, TEST_USER.password)}</users>
  <quotas><default></default></quotas>
</yandex>
`
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function startClickHouse(command: string[]): Promise<ClickHouseServer> {
  hookExit()
  const dir = mkdtempSync(join(tmpdir(), 'vlogdump-clickhouse-'))
  const [httpPort, tcpPort] = await freePorts(2)
  writeFileSync(join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort))
  writeFileSync(join(dir, 'users.xml'), usersXml())
  const url = `http://127.0.0.1:${httpPort}/`
  let child: ChildProcess | null = null
  let output = ''

  const query = async (sql: string, settings: Record<string, string> = {}): Promise<string> => {
    const res = await fetch(`${url}?${new URLSearchParams(settings)}`, { method: 'POST', body: sql })
    const text = await res.text()
    if (!res.ok) throw new Error(`clickhouse: ${text.trim()} (HTTP ${res.status}) for: ${sql}`)
    return text
  }

  const server: ClickHouseServer = {
    url,
    httpPort,
    tcpPort,
    dir,
    version: '',
    pid: 0,
    query,
    async start() {
      output = ''
      const c = spawn(command[0], [...command.slice(1), `--config-file=${join(dir, 'config.xml')}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
      child = c
      server.pid = c.pid ?? 0
      running.add(c)
      c.stdout!.on('data', (d: Buffer) => (output += d.toString()))
      c.stderr!.on('data', (d: Buffer) => (output += d.toString()))
      c.once('exit', () => running.delete(c))
      const deadline = Date.now() + 60_000
      for (;;) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`clickhouse-server exited (${c.exitCode ?? c.signalCode}): ${output}${errLog(dir)}`)
        try {
          const res = await fetch(`${url}ping`)
          if (res.ok) break
        } catch {
          /* not yet */
        }
        if (Date.now() > deadline) throw new Error(`clickhouse-server did not answer /ping within 60 s: ${output}${errLog(dir)}`)
        await sleep(100)
      }
      server.version = (await query('SELECT version()')).trim()
    },
    async kill() {
      const c = child
      if (c === null || c.exitCode !== null || c.signalCode !== null) return
      const gone = new Promise((r) => c.once('exit', r))
      c.kill('SIGKILL')
      await gone
    },
    async stop() {
      const c = child
      if (c !== null && c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r))
        c.kill('SIGTERM')
        const t = setTimeout(() => c.kill('SIGKILL'), 10_000)
        await gone
        clearTimeout(t)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await server.start()
  return server
}

function errLog(dir: string): string {
  try {
    return '\n' + readFileSync(join(dir, 'server.err.log'), 'utf8').split('\n').slice(-20).join('\n')
  } catch {
    return ''
  }
}

/** What a row must hold, from the --json record (the mapping README's column table documents). */
export function expectedRow(j: ClientRecord, host: string, instance: string): Record<string, unknown> {
  const [start, startUs] = j.start === null ? [0, 0] : [Date.parse(j.start.slice(0, 19) + 'Z') / 1000, Number(j.start.slice(20, 26))]
  const b = j.backend
  const flag = (v: boolean | null): number | null => (v === null ? null : v ? 1 : 0)
  return {
    start,
    start_us: startUs,
    host,
    instance,
    vxid: j.vxid,
    side: j.side,
    reason: j.reason,
    client: j.client?.ip ?? null,
    method: j.request.method,
    url: j.request.url,
    protocol: j.request.protocol,
    req_host: j.request.headers.find(([n]) => n.toLowerCase() === 'host')?.[1] ?? null,
    status: j.response.status,
    handling: j.handling,
    grace: flag(j.grace),
    streaming: flag(j.streaming),
    restarts: j.restarts,
    total: j.timing.total,
    ttfb: j.timing.ttfb,
    backend_name: b?.name ?? null,
    backend_status: b?.status ?? null,
    backend_error: b?.error ?? null,
    backend_total: b?.timing.total ?? null,
    backend_ttfb: b?.timing.ttfb ?? null,
    bytes_rx: j.bytes.total_rx,
    bytes_tx: j.bytes.total_tx,
    body_tx: j.bytes.body_tx,
    esi: j.esi.length,
    vcl_log: j.vcl_log,
    incomplete: j.incomplete,
    'req_headers.name': j.request.headers.map(([n]) => n),
    'req_headers.value': j.request.headers.map(([, v]) => v),
    'resp_headers.name': j.response.headers.map(([n]) => n),
    'resp_headers.value': j.response.headers.map(([, v]) => v),
  }
}

