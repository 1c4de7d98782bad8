// --top's figures: what a record gives (sampleOf, on the real capture), the sliding window (seconds drop out, late
// records, rates, memory bounds), percentiles against exact ones in the window and since start, the sorts, the keys,
// and the sink driven through a fake terminal (the URL filter typed on the fly, pause, q and Ctrl-C).

import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { createPalette } from '../src/render/palette.js'
import { RunState } from '../src/run/state.js'
import { nearestRank } from '../src/stats/estimator.js'
import { HANDLINGS, TIMING_ERROR, URL_CAPACITY, URL_ERROR } from '../src/stats/stats.js'
import { sampleOf, SLOWEST_KEPT, TopCounts, type TopSample } from '../src/top/counts.js'
import { INITIAL_UI, keysOf, press, type TopUi } from '../src/top/keys.js'
import { sortBackends, sortUrls } from '../src/top/screen.js'
import type { TopTerminal } from '../src/top/terminal.js'
import { TopSink } from '../src/top/top.js'
import { TopWindow, WINDOW_URL_CAPACITY, type BackendRow, type UrlRow } from '../src/top/window.js'
import type { ClientRecord } from '../src/vsl/types.js'
import { recordsInFile, rng } from './support.js'

/** A sample as sampleOf makes it, with only what a test names. */
function sample(over: Partial<TopSample> = {}): TopSample {
  return {
    handling: 0,
    status: 1,
    code: 200,
    total: 0.001,
    url: '/x',
    path: '/x',
    error: false,
    vxid: 1,
    start: null,
    backendOnly: false,
    fetches: [],
    ...over,
  }
}

function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b)
  return s[nearestRank(q, s.length) - 1]
}

function within(actual: number | null, expected: number, bound: number, what: string): void {
  assert.ok(actual !== null, `${what}: null`)
  assert.ok(Math.abs(actual - expected) <= bound * expected + 1e-12, `${what}: ${actual} vs exact ${expected}`)
}

describe('--top: a record sample', () => {
  const recs = recordsInFile('fixtures/lab/lab.vxid.log')

  it('takes handling, status class, URL path, 5xx and the fetches of every record of the capture', () => {
    for (const r of recs) {
      const s = sampleOf(r)
      assert.equal(HANDLINGS[s.handling], r.handling ?? 'none')
      assert.equal(s.code, r.response.status)
      assert.equal(s.total, r.timing.total)
      assert.equal(s.path, r.request.url === null ? null : r.request.url.split('?')[0])
      assert.equal(s.error, (r.response.status ?? 0) >= 500)
      assert.equal(s.fetches.length, (r.backend === null ? 0 : 1) + (r.bgfetch === null ? 0 : 1))
    }
  })

  it('names a failed fetch’s backend from its FetchError; a pipe without a response is no failure', () => {
    const dead = recs.find((r) => r.backend?.error?.startsWith('backend dead:'))!
    assert.equal(dead.backend!.name, null)
    assert.deepEqual(sampleOf(dead).fetches[0], { name: 'dead', failed: true, s5xx: true, total: dead.backend!.timing.total })
    const pipe = recs.find((r) => r.handling === 'pipe')!
    assert.equal(pipe.backend!.status, null)
    assert.equal(sampleOf(pipe).fetches[0].failed, false)
  })
})

describe('--top: the sliding window', () => {
  const T0 = 1_800_000_000

  it('a second leaves the window whole when it is `seconds` old; the run keeps it', () => {
    const w = new TopWindow(10, null)
    for (let i = 0; i < 30; i++) for (let k = 0; k <= i % 3; k++) w.add(sample({ url: `/p${i}`, path: `/p${i}` }), T0 + i + 0.5)
    const now = T0 + 29.9
    const v = w.view(now)
    // Seconds 20..29 are in: (i % 3) + 1 requests each.
    let inWindow = 0
    for (let i = 20; i < 30; i++) inWindow += (i % 3) + 1
    let all = 0
    for (let i = 0; i < 30; i++) all += (i % 3) + 1
    assert.equal(v.last.requests, inWindow)
    assert.equal(v.total.requests, all)
    assert.deepEqual(v.last.urls.map((u) => u.url).sort(), Array.from({ length: 10 }, (_, k) => `/p${20 + k}`).sort())
    // Later, with no records since (the wall clock goes on): the window empties, second by second.
    assert.equal(w.view(now + 5).last.requests, inWindow - [20, 21, 22, 23, 24].reduce((n, i) => n + (i % 3) + 1, 0))
    assert.equal(w.view(now + 10).last.requests, 0)
    assert.equal(w.view(now + 10).total.requests, all)
  })

  it('a record older than the window counts since start only; a late one inside it lands in its own second', () => {
    const w = new TopWindow(5, null)
    w.add(sample(), T0 + 100.2)
    w.add(sample({ url: '/old', path: '/old' }), T0 + 90) // 10 s late: outside the window
    w.add(sample({ url: '/late', path: '/late' }), T0 + 97.5) // 2.7 s late: inside
    const v = w.view(T0 + 100.5)
    assert.equal(v.last.requests, 2)
    assert.equal(v.total.requests, 3)
    assert.deepEqual(v.last.urls.map((u) => u.url).sort(), ['/late', '/x'])
    assert.equal(w.view(T0 + 102.9).last.requests, 1, 'second 97 has left, 100 is still in')
  })

  it('a slot of the ring reused for a newer second forgets the older one', () => {
    const w = new TopWindow(3, null)
    w.add(sample({ url: '/a', path: '/a' }), T0 + 1.5)
    w.add(sample({ url: '/b', path: '/b' }), T0 + 4.5) // same slot as T0+1
    const v = w.view(T0 + 4.6)
    assert.deepEqual(v.last.urls.map((u) => u.url), ['/b'])
    assert.equal(v.total.requests, 2)
  })

  it('requests/s: the window’s requests over the time it covers (at least a second); since start over the run', () => {
    const w = new TopWindow(60, T0)
    for (let i = 0; i < 120; i++) for (let k = 0; k < 10; k++) w.add(sample(), T0 + i + k / 10)
    const v = w.view(T0 + 119.99)
    assert.equal(v.last.requests, 600)
    within(v.last.rate, 10, 0.001, 'window rate')
    within(v.total.rate, 1200 / 119.99, 1e-9, 'run rate')
    // Two seconds into a run, the rate is over those two seconds, not over the window's 60.
    const young = new TopWindow(60, T0)
    for (let k = 0; k < 30; k++) young.add(sample(), T0 + k / 15)
    within(young.view(T0 + 2).last.rate, 15, 1e-9, 'young window rate')
    assert.equal(new TopWindow(60, null).view(null).last.rate, null, 'no time yet: no rate')
  })

  it('percentiles per handling, in the window and since start, are within the estimator’s bound of the exact ones', () => {
    const r = rng(17)
    const w = new TopWindow(30, null)
    const inWindow = new Map<number, number[]>()
    const all = new Map<number, number[]>()
    for (let i = 0; i < 20_000; i++) {
      const t = T0 + (i / 20_000) * 90
      const h = Math.floor(r() * 3)
      const total = Math.exp(-9 + r() * 9) * (h + 1) // 0.1 ms .. 3 s, log-uniform
      w.add(sample({ handling: h, total }), t)
      for (const k of [h, -1]) {
        ;(all.get(k) ?? all.set(k, []).get(k)!).push(total)
        if (Math.floor(t) > Math.floor(T0 + 90) - 30) (inWindow.get(k) ?? inWindow.set(k, []).get(k)!).push(total)
      }
    }
    const v = w.view(T0 + 90)
    for (const [span, exactValues] of [
      [v.last, inWindow],
      [v.total, all],
    ] as const) {
      for (const [h, values] of exactValues) {
        const got = h === -1 ? span.timing.all : span.timing[HANDLINGS[h]]
        assert.equal(got.n, values.length)
        for (const [q, key] of [
          [0.5, 'p50'],
          [0.9, 'p90'],
          [0.99, 'p99'],
        ] as const) {
          within(got[key], exact(values, q), TIMING_ERROR, `${h === -1 ? 'all' : HANDLINGS[h]} ${key}`)
        }
        assert.equal(got.max, Math.max(...values))
      }
    }
  })

  it('a URL’s p99 in the window is within the URL bound; 5xx counted per URL', () => {
    const r = rng(5)
    const w = new TopWindow(60, null)
    const times: number[] = []
    for (let i = 0; i < 3000; i++) {
      const total = 0.001 + r() * 0.2
      times.push(total)
      w.add(sample({ url: '/api?x=' + i, path: '/api', total, error: i % 10 === 0, code: i % 10 === 0 ? 503 : 200 }), T0 + i / 100)
    }
    const v = w.view(T0 + 29.99)
    const api = v.last.urls.find((u) => u.url === '/api')!
    assert.equal(api.count, 3000)
    assert.equal(api.errors, 300)
    within(api.p99, exact(times, 0.99), URL_ERROR, 'p99')
  })

  it('memory stays bounded: at most 128 paths per second, 10,000 since start, 20 slowest per second', () => {
    const w = new TopWindow(5, null)
    for (let i = 0; i < 50_000; i++) w.add(sample({ url: `/u${i}`, path: `/u${i}`, total: (i % 997) / 1000 }), T0 + (i % 5) + 0.5)
    const v = w.view(T0 + 4.9)
    assert.ok(v.last.urls.length <= 5 * WINDOW_URL_CAPACITY, `${v.last.urls.length} paths in the window`)
    assert.equal(v.total.urls.length, URL_CAPACITY)
    assert.ok(v.last.urlsEvicted && v.total.urlsEvicted)
    assert.equal(v.last.requests, 50_000)
    assert.equal(v.last.slowest.length, SLOWEST_KEPT)
    assert.equal(v.last.slowest[0].total, 0.996)
  })

  it('the slowest requests of the window are the slowest of its seconds, slowest first', () => {
    const w = new TopWindow(10, null)
    const r = rng(3)
    const all: number[] = []
    for (let i = 0; i < 2000; i++) {
      const total = r()
      all.push(total)
      w.add(sample({ total, vxid: i }), T0 + (i % 10) + 0.1)
    }
    const got = w.view(T0 + 9.5).last.slowest.map((s) => s.total)
    assert.deepEqual(got, [...all].sort((a, b) => b - a).slice(0, SLOWEST_KEPT))
  })

  it('backends: fetches, failures, 5xx and fetch times, merged over the window', () => {
    const c = new TopCounts(10)
    c.add(sample({ fetches: [{ name: 'api', failed: false, s5xx: false, total: 0.01 }] }))
    c.add(sample({ fetches: [{ name: 'api', failed: true, s5xx: true, total: null }] }))
    c.add(sample({ backendOnly: true, fetches: [{ name: 'img', failed: false, s5xx: true, total: 0.5 }] }))
    const w = new TopCounts(10)
    w.merge(c)
    w.merge(c)
    assert.equal(w.requests, 4)
    assert.equal(w.backendOnly, 2)
    assert.deepEqual(
      [...w.backends].map(([n, b]) => [n, b.fetches, b.failed, b.s5xx, b.est.count]),
      [
        ['api', 4, 2, 2, 2],
        ['img', 2, 0, 2, 2],
      ],
    )
  })
})

describe('--top: sorts', () => {
  const u = (url: string, count: number, p99: number | null, errors: number): UrlRow => ({ url, count, over: 0, errors, n: count, p50: null, p90: null, p99, max: null })
  const urls = [u('/a', 5, 0.1, 0), u('/b', 9, 0.01, 1), u('/c', 5, 2, 3), u('/d', 1, null, 0)]

  it('URLs by count, by p99 (none last), by 5xx; ties by count then URL', () => {
    assert.deepEqual(sortUrls(urls, 'count').map((x) => x.url), ['/b', '/a', '/c', '/d'])
    assert.deepEqual(sortUrls(urls, 'p99').map((x) => x.url), ['/c', '/a', '/b', '/d'])
    assert.deepEqual(sortUrls(urls, 'errors').map((x) => x.url), ['/c', '/b', '/a', '/d'])
  })

  it('backends by fetches, by p99, by failures and 5xx', () => {
    const b = (name: string, fetches: number, p99: number, failed: number, s5xx: number): BackendRow => ({ name, fetches, failed, s5xx, n: fetches, p50: null, p90: null, p99, max: null })
    const list = [b('x', 10, 0.1, 0, 0), b('y', 3, 0.9, 2, 0), b('z', 7, 0.2, 0, 1)]
    assert.deepEqual(sortBackends(list, 'count').map((x) => x.name), ['x', 'z', 'y'])
    assert.deepEqual(sortBackends(list, 'p99').map((x) => x.name), ['y', 'z', 'x'])
    assert.deepEqual(sortBackends(list, 'errors').map((x) => x.name), ['y', 'z', 'x'])
  })
})

describe('--top: keys', () => {
  it('raw input splits into keys; escape sequences are one ignored key', () => {
    assert.deepEqual(keysOf('qps'), ['q', 'p', 's'])
    assert.deepEqual(keysOf('\x03'), ['ctrl-c'])
    assert.deepEqual(keysOf('\x1b'), ['escape'])
    assert.deepEqual(keysOf('\x1b[A\x1b[1;5Ch'), ['other', 'other', 'h'])
    // F1-F4 (ESC O P … S) are one key: F2 is not Q, quit.
    assert.deepEqual(keysOf('\x1bOP\x1bOQ\x1bOSq'), ['other', 'other', 'other', 'q'])
    assert.deepEqual(keysOf('a\rb\n\x7f\x08\x15'), ['a', 'enter', 'b', 'enter', 'backspace', 'backspace', 'ctrl-u'])
    assert.deepEqual(keysOf('é😀\x01'), ['é', '😀', 'other'])
  })

  it('q quits, Ctrl-C interrupts, p pauses, s cycles the sort, h and w toggle', () => {
    const seq = (keys: string[], ui: TopUi = INITIAL_UI): { ui: TopUi; effects: string[] } => {
      const effects: string[] = []
      for (const k of keys) {
        const r = press(ui, k)
        ui = r.ui
        effects.push(r.effect)
      }
      return { ui, effects }
    }
    assert.equal(press(INITIAL_UI, 'q').effect, 'quit')
    assert.equal(press(INITIAL_UI, 'ctrl-c').effect, 'interrupt')
    assert.equal(press({ ...INITIAL_UI, editing: 'x' }, 'ctrl-c').effect, 'interrupt')
    assert.equal(seq(['p']).ui.paused, true)
    assert.equal(seq(['p', 'p']).ui.paused, false)
    assert.deepEqual(['s', 's', 's'].map((_, i) => seq(Array(i + 1).fill('s')).ui.sort), ['p99', 'errors', 'count'])
    assert.equal(seq(['h']).ui.histogram, true)
    assert.equal(seq(['w']).ui.scope, 'total')
    assert.deepEqual(seq(['x', 'other']).effects, ['none', 'none'])
  })

  it('/ types a filter: Enter applies (empty clears), Escape keeps the old one, Backspace and Ctrl-U edit', () => {
    let ui = press(INITIAL_UI, '/').ui
    assert.equal(ui.editing, '')
    for (const k of ['a', 'p', 'i', 'x', 'backspace', 'q', 's']) ui = press(ui, k).ui // q and s are text here
    assert.equal(ui.editing, 'apiqs')
    const applied = press(ui, 'enter')
    assert.deepEqual([applied.effect, applied.ui.filter, applied.ui.editing], ['filter', 'apiqs', null])
    ui = press(applied.ui, '/').ui
    assert.equal(ui.editing, 'apiqs', 'editing starts from the filter in force')
    assert.deepEqual([press(ui, 'escape').ui.filter, press(ui, 'escape').ui.editing], ['apiqs', null])
    ui = press(ui, 'ctrl-u').ui
    assert.equal(press(ui, 'enter').ui.filter, null)
    assert.equal(press({ ...ui, editing: 'x'.repeat(200) }, 'y').ui.editing!.length, 200, 'bounded')
  })
})

describe('--top: the sink, through a fake terminal', () => {
  class FakeTerminal implements TopTerminal {
    columns = 120
    rows = 50
    keyboard = true
    notice: string | null = null
    stderr = new Writable({ write: (_c, _e, cb) => cb() })
    frames: string[][] = []
    onKeys: ((s: string) => void) | null = null
    left = false
    enter(onKeys: (s: string) => void): void {
      this.onKeys = onKeys
    }
    draw(lines: string[]): void {
      this.frames.push(lines)
    }
    leave(): void {
      this.left = true
    }
    get last(): string {
      return this.frames[this.frames.length - 1].join('\n')
    }
  }
  const NOW = 1_800_000_000
  const rec = (url: string, status = 200): ClientRecord =>
    ({
      vxid: 1,
      side: 'client',
      handling: 'miss',
      response: { status },
      request: { url },
      timing: { total: 0.002, ttfb: 0.001 },
      backend: null,
      bgfetch: null,
      startEpoch: NOW,
    }) as unknown as ClientRecord
  const setUp = (t: { after(fn: () => void): void }): { sink: TopSink; term: FakeTerminal; state: RunState; clock: { t: number } } => {
    const term = new FakeTerminal()
    const clock = { t: NOW }
    const stdout = new Writable({ write: (_c, _e, cb) => cb() })
    const sink = new TopSink({ interval: 3600, window: 60, clock: 'wall', ignoreCase: false }, { terminal: term, write: async () => {}, columns: 120, now: () => clock.t }, createPalette(false))
    const state = new RunState(stdout)
    sink.start(state)
    t.after(() => sink.stop(state))
    return { sink, term, state, clock }
  }

  it('a URL filter set with / counts only its URLs from then on; clearing it brings back the whole figures', (t) => {
    const { sink, term, state } = setUp(t)
    for (let i = 0; i < 5; i++) sink.add(rec('/api/x'))
    for (let i = 0; i < 3; i++) sink.add(rec('/img/y'))
    term.onKeys!('/^/img/\r')
    assert.match(term.last, /^URL filter \^\/img\/ {2}since \d\d:\d\d:\d\dZ/m)
    assert.match(term.last, /^last 60s +- +- +0 /m, 'nothing yet since it was set')
    sink.add(rec('/img/z'))
    sink.add(rec('/api/x'))
    term.onKeys!('w') // any key redraws with the figures of now
    assert.match(term.last, /^since filter +\S+ +\S+ +1 /m)
    assert.match(term.last, /\/img\/z/)
    assert.doesNotMatch(term.last.split('URLs, since')[1] ?? '', /\/api\//)
    // A bad regex: said, and the filter in force stays.
    term.onKeys!('/\x15(\r')
    assert.match(term.last, /URL filter: invalid regular expression '\(': \/\(\/: Unterminated group/)
    term.onKeys!('w')
    assert.match(term.last, /^URL filter \^\/img\//m)
    // Cleared: the whole run again.
    term.onKeys!('/\x15\r')
    assert.match(term.last, /^since start +\S+ +\S+ +10 /m)
    sink.stop(state)
    assert.equal(term.left, true)
  })

  it('p freezes the figures (records are still counted); q quits (exit 0), Ctrl-C interrupts', (t) => {
    const { sink, term, state } = setUp(t)
    sink.add(rec('/a'))
    term.onKeys!('p')
    const frozen = term.last
    assert.match(frozen, /PAUSED/)
    sink.add(rec('/b'))
    term.onKeys!('s') // a key while paused: the same figures, sorted anew
    assert.doesNotMatch(term.last, /\/b/)
    term.onKeys!('p')
    assert.match(term.last, /\/b/)
    assert.doesNotMatch(term.last, /PAUSED/)
    term.onKeys!('q')
    assert.deepEqual([state.interrupted, state.quit], [true, true])
    sink.stop(state)
    const other = setUp(t)
    other.term.onKeys!('\x03')
    assert.deepEqual([other.state.interrupted, other.state.quit], [true, false])
    other.sink.stop(other.state)
  })
})
