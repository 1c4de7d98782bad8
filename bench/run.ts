// Owns `npm run bench`: generated inputs × scenarios in, one aligned table on stdout and bench/results/*.json out.
// Each scenario spawns the built CLI as a user would (stdout to /dev/null) and takes the median wall time of several
// runs; peak RSS is the kernel's (GNU time's %M, else VmHWM polled from /proc). Records come from --summary.
// Every run is checked: lines and records as the generator expects, and (inputs where all transactions end) as many
// records shown as the same scenario shows on the one-repetition fixture, times the repetitions.
//
//   npm run bench -- [--size 1G] [--runs 3] [--quick] [--clean] [--binary-only]
//
// --quick: 200M inputs, one run, no 4× memory check. --clean: delete the generated inputs at the end.
// --binary-only: only the binary VSL section (beside varnishlog), written to its own results file.
// The load and soak test of a live pipe (a real varnishd at the machine's highest rate, `varnishlog | vlogdump
// --json` beside varnishncsa, CPU, RSS, overruns, record latency) is bench/soak.ts: npm run soak -- --duration 600.

import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { DATA_DIR, INPUTS, REPO, ensureInput, parseSize, type GenMeta } from './gen.js'
import { ensureVslInput } from './gen-vsl.js'

const CLI = join(REPO, 'dist', 'vlogdump.cjs')
const RESULTS_DIR = join(REPO, 'bench', 'results')

// ---------------------------------------------------------------------------------------------------------------
// The tables to extend.

/** A vlogdump invocation measured on every input. A scenario whose option the CLI does not know yet (exit 2 with
 *  "Unknown argument") is skipped and listed as such. `--summary` is always added. */
interface Scenario {
  name: string
  args: string[]
  /** Inputs this scenario runs on (default: all of MATRIX_INPUTS). */
  inputs?: string[]
}

const SCENARIOS: Scenario[] = [
  { name: 'compact', args: [] },
  { name: 'json', args: ['--json'] },
  { name: 'misses-slow', args: ['--misses', '--slow', '200'] },
  // One thread (files this large are otherwise read by worker threads, one per core): what the cores add.
  { name: 'json -j1', args: ['--json', '--threads', '1'], inputs: ['vxid', 'raw'] },
  { name: 'misses-slow -j1', args: ['--misses', '--slow', '200', '--threads', '1'], inputs: ['vxid', 'raw'] },
  { name: 'query', args: ['-q', 'RespStatus >= 500 or ReqURL ~ "^/api/"'] },
  // To come; listed now so it runs as soon as the CLI accepts it:
  { name: 'stats-only', args: ['--stats-only'] },
]

/** Commands that only read the same file: what the disk and the page cache allow. */
const BASELINES: { name: string; cmd: (file: string) => string[] }[] = [
  { name: 'wc -l', cmd: (f) => ['wc', '-l', f] },
  { name: 'cat', cmd: (f) => ['cat', f] },
]

/** varnishlog itself, with the -q that selects what a scenario selects, on the binary capture the vxid input was
 *  made from, repeated as often (`varnishlog -r`; its MB/s are of the equivalent text). Run where varnishlog is
 *  installed. */
const VARNISHLOG: { name: string; query: string }[] = [
  { name: 'varnishlog -r -q (misses-slow)', query: 'VCL_call eq "MISS" and Timestamp:Resp[2] > 0.2' },
  { name: 'varnishlog -r -q (query)', query: 'RespStatus >= 500 or ReqURL ~ "^/api/"' },
]

/** Inputs of the throughput matrix (names from gen.ts INPUTS). */
const MATRIX_INPUTS = ['vxid', 'raw', 'raw-unfinished', 'legacy']

/** Memory checks: peak RSS must not grow with the input (×4), and must stay bounded by -L with unfinished input. */
const MEMORY_CHECKS: { input: string; sizeFactor: number; args: string[]; label: string }[] = [
  { input: 'vxid', sizeFactor: 4, args: [], label: 'compact' },
  { input: 'raw-unfinished', sizeFactor: 1, args: ['-L', '1000'], label: '-L 1000' },
  { input: 'raw-unfinished', sizeFactor: 1, args: ['-L', '10000'], label: '-L 10000' },
]

// ---------------------------------------------------------------------------------------------------------------

interface Config {
  size: string
  runs: number
  quick: boolean
  clean: boolean
  /** Only the binary section (written to its own results file, not latest.json). */
  binaryOnly: boolean
}

function parseConfig(argv: string[]): Config {
  const c: Config = { size: '1G', runs: 3, quick: false, clean: false, binaryOnly: false }
  let sizeGiven = false
  let runsGiven = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) usage(`${a} needs a value`)
      return v
    }
    if (a === '--size') {
      c.size = value().toUpperCase()
      parseSize(c.size)
      sizeGiven = true
    } else if (a === '--runs') {
      c.runs = Number(value())
      if (!Number.isInteger(c.runs) || c.runs < 1) usage('--runs: expected a whole number of at least 1')
      runsGiven = true
    } else if (a === '--quick') c.quick = true
    else if (a === '--clean') c.clean = true
    else if (a === '--binary-only') c.binaryOnly = true
    else usage(`unknown option ${a}`)
  }
  if (c.quick) {
    if (!sizeGiven) c.size = '200M'
    if (!runsGiven) c.runs = 1
  }
  return c
}

function usage(msg: string): never {
  process.stderr.write(
    `bench: ${msg}\nusage: npm run bench -- [--size 1G|4G|200M] [--runs 3] [--quick] [--clean] [--binary-only]\n` +
      `(the load and soak test against a live varnishd: npm run soak -- --duration 600, bench/soak.ts)\n`,
  )
  process.exit(2)
}

/** `1G` × 4 → `4G`. */
function scaleSize(size: string, factor: number): string {
  const m = /^([0-9.]+)([KMGT]?)$/.exec(size)
  if (m === null) return String(parseSize(size) * factor)
  return `${+m[1] * factor}${m[2]}`
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring one process.

interface Measure {
  seconds: number
  /** CPU seconds (user + system) of the process and its threads; null without GNU time. */
  cpuSeconds: number | null
  /** Share of the machine's CPU time the hypervisor took (steal) while it ran, in percent. */
  stealPct: number | null
  /** Peak resident set size in KiB, as the kernel counted it. */
  rssKiB: number | null
  code: number
  stderr: string
}

const GNU_TIME = '/usr/bin/time'
const HAVE_GNU_TIME = (() => {
  if (!existsSync(GNU_TIME)) return false
  const tmp = join(DATA_DIR, '.time-probe')
  mkdirSync(DATA_DIR, { recursive: true })
  const r = spawnSync(GNU_TIME, ['-f', '%M', '-o', tmp, 'true'])
  const ok = r.status === 0 && existsSync(tmp) && /^[0-9]+\s*$/.test(readFileSync(tmp, 'utf8'))
  rmSync(tmp, { force: true })
  return ok
})()

/** The machine's CPU time counters (/proc/stat): all ticks, and the ticks stolen by the hypervisor. */
function cpuTicks(): { total: number; steal: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 }
  } catch {
    return null
  }
}

/** Runs `cmd` with stdout to /dev/null, stderr captured; wall time from spawn to exit. */
function measure(cmd: string[]): Promise<Measure> {
  const devnull = openSync('/dev/null', 'w')
  const timeFile = join(DATA_DIR, `.time-${process.pid}`)
  const argv = HAVE_GNU_TIME ? [GNU_TIME, '-f', '%M %U %S', '-o', timeFile, ...cmd] : cmd
  const ticks0 = cpuTicks()
  const t0 = process.hrtime.bigint()
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', devnull, 'pipe'] })
  closeSync(devnull)
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (s: string) => {
    if (stderr.length < 1 << 16) stderr += s
  })
  // Fallback: the high-water mark from /proc while the process lives (the last poll before exit wins).
  let hwm: number | null = null
  const poll = HAVE_GNU_TIME
    ? null
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
          if (m !== null) hwm = Math.max(hwm ?? 0, +m[1])
        } catch {
          // gone
        }
      }, 10)
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      const ticks1 = cpuTicks()
      const stealPct = ticks0 === null || ticks1 === null || ticks1.total === ticks0.total ? null : (100 * (ticks1.steal - ticks0.steal)) / (ticks1.total - ticks0.total)
      if (poll !== null) clearInterval(poll)
      let rssKiB = hwm
      let cpuSeconds: number | null = null
      if (HAVE_GNU_TIME) {
        const text = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : ''
        rmSync(timeFile, { force: true })
        // GNU time prints "Command exited with non-zero status N" before the format.
        const m = /([0-9]+) ([0-9.]+) ([0-9.]+)\s*$/.exec(text)
        rssKiB = m === null ? null : +m[1]
        cpuSeconds = m === null ? null : +m[2] + +m[3]
      }
      resolve({ seconds, cpuSeconds, stealPct, rssKiB, code: code ?? -1, stderr })
    })
  })
}

/** Runs `cmd` `runs` times. The input file is read through (untimed) before each run: this VM's page cache
 *  drops files of a GB within minutes, even with most memory free, and a run that reads from disk measures the
 *  disk (a cold read of the 1 GB input took 0.93 s, a cached one 0.2 s). */
async function repeat(cmd: string[], runs: number, file: string | null): Promise<Measure[]> {
  const all: Measure[] = []
  for (let i = 0; i < runs; i++) {
    if (file !== null) warm(file)
    all.push(await measure(cmd))
  }
  return all
}

function warm(file: string): void {
  const buf = Buffer.allocUnsafe(4 << 20)
  const fd = openSync(file, 'r')
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd)
  }
}

/** Median CPU seconds and the largest steal share of some runs. */
function cpuOf(ms: Measure[]): { cpuSeconds: number | null; stealPct: number | null } {
  const cpu = ms.map((m) => m.cpuSeconds).filter((x): x is number => x !== null)
  const steal = ms.map((m) => m.stealPct).filter((x): x is number => x !== null)
  return { cpuSeconds: cpu.length === 0 ? null : median(cpu), stealPct: steal.length === 0 ? null : Math.max(...steal) }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

// ---------------------------------------------------------------------------------------------------------------
// What vlogdump says about a run.

interface Summary {
  lines: number
  records: number
  shown: number
  incomplete: number
  reasons: string
}

/** `vlogdump: 26605 lines, 300 records (300 shown, 2 incomplete: 1 eof, 1 timeout, 3 backend-only), …` */
function parseSummary(stderr: string): Summary | null {
  const m = /([0-9]+) lines, ([0-9]+) records \(([0-9]+) shown, ([0-9]+) incomplete(?:: ([0-9]+ [a-z]+(?:, [0-9]+ [a-z]+)*))?/.exec(stderr)
  if (m === null) return null
  return { lines: +m[1], records: +m[2], shown: +m[3], incomplete: +m[4], reasons: m[5] ?? '' }
}

// ---------------------------------------------------------------------------------------------------------------
// Results.

interface Row {
  section: 'throughput' | 'baseline' | 'memory' | 'startup' | 'binary'
  input: string
  scenario: string
  bytes: number | null
  runs: number
  /** Median wall time of the runs. */
  seconds: number | null
  allSeconds: number[]
  /** Median CPU seconds (user + system, all threads), and the largest steal share seen, in percent. */
  cpuSeconds?: number | null
  stealPct?: number | null
  mbPerSec: number | null
  records: number | null
  shown: number | null
  recordsPerSec: number | null
  incomplete: number | null
  incompleteReasons: string
  /** Largest peak RSS over the runs, in MiB. */
  peakRssMiB: number | null
  /** ok, MISMATCH (with what was expected), skipped (why), or an error. */
  check: string
  note?: string
}

/** What a row checks: lines, records, and incomplete records as the generator expects (`all`), or lines and records
 *  only (`records`: options such as -L change which records end up incomplete, not how many). */
type Check = 'all' | 'records'

/** `shownPerRep`: records the scenario shows on the one-repetition fixture (null: not comparable, unfinished input). */
function checkOf(s: Summary | null, meta: GenMeta, shownPerRep: number | null, code: number, stderr: string, check: Check): string {
  // 1 is "nothing matched": a result, which the shown check judges.
  if (code !== 0 && code !== 1) return `exit ${code}: ${stderr.trim().split('\n')[0]?.slice(0, 80) ?? ''}`
  if (s === null) return 'no --summary line'
  const problems: string[] = []
  if (s.lines !== meta.lines) problems.push(`lines ${s.lines} != ${meta.lines}`)
  if (s.records !== meta.expect.records) problems.push(`records ${s.records} != ${meta.expect.records}`)
  if (check === 'all' && s.incomplete !== meta.expect.incomplete) problems.push(`incomplete ${s.incomplete} != ${meta.expect.incomplete}`)
  if (shownPerRep !== null && s.shown !== shownPerRep * meta.repetitions) {
    problems.push(`shown ${s.shown} != ${shownPerRep} × ${meta.repetitions}`)
  }
  return problems.length === 0 ? 'ok' : `MISMATCH: ${problems.join(', ')}`
}

async function vlogdumpRow(
  section: Row['section'],
  input: string,
  scenario: string,
  args: string[],
  file: string,
  meta: GenMeta,
  shownPerRep: number | null,
  runs: number,
  check: Check,
): Promise<Row> {
  return rowOfRuns(section, input, scenario, await repeat(vlogdumpCommand(args, file), runs, file), file, meta, shownPerRep, check)
}

function vlogdumpCommand(args: string[], file: string): string[] {
  return [CLI, ...args, '--summary', file]
}

/** vlogdumpRow of runs made already. */
function rowOfRuns(section: Row['section'], input: string, scenario: string, ms: Measure[], file: string, meta: GenMeta, shownPerRep: number | null, check: Check): Row {
  const runs = ms.length
  const bytes = statSync(file).size
  const secs = ms.map((m) => m.seconds)
  const med = median(secs)
  const last = ms[ms.length - 1]
  const s = parseSummary(last.stderr)
  // Every run must agree, not only the last.
  const bad = ms.find((m) => m.code !== last.code || parseSummary(m.stderr)?.shown !== s?.shown || parseSummary(m.stderr)?.records !== s?.records)
  const rss = ms.map((m) => m.rssKiB).filter((x): x is number => x !== null)
  return {
    section,
    input,
    scenario,
    bytes,
    runs,
    seconds: med,
    allSeconds: secs,
    ...cpuOf(ms),
    mbPerSec: bytes / 1e6 / med,
    records: s?.records ?? null,
    shown: s?.shown ?? null,
    recordsPerSec: s === null ? null : s.records / med,
    incomplete: s?.incomplete ?? null,
    incompleteReasons: s?.reasons ?? '',
    peakRssMiB: rss.length === 0 ? null : Math.max(...rss) / 1024,
    check: bad !== undefined && bad !== last ? checkOf(parseSummary(bad.stderr), meta, shownPerRep, bad.code, bad.stderr, check) : checkOf(s, meta, shownPerRep, last.code, last.stderr, check),
  }
}

/** Runs a scenario once on an input's one-repetition fixture: whether the CLI knows its options, and how many
 *  records it shows there. */
async function probe(args: string[], fixture: string): Promise<{ ok: boolean; why: string; shown: number | null; records: number | null }> {
  const m = await measure([CLI, ...args, '--summary', join(REPO, fixture)])
  if (m.code === 2 && /Unknown argument/i.test(m.stderr)) {
    return { ok: false, why: m.stderr.trim().replace(/^vlogdump: /, ''), shown: null, records: null }
  }
  const s = parseSummary(m.stderr)
  return { ok: true, why: '', shown: s?.shown ?? null, records: s?.records ?? null }
}

/** A row with everything not given empty (null, none). */
function row(r: Pick<Row, 'section' | 'input' | 'scenario' | 'check'> & Partial<Row>): Row {
  return {
    bytes: null,
    runs: 0,
    seconds: null,
    allSeconds: [],
    mbPerSec: null,
    records: null,
    shown: null,
    recordsPerSec: null,
    incomplete: null,
    incompleteReasons: '',
    peakRssMiB: null,
    ...r,
  }
}

/** A row timing a command that is not vlogdump (wall, CPU, RSS of its runs), over `bytes` of input if any. */
function commandRow(section: Row['section'], input: string, scenario: string, ms: Measure[], bytes: number | null, okCodes = [0]): Row {
  const med = median(ms.map((m) => m.seconds))
  const rss = ms.map((m) => m.rssKiB).filter((x): x is number => x !== null)
  const bad = ms.find((m) => !okCodes.includes(m.code))
  return row({
    section,
    input,
    scenario,
    bytes,
    runs: ms.length,
    seconds: med,
    allSeconds: ms.map((m) => m.seconds),
    ...cpuOf(ms),
    mbPerSec: bytes === null ? null : bytes / 1e6 / med,
    peakRssMiB: rss.length === 0 ? null : Math.max(...rss) / 1024,
    check: bad === undefined ? 'ok' : `exit ${bad.code}`,
  })
}

function skippedRow(input: string, scenario: string, why: string): Row {
  return row({ section: 'throughput', input, scenario, check: `skipped (${why})` })
}

// ---------------------------------------------------------------------------------------------------------------
// Latency on a live pipe.

/** Milliseconds from writing a request's End line to vlogdump's first output for it, `runs` times (after one
 *  warm-up), in one process fed through a pipe as `varnishlog | vlogdump` is. */
async function pipeLatency(runs: number): Promise<number[]> {
  const group = readFileSync(join(REPO, 'fixtures/cases/hit.log'), 'latin1').replace(/\n+$/, '').split('\n')
  const head = group.slice(0, -1).join('\n') + '\n'
  const end = group[group.length - 1] + '\n\n'
  const child = spawn(CLI, [], { stdio: ['pipe', 'pipe', 'ignore'] })
  let arrived: ((t: number) => void) | null = null
  child.stdout!.on('data', () => {
    const t = performance.now()
    const a = arrived
    arrived = null
    a?.(t)
  })
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
  const out: number[] = []
  for (let i = 0; i <= runs; i++) {
    child.stdin!.write(head)
    await sleep(50)
    const got = new Promise<number>((resolve) => (arrived = resolve))
    const sent = performance.now()
    child.stdin!.write(end)
    const t = await Promise.race([got, sleep(5000).then(() => NaN)])
    if (i > 0) out.push(t - sent) // the first run warms up (start-up, compilation)
  }
  child.stdin!.end()
  await new Promise((r) => child.on('close', r))
  return out
}

// ---------------------------------------------------------------------------------------------------------------
// Binary VSL: vlogdump reading a varnishlog -w file natively, side by side with varnishlog on the same file.

const HAVE_VARNISHLOG = spawnSync('varnishlog', ['-V'], { stdio: 'ignore' }).status === 0

/** What runs on the binary input: vlogdump scenarios, each with the varnishlog -q that selects the same records
 *  (null: varnishlog has no counterpart). */
const BINARY: { name: string; args: string[]; varnishlog: string | null }[] = [
  { name: 'misses-slow', args: ['--misses', '--slow', '200'], varnishlog: 'VCL_call eq "MISS" and Timestamp:Resp[2] > 0.2' },
  { name: 'query', args: ['-q', 'VCL_call eq "MISS" and Timestamp:Resp[2] > 0.2'], varnishlog: 'VCL_call eq "MISS" and Timestamp:Resp[2] > 0.2' },
  { name: 'json', args: ['--json'], varnishlog: null },
  { name: 'json -j1', args: ['--json', '--threads', '1'], varnishlog: null },
]

/** Rows of the binary section, and the ratios varnishlog time / vlogdump time. */
async function binaryRows(cfg: Config, log: (s: string) => void): Promise<{ rows: Row[]; ratios: Record<string, number | null> }> {
  const rows: Row[] = []
  const ratios: Record<string, number | null> = {}
  const fixture = 'fixtures/varnish-7.1/small.vsl'
  const perRepRecords = (await probe([], fixture)).records
  const { path, meta } = ensureVslInput(cfg.size, perRepRecords ?? 0, log)
  const input = `vsl-${cfg.size}`
  for (const b of BINARY) {
    const p = await probe(b.args, fixture)
    const vlCommand = b.varnishlog !== null && HAVE_VARNISHLOG ? ['varnishlog', '-r', path, '-q', b.varnishlog] : null
    log(`${input} × ${vlCommand === null ? '' : `varnishlog -r -q and, interleaved, `}${b.name} …`)
    // Run by run in turn, so that both see the same phases of a shared machine (this VM's CPU time for the same
    // work moves by a third from one minute to the next).
    const vlRuns: Measure[] = []
    const runs: Measure[] = []
    for (let i = 0; i < cfg.runs; i++) {
      if (vlCommand !== null) vlRuns.push(...(await repeat(vlCommand, 1, path)))
      runs.push(...(await repeat(vlogdumpCommand(b.args, path), 1, path)))
    }
    const vl = vlCommand === null ? null : commandRow('binary', input, `varnishlog -r -q (${b.name})`, vlRuns, meta.bytes)
    if (vl !== null) rows.push(vl)
    const r = rowOfRuns('binary', input, b.name, runs, path, meta, p.shown, 'all')
    rows.push(r)
    log(`${vl === null ? '' : ` ${vl.seconds!.toFixed(2)} s,`} ${r.seconds?.toFixed(2)} s, ${r.check}\n`)
    if (vl !== null) {
      const ratio = vl.seconds !== null && r.seconds !== null ? vl.seconds / r.seconds : null
      ratios[b.name] = ratio
      r.note = `varnishlog / vlogdump = ${ratio === null ? '-' : ratio.toFixed(2)}`
    }
  }
  return { rows, ratios }
}

// ---------------------------------------------------------------------------------------------------------------
// The table.

function fmt(x: number | null, digits: number): string {
  if (x === null) return '-'
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function table(rows: Row[]): string {
  const head = ['section', 'input', 'scenario', 'MB', 'runs', 'median s', 'MB/s', 'cpu s', 'steal %', 'records', 'records/s', 'shown', 'incomplete', 'peak RSS MiB', 'check']
  const right = [false, false, false, true, true, true, true, true, true, true, true, true, true, true, false]
  const cells = rows.map((r) => [
    r.section,
    r.input,
    r.scenario,
    r.bytes === null ? '-' : fmt(r.bytes / 1e6, 0),
    String(r.runs),
    r.seconds === null ? '-' : r.seconds < 0.01 ? fmt(r.seconds * 1000, 1) + ' ms' : r.seconds < 1 ? fmt(r.seconds * 1000, 0) + ' ms' : fmt(r.seconds, 2),
    fmt(r.mbPerSec, 0),
    fmt(r.cpuSeconds ?? null, 2),
    fmt(r.stealPct ?? null, 0),
    fmt(r.records, 0),
    fmt(r.recordsPerSec, 0),
    fmt(r.shown, 0),
    r.incomplete === null ? '-' : r.incomplete === 0 ? '0' : `${fmt(r.incomplete, 0)} (${r.incompleteReasons})`,
    fmt(r.peakRssMiB, 0),
    r.check + (r.note !== undefined ? ` (${r.note})` : ''),
  ])
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c: string[]): string =>
    c
      .map((s, i) => (i === c.length - 1 ? s : right[i] ? s.padStart(width[i]) : s.padEnd(width[i])))
      .join('  ')
      .trimEnd()
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n'
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const cfg = parseConfig(process.argv.slice(2))
  const log = (s: string): void => void process.stderr.write(s)
  if (!existsSync(CLI)) usage(`${CLI} is missing: run npm run build first`)
  const started = new Date()
  const t0 = process.hrtime.bigint()
  log(`bench: size ${cfg.size}, ${cfg.runs} run(s)${cfg.quick ? ', quick' : ''}; peak RSS from ${HAVE_GNU_TIME ? 'GNU time %M' : '/proc VmHWM polling'}\n`)

  // Inputs.
  const inputs = new Map<string, { path: string; meta: GenMeta }>()
  const generation: { file: string; seconds: number; bytes: number }[] = []
  const want = (input: string, size: string): { path: string; meta: GenMeta } => {
    const key = `${input}@${size}`
    let r = inputs.get(key)
    if (r === undefined) {
      const g = ensureInput(input, size, log)
      if (g.generated) generation.push({ file: g.path, seconds: g.seconds, bytes: g.meta.bytes })
      r = { path: g.path, meta: g.meta }
      inputs.set(key, r)
    }
    return r
  }
  const matrix = cfg.binaryOnly ? [] : MATRIX_INPUTS
  for (const name of matrix) want(name, cfg.size)

  // A 10-line input, for probing options and timing start-up.
  const tiny = join(DATA_DIR, 'tiny-10.log')
  const fixture = readFileSync(join(REPO, INPUTS.vxid.fixture), 'latin1')
  writeFileSync(tiny, fixture.split('\n').slice(0, 10).join('\n') + '\n', 'latin1')

  const rows: Row[] = []

  // Throughput: every input × (baselines, scenarios). The baselines go first and warm the page cache.
  for (const name of matrix) {
    const { path, meta } = want(name, cfg.size)
    for (const b of BASELINES) {
      log(`${name} × ${b.name} …`)
      const r = commandRow('baseline', `${name}-${cfg.size}`, b.name, await repeat(b.cmd(path), cfg.runs, path), meta.bytes)
      rows.push(r)
      const med = r.seconds!
      log(` ${med.toFixed(2)} s\n`)
    }
    for (const sc of SCENARIOS) {
      if (sc.inputs !== undefined && !sc.inputs.includes(name)) continue
      const p = await probe(sc.args, INPUTS[name].fixture)
      if (!p.ok) {
        rows.push(skippedRow(`${name}-${cfg.size}`, sc.name, p.why))
        continue
      }
      // Unfinished inputs drop different transactions in each repetition: no per-repetition count to compare.
      const perRep = meta.expect.incomplete === 0 ? p.shown : null
      log(`${name} × ${sc.name} …`)
      const row = await vlogdumpRow('throughput', `${name}-${cfg.size}`, sc.name, sc.args, path, meta, perRep, cfg.runs, 'all')
      rows.push(row)
      log(` ${row.seconds?.toFixed(2)} s, ${row.check}\n`)
    }
  }

  // Binary VSL, with varnishlog beside it.
  const binary = await binaryRows(cfg, log)
  rows.push(...binary.rows)

  // Memory.
  const memory: Record<string, unknown> = {}
  for (const mc of cfg.binaryOnly ? [] : MEMORY_CHECKS) {
    if (mc.sizeFactor !== 1 && cfg.quick) continue
    const size = mc.sizeFactor === 1 ? cfg.size : scaleSize(cfg.size, mc.sizeFactor)
    const { path, meta } = want(mc.input, size)
    // Larger inputs run once: only their peak RSS is the point.
    const runs = mc.sizeFactor === 1 ? cfg.runs : 1
    log(`memory: ${mc.input}-${size} × ${mc.label} …`)
    const perRep = meta.expect.incomplete === 0 ? (await probe(mc.args, INPUTS[mc.input].fixture)).shown : null
    const row = await vlogdumpRow('memory', `${mc.input}-${size}`, mc.label, mc.args, path, meta, perRep, runs, mc.args.length === 0 ? 'all' : 'records')
    rows.push(row)
    log(` ${row.seconds?.toFixed(2)} s, ${row.peakRssMiB?.toFixed(0)} MiB, ${row.check}\n`)
  }
  const rssOf = (input: string, scenario: string): number | null =>
    rows.find((r) => r.input === input && r.scenario === scenario && r.peakRssMiB !== null)?.peakRssMiB ?? null
  const small = rssOf(`vxid-${cfg.size}`, 'compact')
  const big = cfg.quick ? null : rssOf(`vxid-${scaleSize(cfg.size, 4)}`, 'compact')
  memory.vxidPeakRssRatio4x = small !== null && big !== null ? big / small : null
  memory.rawUnfinishedL1000MiB = rssOf(`raw-unfinished-${cfg.size}`, '-L 1000')
  memory.rawUnfinishedL10000MiB = rssOf(`raw-unfinished-${cfg.size}`, '-L 10000')

  // Start-up.
  const startup = async (scenario: string, cmd: string[]): Promise<void> => {
    log(`startup: ${scenario} …`)
    const r = commandRow(scenario.startsWith('node ') ? 'baseline' : 'startup', scenario === 'compact' ? 'tiny-10' : '-', scenario, await repeat(cmd, 10, null), null, [0, 1])
    rows.push(r)
    const med = r.seconds!
    log(` ${(med * 1000).toFixed(0)} ms\n`)
  }
  await startup('node -e 0', ['node', '-e', '0']) // what Node itself costs, for reference
  await startup('--version', [CLI, '--version'])
  await startup('compact', [CLI, tiny])

  // Latency on a live pipe: a request's lines up to its End, a pause, then End; the time from writing End to
  // the record arriving on vlogdump's stdout.
  log('latency: End → record on a pipe …')
  const lat = await pipeLatency(20)
  rows.push(
    row({
      section: 'startup',
      input: 'pipe',
      scenario: 'latency End → record (median, max)',
      runs: lat.length,
      seconds: median(lat) / 1000,
      allSeconds: lat.map((x) => x / 1000),
      check: lat.every((x) => Number.isFinite(x)) ? 'ok' : 'no output within 5 s',
      note: `max ${Math.max(...lat).toFixed(1)} ms`,
    }),
  )
  log(` median ${median(lat).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms\n`)

  // Report.
  let out = table(rows)
  const ratio = memory.vxidPeakRssRatio4x as number | null
  out += `\nmemory: peak RSS vxid ${scaleSize(cfg.size, 4)} / ${cfg.size} = ${ratio === null ? '- (skipped)' : ratio.toFixed(2)}`
  out += `\nbinary: varnishlog / vlogdump = ${Object.entries(binary.ratios).map(([k, v]) => `${v === null ? '-' : v.toFixed(2)} (${k})`).join(', ') || '- (varnishlog not installed)'}`
  out += `; raw-unfinished -L 1000: ${fmt(memory.rawUnfinishedL1000MiB as number | null, 0)} MiB, -L 10000: ${fmt(memory.rawUnfinishedL10000MiB as number | null, 0)} MiB\n`
  for (const [key, { meta }] of inputs) {
    out += `input ${key.replace('@', '-')}: ${meta.repetitions} × ${meta.fixture.split('/').pop()}, ${fmt(meta.lines, 0)} lines, expect ${fmt(meta.expect.records, 0)} records, ${fmt(meta.expect.incomplete, 0)} incomplete\n`
  }
  const totalSeconds = Number(process.hrtime.bigint() - t0) / 1e9
  out += `bench took ${(totalSeconds / 60).toFixed(1)} min (MB = 10^6 bytes; sizes like 1G are 2^30)\n`
  process.stdout.write(out)

  const result = {
    date: started.toISOString(),
    config: cfg,
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30, node: process.version, rss: HAVE_GNU_TIME ? 'GNU time %M' : '/proc VmHWM' },
    commit: spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout.trim(),
    dirty: spawnSync('git', ['status', '--porcelain', 'src'], { cwd: REPO, encoding: 'utf8' }).stdout.trim() !== '',
    inputs: Object.fromEntries([...inputs].map(([k, v]) => [k.replace('@', '-'), v.meta])),
    generation,
    rows,
    memory,
    binaryRatios: binary.ratios,
    totalSeconds,
  }
  mkdirSync(RESULTS_DIR, { recursive: true })
  const json = JSON.stringify(result, null, 2) + '\n'
  const stamp = started.toISOString().replace(/:/g, '-').replace(/\..*/, '')
  writeFileSync(join(RESULTS_DIR, `${stamp}${cfg.quick ? '-quick' : ''}${cfg.binaryOnly ? '-binary' : ''}.json`), json)
  if (!cfg.binaryOnly) writeFileSync(join(RESULTS_DIR, 'latest.json'), json)

  if (cfg.clean) rmSync(DATA_DIR, { recursive: true, force: true })
  if (rows.some((r) => r.check !== 'ok' && !r.check.startsWith('skipped'))) process.exitCode = 1
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`)
  process.exitCode = 2
})
