// --top in a real terminal: tmux (its own server socket, no config) runs vlogdump against a live varnishd 7.1
// (scripts/capture/lab.mjs) while traffic flows; the tests read the screen with capture-pane, send keys, resize the
// window, and check after every way out — q, Ctrl-C, SIGTERM, the input's end, a crash — that the terminal is
// given back: the main screen (with what was on it), the cursor, autowrap, and a cooked tty (stty -a in the pane).
// Skips only when varnishd or tmux is not installed; .ci/run installs both.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { onPath, repoPath } from './support.js'

const CLI = repoPath('dist/vlogdump.cjs')
const NODE = process.execPath
const SOCKET = `vlogdump-top-${process.pid}`

interface Lab {
  port: number
  instance: string
  stop(): Promise<void>
}

const MISSING = !onPath('varnishd') ? 'varnishd not installed' : !onPath('tmux') ? 'tmux not installed' : null
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** A shell in a detached tmux session of its own, `width` × `height`. */
class Pane {
  constructor(readonly name: string) {}

  static open(name: string, width = 100, height = 40): Pane {
    // A plain shell: no rc files, a short prompt; PATH as the test's (varnishlog, varnishd).
    tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), '-e', `PATH=${process.env.PATH}`, '-e', 'PS1=$ ', 'bash --norc --noprofile')
    return new Pane(name)
  }

  screen(): string {
    return tmux('capture-pane', '-p', '-t', this.name)
  }

  /** The screen with what scrolled off above it, lines that wrapped joined. */
  history(): string {
    return tmux('capture-pane', '-p', '-J', '-S', '-', '-t', this.name)
  }

  /** A tmux format of the pane: #{alternate_on}, #{cursor_flag}, #{wrap_flag}, #{pane_width}. */
  format(f: string): string {
    return tmux('display-message', '-p', '-t', this.name, f).trim()
  }

  /** Keys by their tmux names (q, C-c, Enter), or with `literal` the text as typed. */
  keys(keys: string[], literal = false): void {
    tmux('send-keys', '-t', this.name, ...(literal ? ['-l'] : []), ...keys)
  }

  run(command: string): void {
    this.keys([command], true)
    this.keys(['Enter'])
  }

  /** Polls the screen until `ok` holds (10 s at most), and returns it. */
  async until(ok: (screen: string) => boolean, what: string, ms = 10_000): Promise<string> {
    const end = Date.now() + ms
    let screen = ''
    for (;;) {
      screen = this.screen()
      if (ok(screen)) return screen
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`)
      await sleep(100)
    }
  }

  resize(width: number, height: number): void {
    tmux('resize-window', '-t', this.name, '-x', String(width), '-y', String(height))
  }

  close(): void {
    tmux('kill-session', '-t', this.name)
  }
}

/** After vlogdump ended: the main screen is back with its marker, cursor shown, autowrap on, and the tty cooked
 *  again (canonical mode, echo, signals). */
async function assertRestored(pane: Pane, marker: string): Promise<void> {
  assert.equal(pane.format('#{alternate_on}'), '0', 'left the alternate screen')
  assert.equal(pane.format('#{cursor_flag}'), '1', 'cursor shown')
  assert.equal(pane.format('#{wrap_flag}'), '1', 'autowrap on')
  // The marker printed is not the one typed (STTY-$((6*7)) → STTY-42), so the command line does not match it.
  pane.run('stty -a | tr " " "\\n" | grep -E "^-?(icanon|echo|isig)$" | tr "\\n" " "; echo STTY-$((6*7))')
  const screen = await pane.until((s) => s.includes('STTY-42'), 'stty -a')
  const line = screen.split('\n').find((l) => l.includes('STTY-42'))!
  assert.deepEqual(line.trim().split(/\s+/).filter((w) => /^-?(icanon|echo|isig)$/.test(w)).sort(), ['echo', 'icanon', 'isig'], `tty modes: ${line}`)
  assert.ok(pane.history().includes(marker), 'what was on the main screen is back')
}

/** Steady traffic against the lab (a few requests in flight) until stopped: hits, misses, a 5xx, a slow one. */
function startTraffic(port: number): () => Promise<void> {
  let running = true
  const agent = new http.Agent({ keepAlive: true, maxSockets: 3 })
  const paths = ['/static/1', '/static/2.css', '/static/3', '/api/public/items/1', '/search?q=top', '/status/500', '/status/404', '/slow?ms=30', '/private/1']
  let n = 0
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: paths[n++ % paths.length], agent }, (res) => {
        res.resume()
        res.on('end', () => resolve())
        res.on('error', () => resolve())
      })
      req.on('error', () => resolve())
    })
  const loops = [0, 1, 2].map(async () => {
    while (running) {
      await one()
      await sleep(15)
    }
  })
  return async () => {
    running = false
    await Promise.all(loops)
    agent.destroy()
  }
}

/** One request written as bytes (node's client refuses some of them); resolves when the server closed. */
function rawRequest(port: number, text: string): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.end(Buffer.from(text, 'utf8')))
    sock.on('data', () => {})
    sock.on('close', () => resolve())
    sock.on('error', () => resolve())
  })
}

describe('--top in tmux against a live varnishd', { timeout: 180_000 }, () => {
  let lab: Lab | null = null
  let stopTraffic: (() => Promise<void>) | null = null
  let sessions = 0
  const open = (width?: number, height?: number): Pane => Pane.open(`t${++sessions}`, width, height)

  before(async () => {
    if (MISSING !== null) return
    const mod = (await import(pathToFileURL(repoPath('scripts/capture/lab.mjs')).href)) as { startLab(): Promise<Lab> }
    lab = await mod.startLab()
    stopTraffic = startTraffic(lab.port)
  })

  after(async () => {
    if (MISSING !== null) return
    spawnSync('tmux', ['-L', SOCKET, '-f', '/dev/null', 'kill-server'])
    // tmux may leave its socket file behind.
    rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true })
    await stopTraffic?.()
    await lab?.stop()
  })

  it('vlogdump --top -n: the view, every key, resizing, then q gives the terminal back', async (t) => {
    if (MISSING !== null) return t.skip(MISSING)
    const pane = open(100, 40)
    pane.run('echo MAIN-SCREEN-1')
    await pane.until((s) => s.includes('MAIN-SCREEN-1\n'), 'the marker')
    pane.run(`${NODE} ${CLI} --top -n ${lab!.instance}; echo "exit=$?"`)
    let s = await pane.until((x) => x.includes('vlogdump --top') && /last 60s +\S+ +\S+ +[1-9]/.test(x) && x.includes('/static/'), 'the view with requests')
    assert.equal(pane.format('#{alternate_on}'), '1', 'on the alternate screen')
    assert.equal(pane.format('#{cursor_flag}'), '0', 'cursor hidden')
    assert.match(s, /wall clock/)
    assert.match(s, /^Backends, last 60s/m)
    assert.match(s, /^ +\d+ +\d+ +\d+ +\S+ +\S+ {2}origin$/m, 'the backend row')
    assert.match(s, /^Slowest requests, last 60s/m)
    assert.match(s, /^q quit {2}p pause {2}s sort \(count\) {2}\/ URL filter {2}h histogram {2}w since start/m)
    assert.equal(s.split('\n').filter((l) => l !== '').length <= 40, true)

    // s: the URL table's order.
    pane.keys(['s'])
    await pane.until((x) => x.includes('URLs, last 60s, by p99 of total time'), 'sorted by p99')
    pane.keys(['s'])
    s = await pane.until((x) => x.includes('URLs, last 60s, by 5xx'), 'sorted by 5xx')
    // The URL that gets 500s comes first.
    const firstUrl = s.split('\n')[s.split('\n').findIndex((l) => l.startsWith('URLs,')) + 2]
    assert.match(firstUrl, /\/status\/500$/)
    pane.keys(['s'])
    await pane.until((x) => x.includes('URLs, last 60s, by count'), 'sorted by count again')

    // w: the tables over the whole run; h: the histogram.
    pane.keys(['w'])
    await pane.until((x) => x.includes('URLs, since start, by count'), 'since start')
    pane.keys(['w', 'h'])
    // Waited for whole: a capture can catch the screen between its title and its axis being drawn.
    s = await pane.until((x) => x.includes('Histogram of total time, last 60s') && /^ *0 \+-+\+/m.test(x), 'the histogram and its axis')
    assert.doesNotMatch(s, /^URLs,/m)
    pane.keys(['h'])
    await pane.until((x) => /^URLs, last 60s/m.test(x), 'the tables again')

    // /: a URL filter typed on the fly; only its URLs are counted from then on.
    pane.keys(['/'])
    await pane.until((x) => x.includes('URL filter (regex, ! negates'), 'the prompt')
    pane.keys(['^/static/'], true)
    pane.keys(['Enter'])
    s = await pane.until((x) => /^URL filter \^\/static\/ {2}since \d\d:\d\d:\d\dZ/m.test(x) && /^ +\d+ .* {2}\/static\//m.test(x), 'the filtered view')
    assert.match(s, /^since filter/m)
    const urlRows = (screen: string): string[] => {
      const lines = screen.split('\n')
      const from = lines.findIndex((l) => l.startsWith('URLs,')) + 2
      const rows: string[] = []
      for (let i = from; i < lines.length && lines[i] !== ''; i++) rows.push(lines[i])
      return rows
    }
    for (const row of urlRows(s)) assert.match(row, /\/static\/|^ +-$/, `only /static/ URLs: ${row}`)
    // A bad regex is said, and the filter in force stays.
    pane.keys(['/', 'C-u'])
    pane.keys(['(bad'], true)
    pane.keys(['Enter'])
    await pane.until((x) => x.includes("URL filter: invalid regular expression '(bad'"), 'the regex error')
    // Client text reaches the screen escaped: a URL with a right-to-left override (Varnish logs it; it refuses
    // C0 controls in a URL with a 400 before logging one).
    pane.keys(['/', 'C-u'])
    pane.keys(['^/bidi/'], true)
    pane.keys(['Enter'])
    await pane.until((x) => x.includes('URL filter ^/bidi/'), 'the bidi filter')
    await rawRequest(lab!.port, 'GET /bidi/\u202eevil HTTP/1.1\r\nHost: top.test\r\nConnection: close\r\n\r\n')
    s = await pane.until((x) => x.includes('/bidi/\\u{202e}evil'), 'the escaped URL')
    assert.ok(!s.includes('\u202e'), 'no raw U+202E on the screen')
    pane.keys(['/', 'C-u', 'Enter'])
    await pane.until((x) => !/^URL filter /m.test(x) && /^since start/m.test(x), 'the filter cleared')

    // p: frozen while traffic goes on.
    pane.keys(['p'])
    const frozen = await pane.until((x) => x.includes('PAUSED') && x.includes('p resume'), 'paused')
    await sleep(2200)
    assert.equal(pane.screen(), frozen, 'the screen does not change while paused')
    pane.keys(['p'])
    await pane.until((x) => !x.includes('PAUSED') && x !== frozen, 'running again')

    // Resizing: narrow (fewer columns, only the window's percentiles), then wide again.
    pane.resize(60, 20)
    s = await pane.until((x) => /^q quit/.test(x.split('\n')[19] ?? '') && /^total ms +last 60s$/m.test(x), 'the narrow layout')
    assert.equal(pane.format('#{pane_width}'), '60')
    for (const line of s.split('\n')) assert.ok(line.length <= 60, `fits 60 columns: ${line}`)
    assert.doesNotMatch(s.split('\n').find((l) => l.startsWith('handling')) ?? '', /n +p50 +p90 +p99 +n/)
    pane.resize(120, 45)
    await pane.until((x) => /^handling +n +p50 +p90 +p99 +n +p50/m.test(x) && /^q quit/m.test(x.split('\n')[44] ?? ''), 'the wide layout')

    pane.keys(['q'])
    await pane.until((x) => x.includes('exit=0\n'), 'exit 0')
    await assertRestored(pane, 'MAIN-SCREEN-1')
    pane.close()
  })

  it('varnishlog | vlogdump --top, then Ctrl-C: exit 130, the terminal given back', async (t) => {
    if (MISSING !== null) return t.skip(MISSING)
    const pane = open()
    pane.run('echo MAIN-SCREEN-2')
    pane.run(`varnishlog -n ${lab!.instance} | ${NODE} ${CLI} --top; echo "exit=\${PIPESTATUS[1]}"`)
    const s = await pane.until((x) => x.includes('vlogdump --top') && /last 60s +\S+ +\S+ +[1-9]/.test(x), 'the view')
    // The log is stdin: keys come from /dev/tty, and time is the wall clock (a pipe is live).
    assert.match(s, /wall clock/)
    pane.keys(['C-c'])
    await pane.until((x) => x.includes('exit=130\n'), 'exit 130')
    assert.match(pane.history(), /vlogdump: \d+ lines, .*interrupted with \d+ transactions pending/)
    await assertRestored(pane, 'MAIN-SCREEN-2')
    pane.close()
  })

  it('SIGTERM: exit 130, the terminal given back', async (t) => {
    if (MISSING !== null) return t.skip(MISSING)
    const pane = open()
    pane.run('echo MAIN-SCREEN-3')
    pane.run(`${NODE} ${CLI} --top --window 61 -n ${lab!.instance}; echo "exit=$?"`)
    await pane.until((x) => x.includes('window 61s'), 'the view')
    const pid = spawnSync('pgrep', ['-f', `vlogdump.cjs --top --window 61 -n ${lab!.instance}`], { encoding: 'utf8' }).stdout.trim().split('\n')[0]
    assert.match(pid, /^\d+$/)
    process.kill(Number(pid), 'SIGTERM')
    await pane.until((x) => x.includes('exit=130\n'), 'exit 130')
    await assertRestored(pane, 'MAIN-SCREEN-3')
    pane.close()
  })

  it('the input ends (-n -d): the terminal given back, the last figures printed on the main screen, exit 0', async (t) => {
    if (MISSING !== null) return t.skip(MISSING)
    const pane = open()
    pane.run('echo MAIN-SCREEN-4')
    pane.run(`${NODE} ${CLI} --top -n ${lab!.instance} -d; echo "exit=$?"`)
    await pane.until((x) => x.includes('exit=0\n'), 'exit 0')
    const s = pane.history()
    // -d replays what the log holds: log time.
    assert.match(s, /vlogdump --top {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}window 60s {2}log time/)
    assert.match(s, /^Slowest requests, last 60s/m)
    await assertRestored(pane, 'MAIN-SCREEN-4')
    pane.close()
  })

  it('a crash (an error thrown in a refresh): exit 2, the error said after the terminal is given back', async (t) => {
    if (MISSING !== null) return t.skip(MISSING)
    const pane = open()
    pane.run('echo MAIN-SCREEN-5')
    pane.run(`VLOGDUMP_TOP_CRASH_TEST=1 ${NODE} ${CLI} --top --interval 0.5 -n ${lab!.instance}; echo "exit=$?"`)
    const s = await pane.until((x) => x.includes('exit=2\n'), 'exit 2')
    assert.match(s, /vlogdump: internal error: Error: --top crash test/)
    await assertRestored(pane, 'MAIN-SCREEN-5')
    // varnishlog, started by vlogdump, is ended with it (told at exit; it takes a moment).
    const end = Date.now() + 5000
    while (spawnSync('pgrep', ['-f', `^varnishlog -n ${lab!.instance}$`]).status !== 1) {
      assert.ok(Date.now() < end, 'varnishlog still runs')
      await sleep(100)
    }
    pane.close()
  })
})
