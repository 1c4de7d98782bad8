// Owns `npm run soak`: the load and soak test of a live pipe. A real varnishd on loopback in front of a fast node
// backend (a process of its own) is driven at the highest rate the machine sustains — a closed loop of
// keep-alive connections, each with one request in flight — for --duration seconds, while
// `varnishlog -n X | vlogdump --json` and `varnishncsa -n X` read the same instance side by side, and a second
// varnishlog writing to /dev/null is the control: it shows whether varnishlog alone keeps up. Every --sample
// seconds it takes the request rate and each process's CPU share and RSS from /proc; at the end it reports
// requests/s, vlogdump's CPU and memory over time (flat or not), its client records against varnishncsa's lines
// (they must be equal), every `Log overrun` each reader printed (and whether vlogdump was the cause: its
// varnishlog overran while the control did not), and the record latency: marker requests sent every
// --marker-every seconds, timed from the response's end to their record on vlogdump's stdout (and to their line on
// varnishncsa's). Writes bench/results/soak-<date>.json.
//
//   npm run soak -- [--duration 600] [--concurrency 24] [--rate 0] [--sample 5] [--marker-every 2] [--no-control]
//
// --rate R paces the load to R requests/s (0, the default: as fast as it goes), to see a rate the whole pipeline
// sustains with the machine not saturated.
//
// The same file is the backend (--serve-backend) and the load generator (--load PORT N), as child processes, so
// that each one's CPU is its own in the report.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(REPO, 'dist', 'vlogdump.cjs')
const SELF = fileURLToPath(import.meta.url)
const RESULTS_DIR = join(REPO, 'bench', 'results')
const HOST = '127.0.0.1'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const nowMs = (): number => performance.timeOrigin + performance.now()

// ---- roles -------------------------------------------------------------------------------------------------------

/** The backend: fixed small bodies with Content-Length, at once. /c/ cacheable for an hour, /m/ for a second (so
 *  its objects expire and are fetched again), /p/ passed by the VCL, /mark/ never cached; anything else 404. */
function serveBackend(): void {
  const bodies = new Map<number, Buffer>()
  const body = (n: number): Buffer => {
    let b = bodies.get(n)
    if (b === undefined) bodies.set(n, (b = Buffer.alloc(512 + (n % 7) * 128, 0x61 + (n % 26))))
    return b
  }
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/'
    const n = Number(/(\d+)$/.exec(url)?.[1] ?? 0)
    const cc = url.startsWith('/c/') ? 'public, max-age=3600' : url.startsWith('/m/') ? 'public, max-age=1' : 'no-store'
    const status = url.startsWith('/c/') || url.startsWith('/m/') || url.startsWith('/p/') || url.startsWith('/mark/') ? 200 : 404
    const b = body(n)
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': b.length, 'Cache-Control': cc })
    res.end(b)
  })
  server.keepAliveTimeout = 600_000
  server.listen(0, HOST, () => process.stdout.write(JSON.stringify({ port: (server.address() as net.AddressInfo).port }) + '\n'))
}

/** The load: `concurrency` keep-alive connections, each a loop of one request and its whole response — as fast as
 *  they go, or with `rate` > 0 paced to `rate` requests/s in all (each connection sends its next request at its
 *  turn, or at once when it is late). The mix: 80% cacheable (hits once warm), 8% short-lived (misses), 10% pass,
 *  2% not found. Counts are sent to the parent every second; on 'stop' the loops end. */
function load(port: number, concurrency: number, rate: number): void {
  const gapMs = rate > 0 ? (1000 * concurrency) / rate : 0
  let done = 0
  let errors = 0
  let running = true
  let seq = 0
  const pathOf = (): string => {
    const r = seq++ % 50
    const k = (seq * 7919) % 1000
    if (r < 40) return `/c/${k}`
    if (r < 44) return `/m/${k % 100}`
    if (r < 49) return `/p/${k}`
    return `/nf/${k}`
  }
  const connection = async (): Promise<void> => {
    while (running) {
      try {
        await session()
      } catch {
        errors++
        await sleep(50)
      }
    }
  }
  // One connection until it fails or the run ends.
  const session = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const sock = net.connect(port, HOST)
      sock.setNoDelay(true)
      let buf: Buffer = Buffer.alloc(0)
      let due = nowMs()
      const send = (): void => {
        if (!running) {
          sock.end()
          return resolve()
        }
        sock.write(`GET ${pathOf()} HTTP/1.1\r\nHost: soak.test\r\nUser-Agent: vlogdump-soak\r\n\r\n`)
      }
      const next = (): void => {
        if (gapMs === 0) return send()
        due = Math.max(due + gapMs, nowMs() - gapMs) // late: no burst to catch up more than one turn
        const wait = due - nowMs()
        if (wait <= 0) send()
        else setTimeout(send, wait)
      }
      sock.on('connect', next)
      sock.on('data', (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
        for (;;) {
          const used = responseLength(buf)
          if (used === 0) break
          buf = buf.subarray(used)
          done++
          next()
        }
      })
      sock.on('error', reject)
      sock.on('close', () => (running ? reject(new Error('closed')) : resolve()))
    })
  const timer = setInterval(() => process.send!({ done, errors }), 1000)
  process.on('message', (m) => {
    if (m === 'stop') {
      running = false
      clearInterval(timer)
      setTimeout(() => {
        process.send!({ done, errors, final: true })
        process.exit(0)
      }, 300)
    }
  })
  for (let i = 0; i < concurrency; i++) void connection()
}

/** Bytes of the first whole HTTP/1.1 response in `b` (Content-Length or chunked), or 0 while it is incomplete. */
function responseLength(b: Buffer): number {
  const end = b.indexOf('\r\n\r\n')
  if (end < 0) return 0
  const head = b.toString('latin1', 0, end).toLowerCase()
  const cl = /\r\ncontent-length: *(\d+)/.exec(head)
  if (cl !== null) {
    const total = end + 4 + Number(cl[1])
    return b.length >= total ? total : 0
  }
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    let pos = end + 4
    for (;;) {
      const eol = b.indexOf('\r\n', pos)
      if (eol < 0) return 0
      const size = parseInt(b.toString('latin1', pos, eol), 16)
      pos = eol + 2 + size + 2
      if (pos > b.length) return 0
      if (size === 0) return pos
    }
  }
  return end + 4 // no body (304, 204)
}

// ---- the run -----------------------------------------------------------------------------------------------------

interface Config {
  duration: number
  concurrency: number
  /** Requests/s in all; 0: as fast as the connections go (the machine's highest rate). */
  rate: number
  sample: number
  markerEvery: number
  control: boolean
}

function parseConfig(argv: string[]): Config {
  const c: Config = { duration: 600, concurrency: 24, rate: 0, sample: 5, markerEvery: 2, control: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const num = (min: number): number => {
      const v = Number(argv[++i])
      if (!Number.isFinite(v) || v < min) usage(`${a}: expected a number of at least ${min}`)
      return v
    }
    if (a === '--duration') c.duration = num(5)
    else if (a === '--concurrency') c.concurrency = Math.round(num(1))
    else if (a === '--rate') c.rate = num(0)
    else if (a === '--sample') c.sample = num(1)
    else if (a === '--marker-every') c.markerEvery = num(0.2)
    else if (a === '--no-control') c.control = false
    else usage(`unknown option ${a}`)
  }
  return c
}

function usage(msg: string): never {
  process.stderr.write(`soak: ${msg}\nusage: npm run soak -- [--duration 600] [--concurrency 24] [--rate 0] [--sample 5] [--marker-every 2] [--no-control]\n`)
  process.exit(2)
}

/** Every child of the run, killed on the way out whatever happens. */
const children = new Set<ChildProcess>()
let instanceDir: string | null = null

function track(c: ChildProcess): ChildProcess {
  children.add(c)
  c.once('exit', () => children.delete(c))
  return c
}

function cleanup(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  if (instanceDir !== null) rmSync(instanceDir, { recursive: true, force: true })
  instanceDir = null
}

function which(cmd: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    if (dir !== '' && existsSync(join(dir, cmd))) return join(dir, cmd)
  }
  return null
}

async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => srv.listen(0, HOST, resolve))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise((resolve) => srv.close(resolve))
  return port
}

function httpGet(port: number, path: string, agent?: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path, agent: agent ?? false, timeout: 5000 }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(0))
  })
}

/** A stream's lines counted as they come, and marker URLs (`/mark/<n>`) noted with the time they were first seen.
 *  Only whole lines are looked at (a line cut by a chunk's end waits for the rest), with Buffer.indexOf: cheap next
 *  to what is being measured. */
class LineCounter {
  lines = 0
  /** Lines that contain `"side":"backend"` (vlogdump's backend-only records). */
  backendLines = 0
  /** Lines that do not end in `"incomplete":null}` (vlogdump's incomplete records). */
  incompleteLines = 0
  readonly markers = new Map<number, number>()
  private partial: Buffer = Buffer.alloc(0)

  /** `json`: vlogdump's lines (counted by kind). */
  constructor(private readonly json: boolean) {}

  push(chunk: Buffer): void {
    const at = nowMs()
    const data = this.partial.length === 0 ? chunk : Buffer.concat([this.partial, chunk])
    const lastNl = data.lastIndexOf(10)
    if (lastNl < 0) {
      this.partial = Buffer.from(data)
      return
    }
    let i = -1
    while ((i = data.indexOf(10, i + 1)) >= 0 && i <= lastNl) {
      this.lines++
      if (this.json && !(i >= 18 && data.toString('latin1', i - 18, i) === '"incomplete":null}')) this.incompleteLines++
    }
    if (this.json) {
      let from = 0
      while ((from = data.indexOf('"side":"backend"', from)) >= 0 && from < lastNl) {
        this.backendLines++
        from += 16
      }
    }
    let m = 0
    while ((m = data.indexOf('/mark/', m)) >= 0 && m < lastNl) {
      let j = m + 6
      let n = 0
      while (data[j] >= 48 && data[j] <= 57) n = n * 10 + data[j++] - 48
      if (j > m + 6 && !this.markers.has(n)) this.markers.set(n, at)
      m = j
    }
    this.partial = Buffer.from(data.subarray(lastNl + 1))
  }
}

interface ProcSample {
  ticks: number
  rssKiB: number
  hwmKiB: number
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

function procSample(pid: number | undefined): ProcSample | null {
  if (pid === undefined) return null
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { ticks: Number(f[11]) + Number(f[12]), rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') }
  } catch {
    return null
  }
}

/** varnishd's worker: the child of the manager process. */
function childPid(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    return kids.length > 0 ? Number(kids[0]) : undefined
  } catch {
    return undefined
  }
}

function collect(stream: NodeJS.ReadableStream | null | undefined): () => string {
  let text = ''
  stream?.on('data', (c: Buffer) => (text = (text + c.toString('utf8')).slice(-65536)))
  return () => text
}

function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}

const PROCS = ['vlogdump', 'varnishlog', 'varnishncsa', 'varnishd', 'control', 'load', 'backend', 'soak'] as const
type ProcName = (typeof PROCS)[number]

interface Interval {
  t: number
  reqPerSec: number
  cpu: Partial<Record<ProcName, number>>
  rssMiB: Partial<Record<ProcName, number>>
  /** varnishncsa lines minus vlogdump client records at that moment: how far vlogdump's pipe is behind. */
  behind: number
}

async function main(): Promise<void> {
  const cfg = parseConfig(process.argv.slice(2))
  const log = (s: string): void => void process.stderr.write(s)
  for (const cmd of ['varnishd', 'varnishlog', 'varnishncsa']) if (which(cmd) === null) usage(`${cmd} not found (Debian: apt-get install varnish)`)
  if (!existsSync(CLI)) usage(`${CLI} is missing: run npm run build first`)
  const started = new Date()
  process.on('exit', cleanup)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130))

  // The backend, then varnishd in front of it.
  const backend = track(spawn(process.execPath, [SELF, '--serve-backend'], { stdio: ['ignore', 'pipe', 'inherit'] }))
  const backendPort = await new Promise<number>((resolve, reject) => {
    backend.stdout!.once('data', (c: Buffer) => resolve((JSON.parse(c.toString()) as { port: number }).port))
    backend.once('exit', () => reject(new Error('backend exited')))
  })
  instanceDir = mkdtempSync(join(tmpdir(), 'vlogdump-soak-'))
  chmodSync(instanceDir, 0o755)
  const vcl = join(instanceDir, 'soak.vcl')
  writeFileSync(vcl, `vcl 4.1;\nbackend fast { .host = "${HOST}"; .port = "${backendPort}"; }\nsub vcl_recv { if (req.url ~ "^/(p|mark)/") { return (pass); } }\n`, { mode: 0o644 })
  const port = await freePort()
  const admin = await freePort()
  const varnishd = track(
    spawn(which('varnishd')!, ['-F', '-n', instanceDir, '-a', `${HOST}:${port}`, '-T', `${HOST}:${admin}`, '-f', vcl, '-s', 'malloc,256m'], { stdio: ['ignore', 'pipe', 'pipe'] }),
  )
  const varnishdOut = collect(varnishd.stdout)
  collect(varnishd.stderr)
  for (let i = 0; ; i++) {
    if ((await httpGet(port, '/c/ready')) === 200) break
    if (varnishd.exitCode !== null || i > 300) throw new Error(`varnishd did not start:\n${varnishdOut()}`)
    await sleep(200)
  }
  const varnishdVersion = spawnSync(which('varnishd')!, ['-V'], { encoding: 'utf8' }).stderr.split('\n')[0]
  log(`soak: ${varnishdVersion}, backend :${backendPort}, varnishd :${port}, ${cfg.duration} s at concurrency ${cfg.concurrency}${cfg.rate > 0 ? `, paced to ${cfg.rate} req/s` : ', as fast as it goes'}\n`)

  // The readers: varnishlog | vlogdump --json, varnishncsa, and the control varnishlog.
  const vd = track(spawn(CLI, ['--json', '--summary'], { stdio: ['pipe', 'pipe', 'pipe'] }))
  const vdCount = new LineCounter(true)
  vd.stdout!.on('data', (c: Buffer) => vdCount.push(c))
  const vdErr = collect(vd.stderr)
  const vdExit = new Promise<number | null>((resolve) => vd.once('exit', (code) => resolve(code)))
  const vl = track(spawn('varnishlog', ['-n', instanceDir], { stdio: ['ignore', vd.stdin!, 'pipe'] }))
  // varnishlog has the pipe's write end now; ours is dropped, so that vlogdump sees the end when varnishlog ends.
  vd.stdin!.destroy()
  const vlErr = collect(vl.stderr)
  const ncsa = track(spawn('varnishncsa', ['-n', instanceDir, '-F', '%{Varnish:vxid}x %s %U'], { stdio: ['ignore', 'pipe', 'pipe'] }))
  const ncsaCount = new LineCounter(false)
  ncsa.stdout!.on('data', (c: Buffer) => ncsaCount.push(c))
  const ncsaErr = collect(ncsa.stderr)
  // The control writes to /dev/null: nothing can hold it back but its own reading and formatting.
  const control = cfg.control ? track(spawn('varnishlog', ['-n', instanceDir], { stdio: ['ignore', 'ignore', 'pipe'] })) : null
  const controlErr = collect(control?.stderr)
  await sleep(2000) // every reader attached before the first request

  // Load, markers, samples.
  const loader = track(spawn(process.execPath, [SELF, '--load', String(port), String(cfg.concurrency), String(cfg.rate)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  let done = 0
  let errors = 0
  let finalCounts: { done: number; errors: number } | null = null
  loader.on('message', (m: { done: number; errors: number; final?: boolean }) => {
    done = m.done
    errors = m.errors
    if (m.final === true) finalCounts = m
  })
  const markerAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const markersSent = new Map<number, number>()
  let markerN = 0
  const markerTimer = setInterval(() => {
    const n = ++markerN
    void httpGet(port, `/mark/${n}`, markerAgent).then((status) => {
      if (status === 200) markersSent.set(n, nowMs())
    })
  }, cfg.markerEvery * 1000)

  const pids: Record<ProcName, number | undefined> = {
    vlogdump: vd.pid,
    varnishlog: vl.pid,
    varnishncsa: ncsa.pid,
    varnishd: childPid(varnishd.pid),
    control: control?.pid,
    load: loader.pid,
    backend: backend.pid,
    // This process: the markers, the sampling, and reading vlogdump's and varnishncsa's output.
    soak: process.pid,
  }
  const intervals: Interval[] = []
  const t0 = nowMs()
  let last = { t: t0, done: 0, procs: Object.fromEntries(PROCS.map((p) => [p, procSample(pids[p])])) as Record<ProcName, ProcSample | null> }
  log(`${'t s'.padStart(6)}${'req/s'.padStart(9)}${'vlogdump CPU'.padStart(14)}${'RSS MiB'.padStart(9)}${'varnishlog'.padStart(12)}${'ncsa'.padStart(7)}${'varnishd'.padStart(10)}${'load'.padStart(7)}${'behind'.padStart(8)}\n`)
  while (nowMs() - t0 < cfg.duration * 1000) {
    await sleep(Math.min(cfg.sample * 1000, cfg.duration * 1000 - (nowMs() - t0)))
    const t = nowMs()
    const procs = Object.fromEntries(PROCS.map((p) => [p, procSample(pids[p])])) as Record<ProcName, ProcSample | null>
    const dt = (t - last.t) / 1000
    const iv: Interval = { t: (t - t0) / 1000, reqPerSec: (done - last.done) / dt, cpu: {}, rssMiB: {}, behind: ncsaCount.lines - (vdCount.lines - vdCount.backendLines) }
    for (const p of PROCS) {
      const a = last.procs[p]
      const b = procs[p]
      if (a === null || b === null) continue
      iv.cpu[p] = ((b.ticks - a.ticks) / CLK_TCK / dt) * 100
      iv.rssMiB[p] = b.rssKiB / 1024
    }
    intervals.push(iv)
    const pct = (p: ProcName): string => (iv.cpu[p] === undefined ? '-' : `${iv.cpu[p]!.toFixed(0)}%`)
    log(
      `${iv.t.toFixed(0).padStart(6)}${iv.reqPerSec.toFixed(0).padStart(9)}${pct('vlogdump').padStart(14)}${(iv.rssMiB.vlogdump ?? 0).toFixed(1).padStart(9)}` +
        `${pct('varnishlog').padStart(12)}${pct('varnishncsa').padStart(7)}${pct('varnishd').padStart(10)}${pct('load').padStart(7)}${String(iv.behind).padStart(8)}\n`,
    )
    last = { t, done, procs }
  }
  const peak = Object.fromEntries(PROCS.map((p) => [p, (procSample(pids[p])?.hwmKiB ?? 0) / 1024])) as Record<ProcName, number>

  // Stop the load; let the last transactions reach the log; stop the readers (vlogdump then reads to the end).
  clearInterval(markerTimer)
  loader.send('stop')
  await new Promise((resolve) => loader.once('exit', resolve))
  markerAgent.destroy()
  const loadSeconds = (nowMs() - t0) / 1000
  await sleep(3000)
  for (const c of [vl, ncsa, control]) c?.kill('SIGINT')
  const vdCode = await Promise.race([vdExit, sleep(30_000).then(() => 'timeout' as const)])
  await sleep(300)

  // The report.
  const overruns = (text: string): number => (text.match(/Log overrun/g) ?? []).length
  const vdClients = vdCount.lines - vdCount.backendLines
  const lat = (seen: Map<number, number>): number[] => [...markersSent].filter(([n]) => seen.has(n)).map(([n, sent]) => Math.max(0, seen.get(n)! - sent))
  const vdLat = lat(vdCount.markers)
  const ncsaLat = lat(ncsaCount.markers)
  const steady = intervals.filter((iv) => iv.t > Math.min(30, cfg.duration / 4)) // after warm-up
  const mean = (xs: number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)
  const cpuOf = (p: ProcName): { mean: number | null; max: number | null } => {
    const xs = steady.map((iv) => iv.cpu[p]).filter((x): x is number => x !== undefined)
    return { mean: mean(xs), max: xs.length === 0 ? null : Math.max(...xs) }
  }
  const third = Math.max(1, Math.floor(steady.length / 3))
  const rssFirst = quantile(steady.slice(0, third).map((iv) => iv.rssMiB.vlogdump ?? 0), 0.5)
  const rssLast = quantile(steady.slice(-third).map((iv) => iv.rssMiB.vlogdump ?? 0), 0.5)
  const requests = (finalCounts as { done: number; errors: number } | null)?.done ?? done
  const over = { vlogdumpVarnishlog: overruns(vlErr()), control: control === null ? null : overruns(controlErr()), varnishncsa: overruns(ncsaErr()) }
  const cause =
    over.vlogdumpVarnishlog === 0
      ? 'none: the varnishlog piped into vlogdump never overran'
      : over.control === null
        ? 'unknown (no control varnishlog: run without --no-control)'
        : over.control > 0
          ? `not vlogdump alone: the control varnishlog overran too (${over.control}), varnishlog itself could not keep up`
          : 'vlogdump: its varnishlog overran while the control did not'
  const result = {
    date: started.toISOString(),
    config: cfg,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30, node: process.version, varnishd: varnishdVersion, loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim() },
    commit: spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout.trim(),
    requests: { total: requests, errors, seconds: loadSeconds, perSecond: requests / loadSeconds, intervalMedian: quantile(steady.map((iv) => iv.reqPerSec), 0.5) },
    cpuPercent: Object.fromEntries(PROCS.map((p) => [p, cpuOf(p)])),
    vlogdumpRssMiB: { firstThirdMedian: rssFirst, lastThirdMedian: rssLast, growth: rssFirst === null || rssLast === null ? null : rssLast - rssFirst, peak: peak.vlogdump },
    peakRssMiB: peak,
    records: {
      vlogdumpLines: vdCount.lines,
      vlogdumpClientRecords: vdClients,
      vlogdumpBackendOnly: vdCount.backendLines,
      vlogdumpIncomplete: vdCount.incompleteLines,
      varnishncsaLines: ncsaCount.lines,
      equal: vdClients === ncsaCount.lines,
      vlogdumpExit: vdCode,
      vlogdumpSummary: vdErr().trim(),
    },
    /** Most records vlogdump's output was behind varnishncsa's at a sample (its pipe's backlog, roughly). */
    behindMax: intervals.reduce((m, iv) => Math.max(m, iv.behind), 0),
    logOverruns: over,
    overrunCause: cause,
    latencyMs: {
      markersSent: markersSent.size,
      vlogdump: { seen: vdLat.length, p50: quantile(vdLat, 0.5), p90: quantile(vdLat, 0.9), max: quantile(vdLat, 1) },
      varnishncsa: { seen: ncsaLat.length, p50: quantile(ncsaLat, 0.5), p90: quantile(ncsaLat, 0.9), max: quantile(ncsaLat, 1) },
    },
    intervals,
  }
  const f = (x: number | null | undefined, d = 1): string => (x === null || x === undefined ? '-' : x.toFixed(d))
  const cpu = result.cpuPercent as Record<ProcName, { mean: number | null; max: number | null }>
  let out = `\nsoak: ${f(loadSeconds, 0)} s, ${requests} requests (${errors} connection errors), ${f(result.requests.perSecond, 0)} req/s (median interval ${f(result.requests.intervalMedian, 0)})\n`
  out += `CPU share after warm-up, mean (max), % of one core: ${PROCS.filter((p) => cpu[p].mean !== null).map((p) => `${p} ${f(cpu[p].mean, 0)} (${f(cpu[p].max, 0)})`).join(', ')}\n`
  out += `vlogdump RSS: ${f(rssFirst)} MiB (median of the first third) → ${f(rssLast)} MiB (last third), peak ${f(peak.vlogdump)} MiB\n`
  out += `records: vlogdump ${vdClients} client records (${vdCount.backendLines} backend-only, ${vdCount.incompleteLines} incomplete), varnishncsa ${ncsaCount.lines} lines: ${vdClients === ncsaCount.lines ? 'equal' : `DIFFERENT by ${vdClients - ncsaCount.lines}`}\n`
  out += `vlogdump behind varnishncsa at a sample: at most ${result.behindMax} records (${f(result.behindMax / Math.max(1, result.requests.perSecond), 2)} s of traffic)\n`
  out += `Log overrun: varnishlog | vlogdump ${over.vlogdumpVarnishlog}, control varnishlog ${over.control ?? '-'}, varnishncsa ${over.varnishncsa}; cause: ${cause}\n`
  out += `record latency (response end → record on stdout), ${markersSent.size} markers: vlogdump p50 ${f(result.latencyMs.vlogdump.p50)} ms, p90 ${f(result.latencyMs.vlogdump.p90)} ms, max ${f(result.latencyMs.vlogdump.max)} ms (${vdLat.length} seen); varnishncsa p50 ${f(result.latencyMs.varnishncsa.p50)} ms, p90 ${f(result.latencyMs.varnishncsa.p90)}, max ${f(result.latencyMs.varnishncsa.max)} ms (${ncsaLat.length} seen)\n`
  out += `vlogdump: exit ${String(vdCode)}; ${result.records.vlogdumpSummary}\n`
  process.stdout.write(out)
  mkdirSync(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `soak-${started.toISOString().replace(/:/g, '-').replace(/\..*/, '')}.json`)
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
  log(`soak: wrote ${file}\n`)
  if (!result.records.equal || over.vlogdumpVarnishlog > 0 || vdCode !== 0) process.exitCode = 1
}

const role = process.argv[2]
if (role === '--serve-backend') serveBackend()
else if (role === '--load') load(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]))
else
  main().catch((err: unknown) => {
    process.stderr.write(`soak: ${(err as Error)?.stack ?? String(err)}\n`)
    process.exitCode = 2
    cleanup()
  })
