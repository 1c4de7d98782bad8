// --top's screen renderer, pure: client text with terminal controls never reaches the screen raw, every line fits
// every width and the screen every height (wide characters counted as two columns), the narrow layout, the
// histogram, the prompt; then the process edge, spawned: the plain snapshot per interval without a terminal, and
// the option errors.

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { createPalette } from '../src/render/palette.js'
import { displayWidth, fit, fitLine } from '../src/top/cells.js'
import { TopCounts, sampleOf, type TopSample } from '../src/top/counts.js'
import { INITIAL_UI, type TopUi } from '../src/top/keys.js'
import { NARROW, duration, ms, renderScreen, renderSnapshot, type TopStatus } from '../src/top/screen.js'
import { TopWindow, type TopView } from '../src/top/window.js'
import { recordsInFile, repoPath } from './support.js'

const CLI = repoPath('dist/vlogdump.cjs')
const COLOR = createPalette(true)
const PLAIN = createPalette(false)
const STATUS: TopStatus = { clock: 'log', filtered: false, filterSince: null, notice: null }
const SGR = /\x1b\[[0-9;]*m/g
/** What must never reach the terminal from client text: C0 (ESC included), DEL, C1, bidi and invisible format
 *  characters. */
const RAW_CONTROL = /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/

const HOSTILE = [
  '/a\x1b[2J\x1b[H/clear-screen',
  '/b\x1b]0;pwned\x07/title',
  '/c\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\',
  '/d\x9b31m/c1-csi',
  '/e\u202eevil\u2066iso\u2069',
  '/f\rover\bwrite\x00nul\x7f',
  '/g\ttab\nnewline',
]

function view(samples: Array<Partial<TopSample>>, now = 1_800_000_100): TopView {
  const w = new TopWindow(60, null)
  samples.forEach((s, i) => {
    const base: TopSample = { handling: i % 3, status: 1, code: 200, total: 0.001 * (i + 1), url: '/x', path: '/x', error: false, vxid: i + 1, start: null, backendOnly: false, fetches: [] }
    w.add({ ...base, ...s }, now - (i % 50))
  })
  return w.view(now)
}

const hostileView = view(
  HOSTILE.flatMap((url, i) => [
    { url, path: url, total: 2 + i, fetches: [{ name: `be\x1b[31m${i}`, failed: false, s5xx: false, total: 0.01 }] },
    { url, path: url, total: 0.5 },
  ]),
)

function assertFits(lines: string[], width: number, height: number, what: string): void {
  assert.ok(lines.length <= height, `${what}: ${lines.length} lines for ${height} rows`)
  for (const line of lines) {
    const text = line.replace(SGR, '')
    assert.ok(displayWidth(text) <= width, `${what}: ${displayWidth(text)} columns for ${width}: ${JSON.stringify(text)}`)
    assert.doesNotMatch(text, RAW_CONTROL, `${what}: a raw control character in ${JSON.stringify(text)}`)
  }
}

describe('--top: the screen', () => {
  const uis: Array<[string, TopUi]> = [
    ['tables', INITIAL_UI],
    ['since start, by p99', { ...INITIAL_UI, scope: 'total', sort: 'p99' }],
    ['histogram', { ...INITIAL_UI, histogram: true }],
    ['paused, typing a filter', { ...INITIAL_UI, paused: true, editing: 'x\x1b[2J\u202e'.repeat(30) }],
    ['a filter in force, a message', { ...INITIAL_UI, filter: '^/a\x1b[31m', message: 'bad\x1b[2J' }],
  ]

  it('client text with terminal controls is shown escaped, never raw, in every mode and color', () => {
    for (const [name, ui] of uis) {
      for (const p of [COLOR, PLAIN]) {
        const lines = renderScreen(hostileView, ui, { ...STATUS, notice: 'varnishlog: \x1b[31mLog overrun' }, 160, 60, p)
        assertFits(lines, 160, 60, name)
        if (p === COLOR) assert.ok(lines.some((l) => SGR.test(l)), 'colored')
      }
    }
    const screen = renderScreen(hostileView, INITIAL_UI, STATUS, 200, 80, PLAIN).join('\n')
    assert.match(screen, /\/a\\x1b\[2J\\x1b\[H\/clear-screen/)
    assert.match(screen, /\/e\\u\{202e\}evil\\u\{2066\}iso\\u\{2069\}/)
    assert.match(screen, /\/g\\ttab\\nnewline/)
    assert.match(screen, /be\\x1b\[31m\d/)
  })

  it('every line fits every width, and the screen every height', () => {
    const v = view(Array.from({ length: 300 }, (_, i) => ({ url: `/path/${i % 40}/${'中文'.repeat(i % 7)}`, path: `/path/${i % 40}/${'中文'.repeat(i % 7)}`, handling: i % 8, status: i % 7, error: i % 9 === 0 })))
    for (const [name, ui] of uis) {
      for (let width = 1; width <= 180; width += width < 30 ? 1 : 7) {
        for (const height of [1, 2, 3, 5, 8, 13, 21, 34, 60]) {
          const lines = renderScreen(v, ui, STATUS, width, height, COLOR)
          assertFits(lines, width, height, `${name} ${width}×${height}`)
          assert.equal(lines.length, height, 'every row is written')
          // The bottom row is the keys (or the prompt) from 5 rows on.
          if (height >= 5 && width >= 14) assert.match(lines[height - 1].replace(SGR, ''), ui.editing !== null ? /^URL filter/ : /^q quit/)
        }
      }
    }
    assert.deepEqual(renderScreen(v, INITIAL_UI, STATUS, 0, 10, PLAIN), [])
    assert.deepEqual(renderScreen(v, INITIAL_UI, STATUS, 10, 0, PLAIN), [])
  })

  it('wide characters take two columns: fitting never splits or overflows them', () => {
    assert.equal(displayWidth('/中文'), 5)
    assert.equal(displayWidth('e\u0301'), 1)
    assert.equal(displayWidth('😀'), 2)
    assert.equal(fit('/中文路径', 5), '/中…')
    assert.equal(fit('abc', 3), 'abc')
    assert.equal(fit('abcd', 3), 'ab…')
    assert.equal(fitLine(['ab', ['中文', (s) => `<${s}>`]], 4), 'ab<…>')
    assert.equal(fitLine(['ab', ['中文', (s) => `<${s}>`]], 6), 'ab<中文>')
  })

  it('a narrow screen drops the less needed columns; a wide one shows both spans side by side', () => {
    const v = view(Array.from({ length: 50 }, () => ({})))
    const wide = renderScreen(v, INITIAL_UI, STATUS, NARROW, 50, PLAIN).join('\n')
    const narrow = renderScreen(v, INITIAL_UI, STATUS, NARROW - 1, 50, PLAIN).join('\n')
    assert.match(wide, /^handling +n +p50 +p90 +p99 +n +p50 +p90 +p99$/m)
    assert.match(narrow, /^handling +n +p50 +p90 +p99$/m)
    assert.match(wide, /^ +count +req\/s +5xx +p50 ms +p99 ms {2}url$/m)
    assert.match(narrow, /^ +count +5xx +p99 ms {2}url$/m)
    assert.match(wide, /^ +req\/s +hit +requests +2xx +3xx +4xx +5xx +other$/m)
    assert.match(narrow, /^ +req\/s +hit +requests +4xx +5xx$/m)
  })

  it('the histogram of hits and misses, and what the keys chose, are on the screen', () => {
    const v = view(Array.from({ length: 200 }, (_, i) => ({ handling: i % 2, total: 0.0001 * (1 + (i % 50)) })))
    const h = renderScreen(v, { ...INITIAL_UI, histogram: true }, STATUS, 100, 40, PLAIN).join('\n')
    assert.match(h, /^Histogram of total time, last 60s: \| hit {2}# miss$/m)
    assert.match(h, /^ *\d* \| *\|*#+/m)
    assert.match(h, /^ *0 \+-+\+/m)
    assert.match(h, /h tables/)
    const paused = renderScreen(v, { ...INITIAL_UI, paused: true, sort: 'errors', scope: 'total' }, STATUS, 100, 40, PLAIN).join('\n')
    assert.match(paused, /^vlogdump --top {2}PAUSED {2}2027-01-15 08:01:40Z {2}window 60s {2}log time$/m)
    assert.match(paused, /^URLs, since start, by 5xx/m)
    assert.match(paused, /p resume {2}s sort \(errors\).*w window/)
    const typing = renderScreen(v, { ...INITIAL_UI, editing: '^/api/' }, STATUS, 100, 40, PLAIN)
    assert.equal(typing[39], 'URL filter (regex, ! negates; Enter applies, empty clears, Esc cancels): ^/api/_')
    // A long filter keeps its end in view.
    const long = renderScreen(v, { ...INITIAL_UI, editing: 'x'.repeat(100) + 'END' }, STATUS, 60, 20, PLAIN)
    assert.match(long[19], /^URL filter: …x+END_$/)
  })

  it('numbers fit their columns', () => {
    assert.deepEqual([0.0001234, 0.012345, 0.12345, 1.2345, 123.45, null].map(ms), ['0.123', '12.35', '123.5', '1235', '123450', '-'])
    assert.deepEqual([60, 90, 120, 300, 3600, 3660, 125].map(duration), ['60s', '90s', '2m', '5m', '1h', '61m', '125s'])
  })

  it('a snapshot has every table (URLs by count and by p99), plain, with client text escaped', () => {
    const text = renderSnapshot(hostileView, STATUS, 120)
    for (const line of text.split('\n')) assert.doesNotMatch(line, RAW_CONTROL)
    for (const heading of ['URLs, last 60s, by count', 'URLs, last 60s, by p99 of total time', 'Backends, last 60s', 'Slowest requests, last 60s']) {
      assert.ok(text.includes(heading), heading)
    }
    assert.ok(text.endsWith('\n\n'))
  })

  it('samples of the real capture render whole', () => {
    const c = new TopCounts(100)
    for (const r of recordsInFile('fixtures/lab/lab.vxid.log')) c.add(sampleOf(r))
    assert.equal(c.requests, 99)
  })
})

describe('--top without a terminal (spawned)', () => {
  it('prints one plain snapshot at the input’s end: exit 0, no escape sequence, log time for a file', () => {
    const r = spawnSync(process.execPath, [CLI, '--top', repoPath('fixtures/lab/lab.vxid.log')], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: undefined } })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, '')
    assert.doesNotMatch(r.stdout, /\x1b/)
    assert.equal(r.stdout, readFileSync(repoPath('test/golden/lab.top.out'), 'utf8'))
  })

  it('prints a snapshot every --interval while a pipe is read (wall clock), filters applied', async () => {
    const child = spawn(process.execPath, [CLI, '--top', '--interval', '0.3', '--status', '5xx'], { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')))
    const text = readFileSync(repoPath('fixtures/lab/lab.vxid.log'))
    child.stdin.write(text)
    await new Promise((r) => setTimeout(r, 1500))
    child.stdin.end()
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    assert.equal(code, 0)
    const snapshots = out.split(/^(?=vlogdump --top )/m)
    assert.ok(snapshots.length >= 3, `${snapshots.length} snapshots:\n${out}`)
    assert.match(snapshots[0], /wall clock/)
    assert.doesNotMatch(out, /\x1b/)
    // --status 5xx: only the two 5xx records are counted.
    assert.match(snapshots[snapshots.length - 1], /^since start +\S+ +\S+ +2 +0 +0 +0 +2 +0$/m)
  })

  it('a reader that has closed the pipe (| head -1) before a snapshot: exit 0, quietly', async () => {
    for (const interval of ['0.2', '3600']) {
      const child = spawn(process.execPath, [CLI, '--top', '--interval', interval], { stdio: ['pipe', 'pipe', 'pipe'] })
      let err = ''
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')))
      child.stdout.destroy() // what head does once it has its line
      child.stdin.on('error', () => {})
      child.stdin.write(readFileSync(repoPath('fixtures/lab/lab.backend-only.log')))
      await new Promise((r) => setTimeout(r, 500))
      child.stdin.end()
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
      assert.equal(err, '', `--interval ${interval}`)
      assert.equal(code, 0, `--interval ${interval}`)
    }
  })

  it('Timestamps no clock shows, or far ahead of the rest, do not crash it nor move its window (log time)', () => {
    const lines = readFileSync(repoPath('fixtures/lab/lab.vxid.log'), 'latin1').split('\n')
    // The first request's start: beyond what a Date holds; the second's: a century ahead.
    const times = ['99999999999999', '4102444800']
    let request = false
    const bad = lines.map((l) => {
      if (l.startsWith('*')) request = l.includes('<< Request')
      if (!request || !/^- +Timestamp +Start: /.test(l) || times.length === 0) return l
      return l.replace(/Start: \d+/, `Start: ${times.shift()}`)
    })
    assert.equal(times.length, 0)
    const r = spawnSync(process.execPath, [CLI, '--top', '--clock', 'log'], { input: bad.join('\n'), encoding: 'utf8' })
    assert.equal(r.stderr, '')
    assert.equal(r.status, 0)
    // That first request alone: its time is the only one there is.
    const start = bad.findIndex((l) => l.includes('Start: 99999999999999'))
    let from = start
    while (!bad[from].startsWith('*')) from--
    const alone = bad.slice(from, bad.indexOf('', start) + 1).join('\n')
    const one = spawnSync(process.execPath, [CLI, '--top', '--clock', 'log'], { input: alone, encoding: 'utf8' })
    assert.equal(one.stderr, '')
    assert.equal(one.status, 0)
    assert.match(one.stdout, /^since start +\S+ +\S+ +1 /m)
    // The window is the capture's own last 60 s (less a record whose time was none: it counts since start only),
    // not a century later with nothing in it.
    const requests = (out: string): number => Number(/^last 60s +\S+ +\S+ +(\d+) /m.exec(out)?.[1] ?? -1)
    const good = spawnSync(process.execPath, [CLI, '--top', '--clock', 'log'], { input: lines.join('\n'), encoding: 'utf8' })
    assert.equal(requests(good.stdout), 99)
    assert.ok(requests(r.stdout) >= 97, r.stdout)
  })

  it('option errors, exit 2', () => {
    const cases: Array<[string[], string]> = [
      [['--top', '--json'], 'vlogdump: --top shows no records: --json does not go with it\n'],
      [['--top', '-F', 'ncsa'], 'vlogdump: --top shows no records: --format does not go with it\n'],
      [['--top', '--stats'], 'vlogdump: --top shows no records: --stats does not go with it\n'],
      [['--top', '-k', '3'], 'vlogdump: --top shows no records: --limit does not go with it\n'],
      [['--top', '--clickhouse', 'http://127.0.0.1:1'], 'vlogdump: --top shows no records: --clickhouse does not go with it\n'],
      [['--interval', '2'], 'vlogdump: --interval goes with --top\n'],
      [['--window', '30'], 'vlogdump: --window goes with --top\n'],
      [['--top', '--interval', '0'], "vlogdump: --interval: expected seconds from 0.1 to 3600, got '0'\n"],
      [['--top', '--window', '1.5'], "vlogdump: --window: expected whole seconds from 1 to 3600, got '1.5'\n"],
      [['--top', '--window', '7200'], "vlogdump: --window: expected whole seconds from 1 to 3600, got '7200'\n"],
      [['--top', '--clock', 'sun'], 'vlogdump: Invalid values:\n  Argument: clock, Given: "sun", Choices: "auto", "wall", "log"\n'],
    ]
    for (const [args, stderr] of cases) {
      const r = spawnSync(process.execPath, [CLI, ...args, repoPath('fixtures/cases/hit.log')], { encoding: 'utf8' })
      assert.deepEqual([r.status, r.stderr], [2, stderr], args.join(' '))
    }
  })
})
