// Live test against a real varnishd 7.1 (scripts/capture/lab.mjs): seeded traffic, then `varnishlog -d` piped into
// the built CLI (default and raw grouping) must agree with `varnishncsa -d` on every client request. Also checks that
// a record reaches stdout promptly once its End line arrives on a pipe (no buffering until EOF or a full chunk).
// The varnishd part skips only when varnishd is not on PATH; CI (.ci/run) installs it.

import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { onPath, repoPath } from './support.js'
import type { ClientRecord } from '../src/vsl/types.js'

const CLI = repoPath('dist/vlogdump.cjs')
const SUITE_TIMEOUT = 60_000

interface Lab {
  port: number
  proxyPort: number
  originPort: number
  instance: string
  stop(): Promise<void>
  readonly output: string
}
interface LabModule {
  startLab(opts?: { vcl?: string; extraParams?: string[] }): Promise<Lab>
  runTraffic(opts: {
    port: number
    proxyPort: number
    seed?: number
    count?: number
    concurrency?: number
    timeLimitMs?: number
  }): Promise<{ requests: number; responses: number; errors: string[]; elapsedMs: number }>
}

const HAVE_VARNISHD = onPath('varnishd')
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Every child this file spawns, so that a failing test leaves none behind. */
const children = new Set<ChildProcess>()

function track<T extends ChildProcess>(child: T): T {
  children.add(child)
  child.once('exit', () => children.delete(child))
  child.once('error', () => children.delete(child))
  return child
}

function killChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  }
  children.clear()
}

interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

function exited(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode })
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

function collect(stream: NodeJS.ReadableStream | null): () => string {
  const chunks: Buffer[] = []
  stream?.on('data', (c: Buffer) => chunks.push(c))
  return () => Buffer.concat(chunks).toString('utf8')
}

/** Runs a command to completion, capturing stdout and stderr. */
async function runCmd(cmd: string, args: string[]): Promise<Exit & { stdout: string; stderr: string }> {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
  const out = collect(child.stdout)
  const err = collect(child.stderr)
  const ex = await exited(child)
  return { ...ex, stdout: out(), stderr: err() }
}

/**
 * `varnishlog <args> | node dist/vlogdump.cjs --json` over a real pipe: vlogdump is spawned with a stdin pipe and
 * varnishlog gets the write end of that pipe as its stdout. This process never writes to it; it only drops its own
 * copy of the write end once varnishlog has exited, so that vlogdump sees EOF.
 */
async function pipeThroughVlogdump(varnishlogArgs: string[]): Promise<{
  varnishlog: Exit & { stderr: string }
  vlogdump: Exit & { stderr: string }
  records: ClientRecord[]
}> {
  const vd = track(spawn(process.execPath, [CLI, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] }))
  const vdOut = collect(vd.stdout)
  const vdErr = collect(vd.stderr)
  const vdExit = exited(vd)
  const vl = track(spawn('varnishlog', varnishlogArgs, { stdio: ['ignore', vd.stdin!, 'pipe'] }))
  const vlErr = collect(vl.stderr)
  const vlExit = await exited(vl)
  vd.stdin!.destroy()
  const vdEx = await vdExit
  const text = vdOut()
  const records = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ClientRecord)
  return { varnishlog: { ...vlExit, stderr: vlErr() }, vlogdump: { ...vdEx, stderr: vdErr() }, records }
}

/** 7.1 predates the hitmiss and hitpass labels: varnishncsa prints them as miss and pass. */
function ncsaHandling(h: string | null): string {
  if (h === null) return '-'
  if (h === 'hitmiss') return 'miss'
  if (h === 'hitpass') return 'pass'
  return h
}

interface NcsaLine {
  vxid: string
  handling: string
  status: string
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

describe('live varnishd', { timeout: SUITE_TIMEOUT }, () => {
  let lab: Lab | null = null
  let ncsa: NcsaLine[] = []
  let traffic = ''

  before(
    async () => {
      if (!HAVE_VARNISHD) return
      const mod = (await import(pathToFileURL(repoPath('scripts/capture/lab.mjs')).href)) as LabModule
      lab = await mod.startLab()
      const stats = await mod.runTraffic({
        port: lab.port,
        proxyPort: lab.proxyPort,
        seed: 7,
        count: 60,
        concurrency: 4,
        timeLimitMs: 20_000,
      })
      traffic = `${stats.requests} requests, ${stats.responses} responses in ${stats.elapsedMs} ms`
      // Let the last transactions (session ends, background fetches) reach the log.
      await sleep(1500)
      const r = await runCmd('varnishncsa', ['-n', lab.instance, '-d', '-F', '%{Varnish:vxid}x %{Varnish:handling}x %s'])
      assert.equal(r.code, 0, `varnishncsa failed: ${r.stderr}`)
      ncsa = r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const [vxid = '', handling = '', status = ''] = l.split(' ')
          return { vxid, handling, status }
        })
    },
    { timeout: 45_000 },
  )

  after(async () => {
    killChildren()
    if (lab !== null) await lab.stop()
    lab = null
  })

  for (const grouping of ['vxid', 'raw'] as const) {
    it(`varnishlog -d ${grouping === 'vxid' ? '(default grouping)' : '-g raw'} | vlogdump --json agrees with varnishncsa`, { timeout: 30_000 }, async (t) => {
      if (!HAVE_VARNISHD) {
        t.skip('varnishd not installed')
        return
      }
      assert.ok(lab !== null)
      const args = ['-n', lab.instance, '-d', ...(grouping === 'raw' ? ['-g', 'raw'] : [])]
      const { varnishlog, vlogdump, records } = await pipeThroughVlogdump(args)
      assert.equal(varnishlog.code, 0, `varnishlog exited ${JSON.stringify(varnishlog)}`)
      assert.deepEqual({ code: vlogdump.code, signal: vlogdump.signal, stderr: vlogdump.stderr }, { code: 0, signal: null, stderr: '' })

      assert.ok(ncsa.length >= 40, `varnishncsa saw only ${ncsa.length} requests (${traffic})`)
      const clients = records.filter((r) => r.side === 'client')
      assert.equal(clients.length, ncsa.length, `client records vs varnishncsa lines (${traffic})`)
      assert.deepEqual(
        records.filter((r) => r.incomplete !== null).map((r) => `${r.side} ${r.vxid} ${r.incomplete}`),
        [],
        'no record is incomplete',
      )

      const byVxid = new Map(clients.map((r) => [String(r.vxid), r]))
      assert.equal(byVxid.size, clients.length, 'one client record per vxid')
      const diffs: string[] = []
      for (const row of ncsa) {
        const rec = byVxid.get(row.vxid)
        if (rec === undefined) {
          diffs.push(`${row.vxid}: no record`)
          continue
        }
        const handling = ncsaHandling(rec.handling)
        if (handling !== row.handling) diffs.push(`${row.vxid} handling: ours ${rec.handling} ncsa ${row.handling}`)
        const status = rec.response.status === null ? '-' : String(rec.response.status)
        if (status !== row.status) diffs.push(`${row.vxid} status: ours ${status} ncsa ${row.status}`)
      }
      assert.deepEqual(diffs, [])
      t.diagnostic(`${traffic}; ${clients.length} client records = ${ncsa.length} varnishncsa lines`)
    })
  }

  it('vlogdump -n <instance> -d starts varnishlog itself and sees the traffic sent', { timeout: 30_000 }, async (t) => {
    if (!HAVE_VARNISHD) {
      t.skip('varnishd not installed')
      return
    }
    assert.ok(lab !== null)
    const r = await runCmd(process.execPath, [CLI, '-n', lab.instance, '-d', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const clients = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { side: string; vxid: number; handling: string | null })
      .filter((x) => x.side === 'client')
    assert.deepEqual(clients.map((x) => String(x.vxid)).sort(), ncsa.map((x) => x.vxid).sort())
    const want = new Map(ncsa.map((x) => [x.vxid, x.handling]))
    assert.deepEqual(clients.filter((x) => ncsaHandling(x.handling) !== want.get(String(x.vxid))), [])
  })

  it('vlogdump -n with -k ends varnishlog too (live, without -d)', { timeout: 30_000 }, async (t) => {
    if (!HAVE_VARNISHD) {
      t.skip('varnishd not installed')
      return
    }
    assert.ok(lab !== null)
    // Live mode (no -d) waits for new traffic: send one request, take one record, and both processes end.
    const child = track(spawn(process.execPath, [CLI, '-n', lab.instance, '-k', '1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] }))
    const out = collect(child.stdout)
    await sleep(700)
    await fetch(`http://127.0.0.1:${lab.port}/static/live-k`).then((res) => res.text())
    const end = await exited(child)
    assert.equal(end.code, 0)
    assert.equal(out().trim().split('\n').length, 1)
    assert.equal((await runCmd('pgrep', ['-f', `varnishlog -n ${lab.instance}$`])).stdout.trim(), '', 'varnishlog was ended')
  })

  it('prints a record as soon as its End line arrives on a pipe', { timeout: 20_000 }, async (t) => {
    // Self-contained request groups from the fixture: `Begin req N rxreq` and no Link, so End alone completes them.
    const text = readFileSync(repoPath('fixtures/lab/lab.vxid.log'), 'latin1')
    const groups = text
      .split(/\n\n+/)
      .map((g) => g.split('\n').filter((l) => l !== ''))
      .filter(
        (ls) =>
          /^\*\s+<< Request\s+>>/.test(ls[0] ?? '') &&
          ls.some((l) => /^-+\s+Begin\s+req \d+ rxreq\b/.test(l)) &&
          !ls.some((l) => /^-+\s+Link\s/.test(l)) &&
          /^-+\s+End\b/.test(ls[ls.length - 1] ?? ''),
      )
    assert.ok(groups.length >= 6, `only ${groups.length} self-contained request groups in the fixture`)

    const vd = track(spawn(process.execPath, [CLI], { stdio: ['pipe', 'pipe', 'pipe'] }))
    const vdExit = exited(vd)
    const errText = collect(vd.stderr)
    let out = ''
    let waiter: ((at: number) => void) | null = null
    vd.stdout!.on('data', (c: Buffer) => {
      const at = performance.now()
      out += c.toString('utf8')
      const w = waiter
      waiter = null
      w?.(at)
    })
    const write = (s: string): Promise<void> =>
      new Promise((resolve, reject) => vd.stdin!.write(s, 'latin1', (err) => (err ? reject(err) : resolve())))

    /** Writes a group without its End, lets vlogdump take that in, then times End → first stdout data. */
    const timeOne = async (lines: string[]): Promise<number> => {
      const before = out.length
      await write(lines.slice(0, -1).join('\n') + '\n')
      await sleep(150)
      assert.equal(out.length, before, 'nothing printed before End')
      const got = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no output within 5 s of End (stderr: ${errText()})`)), 5000)
        waiter = (at) => {
          clearTimeout(timer)
          resolve(at)
        }
      })
      const sent = performance.now()
      vd.stdin!.write(lines[lines.length - 1] + '\n\n', 'latin1')
      const at = await got
      return at - sent
    }

    try {
      // Warm-up (process start, module loading, first compilation): not counted.
      await timeOne(groups[0]!)
      const times: number[] = []
      for (const g of groups.slice(1, 6)) times.push(await timeOne(g))
      const med = median(times)
      t.diagnostic(`End → stdout latency (ms): ${times.map((x) => x.toFixed(2)).join(', ')}; median ${med.toFixed(2)}`)
      assert.ok(med < 100, `median End → stdout latency ${med.toFixed(1)} ms (${times.map((x) => x.toFixed(1)).join(', ')})`)
      vd.stdin!.end()
      const ex = await vdExit
      assert.deepEqual({ code: ex.code, signal: ex.signal, stderr: errText() }, { code: 0, signal: null, stderr: '' })
      // Six records, two lines each in the compact layout.
      assert.equal(out.split('\n').filter((l) => l !== '').length, 12, out)
    } finally {
      if (vd.exitCode === null && vd.signalCode === null) vd.kill('SIGKILL')
    }
  })
})

describe('-r and a missing varnishlog', () => {
  it('-r FILE --via-varnishlog reads a binary capture through varnishlog: the same records as its text', { timeout: 30_000 }, async (t) => {
    if (!onPath('varnishlog')) {
      t.skip('varnishlog not installed')
      return
    }
    const viaR = await runCmd(process.execPath, [CLI, '--json', '--via-varnishlog', '-r', repoPath('fixtures/lab/lab.vsl')])
    const viaText = await runCmd(process.execPath, [CLI, '--json', repoPath('fixtures/lab/lab.vxid.log')])
    assert.equal(viaR.code, 0, viaR.stderr)
    assert.equal(viaR.stdout, viaText.stdout)
  })

  it('says what to install when varnishlog is not there', async () => {
    const r = spawnSync(process.execPath, [CLI, '-n', 'nothing'], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } })
    assert.equal(r.status, 2)
    assert.equal(
      r.stderr,
      "vlogdump: varnishlog not found: -n and --via-varnishlog need Varnish's tools (Debian/Ubuntu: apt-get install varnish), or pipe its output in: varnishlog | vlogdump\n",
    )
  })
})
