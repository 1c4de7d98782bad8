// Owns `npm run bench:clickhouse`: how fast records go into a local ClickHouse server, and what --clickhouse costs
// vlogdump per record against --json to /dev/null. It generates a capture (gen.ts, the 7.1 capture repeated), starts
// the installed clickhouse-server on free loopback ports (test/clickhouse-server.ts), creates the table with
// --ch-create, then runs the bin as a user would, alternating: `--json FILE > /dev/null` and `--clickhouse URL FILE`
// (which exits once everything is delivered). Every insert run is counted back with SQL. Prints a table and writes
// bench/results/<time>-clickhouse.json.
//
//   npm run bench:clickhouse -- [--size 50M] [--runs 3]

import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { clickhouseCommand, startClickHouse, type ClickHouseServer } from '../test/clickhouse-server.js'
import { ensureInput, parseSize, REPO } from './gen.js'

const CLI = join(REPO, 'dist', 'vlogdump.cjs')
const GNU_TIME = '/usr/bin/time'

interface Measure {
  seconds: number
  /** CPU seconds, user + system, of vlogdump and its threads. */
  cpu: number
  rssKiB: number
}

function parseArgs(argv: string[]): { size: string; runs: number } {
  const c = { size: '50M', runs: 3 }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--size') {
      c.size = (argv[++i] ?? '').toUpperCase()
      parseSize(c.size)
    } else if (argv[i] === '--runs') c.runs = Number(argv[++i])
    else {
      process.stderr.write(`bench:clickhouse: unknown option ${argv[i]}\nusage: npm run bench:clickhouse -- [--size 50M] [--runs 3]\n`)
      process.exit(2)
    }
  }
  if (!Number.isInteger(c.runs) || c.runs < 1) throw new Error('--runs: expected a whole number of at least 1')
  return c
}

/** Runs the bin under GNU time, stdout to /dev/null; wall, CPU and peak RSS as the kernel counted them. */
function measure(args: string[]): Measure {
  const out = join(tmpdir(), `vlogdump-bench-time-${process.pid}`)
  const r = spawnSync(GNU_TIME, ['-f', '%e %U %S %M', '-o', out, process.execPath, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`vlogdump ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const [e, u, s, m] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
  rmSync(out, { force: true })
  return { seconds: e, cpu: u + s, rssKiB: m }
}

/** CPU seconds the server has used so far (/proc/PID/stat utime + stime). */
function serverCpu(ch: ClickHouseServer): number {
  const f = readFileSync(`/proc/${ch.pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2))
  const command = clickhouseCommand()
  if (command === null) throw new Error('clickhouse-server is not installed (Debian: apt-get install clickhouse-server)')
  const input = ensureInput('vxid', cfg.size, (s) => process.stderr.write(s))
  const records = input.meta.expect.records
  const ch = await startClickHouse(command)
  try {
    const ddl = spawnSync(process.execPath, [CLI, '--clickhouse', ch.url, '--ch-create', '--ch-table', 'bench'], { encoding: 'utf8' })
    if (ddl.status !== 0) throw new Error(`--ch-create: ${ddl.stderr}`)
    await ch.query(ddl.stdout.split('\n').filter((l) => !l.startsWith('--')).join('\n'))
    const json: Measure[] = []
    const insert: (Measure & { serverCpu: number })[] = []
    for (let i = 0; i < cfg.runs; i++) {
      process.stderr.write(`run ${i + 1}/${cfg.runs} …\n`)
      json.push(measure(['--json', input.path]))
      await ch.query('TRUNCATE TABLE bench')
      const before = serverCpu(ch)
      const m = measure(['--clickhouse', ch.url, '--ch-table', 'bench', input.path])
      insert.push({ ...m, serverCpu: serverCpu(ch) - before })
      const n = Number((await ch.query('SELECT count() FROM bench')).trim())
      if (n !== records) throw new Error(`the table holds ${n} records, the input has ${records}`)
    }
    const us = (cpu: number): number => (cpu / records) * 1e6
    const jsonCpu = median(json.map((m) => m.cpu))
    const chCpu = median(insert.map((m) => m.cpu))
    const chWall = median(insert.map((m) => m.seconds))
    const result = {
      date: new Date().toISOString(),
      commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout.trim(),
      server: ch.version,
      cpus: cpus().length,
      input: { file: input.path, bytes: input.meta.bytes, records },
      runs: cfg.runs,
      json: { seconds: median(json.map((m) => m.seconds)), cpuSeconds: jsonCpu, cpuUsPerRecord: us(jsonCpu), rssMiB: median(json.map((m) => m.rssKiB)) / 1024 },
      clickhouse: {
        seconds: chWall,
        recordsPerSecond: records / chWall,
        cpuSeconds: chCpu,
        cpuUsPerRecord: us(chCpu),
        rssMiB: median(insert.map((m) => m.rssKiB)) / 1024,
        serverCpuSeconds: median(insert.map((m) => m.serverCpu)),
        serverCpuUsPerRecord: us(median(insert.map((m) => m.serverCpu))),
      },
      all: { json, insert },
    }
    const row = (name: string, s: number, cpu: number, extra: string): string =>
      `${name.padEnd(34)} ${s.toFixed(2).padStart(7)} s ${cpu.toFixed(2).padStart(7)} s CPU ${us(cpu).toFixed(1).padStart(7)} µs/record  ${extra}`
    process.stdout.write(
      [
        `${records} records, ${(input.meta.bytes / 1e6).toFixed(0)} MB (${input.path}), ClickHouse ${ch.version}, median of ${cfg.runs}`,
        row('vlogdump --json > /dev/null', result.json.seconds, jsonCpu, `${(records / result.json.seconds).toFixed(0)} records/s`),
        row('vlogdump --clickhouse (all inserted)', chWall, chCpu, `${result.clickhouse.recordsPerSecond.toFixed(0)} records/s inserted`),
        `--clickhouse / --json CPU per record: ${(chCpu / jsonCpu).toFixed(2)}; the server meanwhile: ${result.clickhouse.serverCpuSeconds.toFixed(2)} s CPU (${result.clickhouse.serverCpuUsPerRecord.toFixed(1)} µs/record)`,
        '',
      ].join('\n'),
    )
    const dir = join(REPO, 'bench', 'results')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `${result.date.replace(/:/g, '-').slice(0, 19)}-clickhouse.json`)
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n')
    process.stderr.write(`written to ${file}\n`)
  } finally {
    await ch.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:clickhouse: ${(err as Error).stack ?? String(err)}\n`)
  process.exitCode = 1
})
