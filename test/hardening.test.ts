// Hostile and broken input (issue 7): what a user gets instead of a crash, a hang, unbounded memory or a raw escape
// sequence on the terminal — broken files, hostile structure, terminal attacks, huge lines, a slow output
// pipe, signals, files that vanish, regexes that backtrack.

import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, closeSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { parseArgs } from '../src/args.js'
import { repoPath, runOn } from './support.js'

const CLI = repoPath('dist/vlogdump.cjs')

describe('hardening', () => {
  it('a binary VSL file among text files is read, as every file is, by what its first bytes say', () => {
    const r = spawnSync(process.execPath, [CLI, repoPath('fixtures/varnish-8.0/lab.vsl'), repoPath('fixtures/cases/hit.log')], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stderr, '')
    assert.match(r.stdout, /GET \/esi\/1/)
    assert.match(r.stdout, /HIT/)
  })

  it('CR-only line ends are read as lines', async () => {
    const text = (await import('node:fs')).readFileSync(repoPath('fixtures/cases/miss.log'), 'latin1')
    const cr = await runOn([{ text: text.replace(/\n/g, '\r') }], { output: 'json' })
    const lf = await runOn([{ file: 'fixtures/cases/miss.log' }], { output: 'json' })
    assert.equal(cr.stdout, lf.stdout)
  })

  it('an unknown option close to a known one gets a suggestion', () => {
    assert.throws(() => parseArgs(['--jsn'], '0', () => {}), { message: 'Unknown argument: jsn (did you mean --json?)' })
    assert.throws(() => parseArgs(['--req-header-x', 'a'], '0', () => {}), { message: 'Unknown argument: req-header-x (did you mean --req-headers?)' })
    assert.throws(() => parseArgs(['--frobnicate'], '0', () => {}), { message: 'Unknown argument: frobnicate' })
  })

  it('every line read is accounted for: in a record, or skipped by kind', async () => {
    for (const file of ['fixtures/lab/lab.raw.log', 'fixtures/lab/lab.session.log', 'fixtures/varnish-3.0.7/varnish-3.0.7.log']) {
      const r = await runOn([{ file }], { summary: true, output: 'json' })
      const m = /^vlogdump: (\d+) lines, .*\), (\d+) lines skipped/.exec(r.stderr)
      assert.ok(m !== null, r.stderr)
      const lines = (await import('node:fs')).readFileSync(repoPath(file), 'latin1').split('\n').length - 1
      assert.equal(Number(m[1]), lines, file)
      assert.ok(Number(m[2]) < lines)
    }
  })

  it('a huge first line does not hide the layout: Varnish 3.0 input after 3 MiB of junk is still read as 3.0', async () => {
    const legacy = readFileSync(repoPath('fixtures/varnish-3.0.7/varnish-3.0.7.log'))
    const r = await runOn([{ text: Buffer.concat([Buffer.alloc(3 << 20, 'x'), Buffer.from('\n'), legacy]) }], { summary: true, output: 'json' })
    assert.equal(r.stdout.split('\n').length - 1, 289)
    assert.match(r.stderr, /1 too long\); layout legacy\n$/)
  })

  it('a line of 2 MiB without a newline is skipped and counted; reading goes on', async () => {
    const long = 'x'.repeat(2 * 1024 * 1024)
    const text = (await import('node:fs')).readFileSync(repoPath('fixtures/cases/hit.log'), 'latin1')
    const r = await runOn([{ text: long + '\n' + text }], { summary: true })
    assert.match(r.stdout, /HIT/)
    assert.match(r.stderr, /1 too long/)
  })
})

describe('hostile structure', () => {
  const raw = (vxid: number | string, tag: string, data = ''): string => `${String(vxid).padStart(10)} ${tag.padEnd(14)} c ${data}`

  it('an empty input: nothing printed, exit 1, no error', async () => {
    const r = await runOn([{ text: '' }], { summary: true })
    assert.deepEqual([r.code, r.stdout], [1, ''])
    assert.match(r.stderr, /^vlogdump: 0 lines, 0 records \(0 shown, 0 incomplete\), 0 lines skipped/)
  })

  it('End without Begin, and NUL bytes inside lines: counted and reported, never thrown on', async () => {
    const input = [raw(5, 'End'), raw(6, 'ReqURL', '/a\x00b'), raw(6, 'End'), '\x00\x00\x00', `${String(7).padStart(10)} Re\x00qURL    c /x`]
    const r = await runOn([{ text: input.join('\n') + '\n' }], { summary: true, output: 'json' })
    assert.equal(r.code, 0)
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { vxid: number; incomplete: string | null })
    // Fragments (no Begin) are printed as incomplete, never dropped; the NUL line and the broken tag are unparseable.
    assert.deepEqual(recs.map((x) => [x.vxid, x.incomplete]), [[5, 'eof'], [6, 'eof']])
    assert.equal((JSON.parse(r.stdout.split('\n')[1]) as { request: { url: string } }).request.url, '/a\x00b')
    assert.match(r.stderr, /^vlogdump: 5 lines, 2 records \(2 shown, 2 incomplete: 2 eof\), 2 lines skipped \(.*2 unparseable/)
  })

  it('Link loops end: two requests linking each other are emitted, marked, no hang', async () => {
    const input = [raw(2, 'Begin', 'req 3 esi'), raw(2, 'Link', 'req 3 esi'), raw(3, 'Begin', 'req 2 esi'), raw(3, 'Link', 'req 2 esi'), raw(2, 'End'), raw(3, 'End')]
    const r = await runOn([{ text: input.join('\n') + '\n' }], { output: 'json' })
    assert.equal(r.code, 0)
    assert.ok(r.stdout.trim().split('\n').length >= 1)
  })

  it('64-bit vxids (Varnish 7.3+) group as well', async () => {
    const v = 999999999999990
    const input = [raw(v + 1, 'Begin', `bereq ${v} fetch`), raw(v + 1, 'End'), raw(v, 'Begin', 'req 1 rxreq'), raw(v, 'Link', `bereq ${v + 1} fetch`), raw(v, 'End')]
    const r = await runOn([{ text: input.join('\n') + '\n' }], { output: 'json' })
    const rec = JSON.parse(r.stdout)
    assert.deepEqual([rec.vxid, rec.backend.vxid, rec.incomplete], [v, v + 1, null])
  })

  it('100,000 headers in one transaction: linear, done in seconds', async () => {
    const lines = ['*   << Request  >> 5', '-   Begin          req 4 rxreq', '-   ReqURL         /many']
    for (let i = 0; i < 100000; i++) lines.push(`-   ReqHeader      X-H${i}: ${i}`)
    for (let i = 0; i < 100000; i++) lines.push(`-   RespHeader     X-R${i}: ${i}`)
    for (let i = 0; i < 1000; i++) lines.push(`-   RespUnset      X-R${99999 - i}: ${99999 - i}`)
    lines.push('-   End            ', '')
    const t0 = Date.now()
    const r = await runOn([{ text: lines.join('\n') }], { output: 'json' })
    const rec = JSON.parse(r.stdout)
    assert.equal(rec.request.headers.length, 100000)
    assert.equal(rec.response.headers.length, 99000)
    assert.ok(Date.now() - t0 < 10000, `${Date.now() - t0} ms`)
  })

  it('a regex that can backtrack exponentially is warned about before reading, saying whether the linear fallback applies', () => {
    // As cli.ts does at start-up.
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
    setFlagsFromString('--enable-experimental-regexp-engine')
    const hints = (...argv: string[]): string[] => {
      const p = parseArgs(argv, '0', () => {})
      assert.ok(p.kind === 'run')
      return p.hints
    }
    const shape = (flag: string, re: string): string => `${flag}: '${re}' has a quantifier inside a repeated group, which can backtrack for a very long time on some values`
    assert.deepEqual(hints('--url', '(a+)+$'), [`${shape('--url', '(a+)+$')}; where it does, matching falls back to a linear-time engine`])
    const slow = ', and it cannot fall back to the linear-time engine (it has a backreference, a lookaround, -i or a large {n,m}): matching may be very slow'
    assert.deepEqual(hints('--req-header', '^(\\w+)+\\1$'), [shape('--req-header', '^(\\w+)+\\1$') + slow])
    assert.deepEqual(hints('--url', '(?=a)(a+)+$'), [shape('--url', '(?=a)(a+)+$') + slow])
    assert.deepEqual(hints('-i', '--url', '(a+)+$'), [shape('--url', '(a+)+$') + slow])
    assert.deepEqual(hints('--url', '^/api/(v1|v2)/'), [])
  })
})

// Terminal attacks, by name, in a real capture (fixtures/cases/hit.log) with the payload put into the URL (path and
// query), a request header, a response header and a VCL_Log value, as the UTF-8 bytes varnishd would log. Each view
// must print no raw C0/C1 control character, ESC or bidi control (the only control characters left are our own
// newlines); --json keeps the text, escaped by JSON's rules (C0) and as \uXXXX (DEL, C1, bidi), and parses back to it.
describe('terminal attacks', () => {
  const HIT = readFileSync(repoPath('fixtures/cases/hit.log'), 'latin1')
  // [name, payload as log bytes (latin1 string), the text --json must give back]
  const attacks: Array<[string, string, string]> = [
    ['ANSI CSI: clear screen', '\x1b[2J\x1b[H', '\x1b[2J\x1b[H'],
    ['ANSI CSI: colors', '\x1b[31;1mred\x1b[0m', '\x1b[31;1mred\x1b[0m'],
    ['OSC: window title change', '\x1b]0;pwned\x07', '\x1b]0;pwned\x07'],
    ['OSC 8: hyperlink', '\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\', '\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\'],
    ['backspaces over the text', 'evil\x08\x08\x08\x08good', 'evil\x08\x08\x08\x08good'],
    ['carriage return overwrite', 'innocent\rEVIL', 'innocent\rEVIL'],
    ['C1 CSI as UTF-8 (U+009B)', '\xc2\x9b2J', '\x9b2J'],
    ['C1 CSI as a raw byte (0x9b, not UTF-8)', '\x9b2J', '\\x9b2J'],
    ['NUL and DEL', 'a\x00b\x7fc', 'a\x00b\x7fc'],
    ['bidi: right-to-left override (U+202E)', 'invoice\xe2\x80\xaefdp.exe', 'invoice\u202efdp.exe'],
    ['bidi: isolates (U+2066-U+2069)', '\xe2\x81\xa6a\xe2\x81\xa9\xe2\x81\xa7b\xe2\x81\xa9\xe2\x81\xa8c\xe2\x81\xa9', '\u2066a\u2069\u2067b\u2069\u2068c\u2069'],
  ]
  // Control characters (C0 but LF, DEL, C1) and the bidi/format characters that reorder or hide text.
  const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u
  const decode = (b: Buffer): string => new TextDecoder('utf-8', { fatal: true }).decode(b)
  const edit = (payload: string): string => {
    const out = HIT.replace('ReqURL         /static/1', `ReqURL         /static/${payload}?q=${payload}`)
      .replace('User-Agent: Mozilla/5.0', `User-Agent: ${payload} Mozilla/5.0`)
      .replace('RespHeader     ETag: "8597f0a182aab311"', `RespHeader     ETag: "${payload}"`)
      .replace('VCL_Log        route:static', `VCL_Log        route:${payload}`)
    assert.equal((out.match(new RegExp(payload.replace(/[^\w]/g, '\\$&'), 'g')) ?? []).length, 5, 'the payload is in all five places')
    return out
  }

  for (const [name, payload, text] of attacks) {
    it(`${name}: escaped in the compact view, -F and --stats; kept in --json and --stats-json`, async () => {
      const input = [{ text: edit(payload) }]
      const compact = await runOn(input, { reqHeaders: true, respHeaders: true, bereqHeaders: true, berespHeaders: true, stats: 'with-records' })
      const shown = decode(compact.bytes)
      assert.doesNotMatch(shown, RAW)
      assert.match(shown, /=> GET \/static\/\S+\?q=\S/)
      assert.match(shown, /req\.http\.User-Agent = \S+/)
      assert.match(shown, /resp\.http\.ETag = "\S/)

      const fmt = await runOn(input, { output: 'format', format: '%r %{User-Agent}i %{ETag}o %{VCL_Log:route}x' })
      const line = decode(fmt.bytes)
      assert.doesNotMatch(line, RAW)
      assert.equal(line.split('\n').length, 2, 'one line')
      assert.match(line, /^GET http:\/\/127\.0\.0\.1:43959\/static\/\S+\?q=\S+ HTTP\/1\.1 \S/)

      const json = await runOn(input, { output: 'json' })
      assert.doesNotMatch(decode(json.bytes).trimEnd(), RAW)
      const rec = JSON.parse(json.stdout)
      assert.equal(rec.request.url, `/static/${text}?q=${text}`)
      assert.equal(rec.request.headers.find(([n]: string[]) => n === 'User-Agent')[1].slice(0, text.length), text)
      assert.equal(rec.response.headers.find(([n]: string[]) => n === 'ETag')[1], `"${text}"`)
      assert.equal(rec.vcl_log[0], `route:${text}`)

      const stats = await runOn(input, { stats: 'json' })
      assert.doesNotMatch(decode(stats.bytes).trimEnd(), RAW)
      assert.equal(JSON.parse(stats.stdout).urls.by_count[0].url, `/static/${text}`)
    })
  }
})

// Spawned, because they are about the process: its memory, its output pipe, signals, files it cannot read. Peak
// RSS comes from a preloaded hook that prints process.resourceUsage().maxRSS (KiB) on stderr at exit.
describe('hostile input and output, spawned', () => {
  const HOOK = 'data:text/javascript,process.on("exit",()=>process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`))'
  const HIT = repoPath('fixtures/cases/hit.log')
  const MISS = repoPath('fixtures/cases/miss.log')
  const SMALL = repoPath('fixtures/varnish-7.1/small.vxid.log')
  const REPEAT = 48 // small.vxid.log is 1 MB: about 50 MB
  let dir = ''
  let big = ''
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vlogdump-hostile-'))
    big = join(dir, 'big.log')
    writeFileSync(big, Buffer.concat(new Array(REPEAT).fill(readFileSync(SMALL))))
  })
  // A regression fails the test instead of hanging the suite; its vlogdump is killed.
  const LIMIT = { timeout: 20_000 }
  const started: ChildProcess[] = []
  after(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  interface Done {
    code: number | null
    stdout: Buffer
    stderr: string
    /** Peak RSS in MB, from the hook. */
    maxRss: number
  }
  /** `unprivileged`: as root, run without the capabilities that let root read any file (CAP_DAC_OVERRIDE,
   *  CAP_DAC_READ_SEARCH), so mode 000 means no, as for anyone else. Root stays root: the checkout, wherever it is
   *  (a 0700 home, a mktemp -d), stays readable, which switching to another uid would not give. */
  function start(args: string[], opts: { unprivileged?: boolean } = {}): { child: ChildProcess; done: Promise<Done> } {
    const argv = [process.execPath, '--import', HOOK, CLI, ...args]
    if (opts.unprivileged === true && process.getuid?.() === 0) argv.unshift('setpriv', '--bounding-set=-dac_override,-dac_read_search', '--')
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, NO_COLOR: '1' } })
    started.push(child)
    const out: Buffer[] = []
    let err = ''
    child.stderr!.on('data', (d) => (err += d))
    const done = new Promise<Done>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => out.push(d))
      child.on('close', (code) => {
        const m = /^maxrss (\d+)\n/m.exec(err)
        resolve({ code, stdout: Buffer.concat(out), stderr: err.replace(/^maxrss \d+\n/m, ''), maxRss: m === null ? NaN : Number(m[1]) / 1024 })
      })
    })
    return { child, done }
  }
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const t = setInterval(() => cond() && (clearInterval(t), resolve()), 5)
      t.unref() // after a timeout, nothing keeps the test process alive
    })

  it('a 100 MB line without a newline on stdin, then a capture: bounded memory, the line counted, the records printed', LIMIT, async (t) => {
    const { child, done } = start(['--summary'])
    const mib = Buffer.alloc(1 << 20, 'x')
    async function* input(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 100; i++) yield mib
      yield Buffer.concat([Buffer.from('\n'), readFileSync(HIT)])
    }
    Readable.from(input()).pipe(child.stdin!)
    const r = await done
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout.toString(), /GET \/static\/1 HTTP\/1\.1 HIT/)
    assert.match(r.stderr, /^vlogdump: 52 lines, 1 records \(1 shown, 0 incomplete\), 2 lines skipped \(.*, 1 too long\)/)
    assert.ok(r.maxRss < 150, `peak RSS ${r.maxRss.toFixed(0)} MB`)
    t.diagnostic(`peak RSS ${r.maxRss.toFixed(0)} MB`)
  })

  it('--url with a catastrophically backtracking regex: the linear-time fallback ends it in time, with the warning', LIMIT, () => {
    const input = ['*   << Request  >> 5', '-   Begin          req 4 rxreq', `-   ReqURL         ${'a'.repeat(40)}b`, '-   End            ', ''].join('\n')
    const t0 = Date.now()
    // Without the fallback this takes hours; the timeout only keeps a regression from hanging the suite.
    const r = spawnSync(process.execPath, [CLI, '--url', '^(a+)+$'], { input, encoding: 'utf8', timeout: 20_000 })
    assert.equal(r.status, 1, 'nothing matched')
    assert.equal(r.stderr, "vlogdump: --url: '^(a+)+$' has a quantifier inside a repeated group, which can backtrack for a very long time on some values; where it does, matching falls back to a linear-time engine\n")
    assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`)
  })

  it('stdout a slow pipe: reading waits for it (bounded memory), and all the output arrives', LIMIT, async (t) => {
    const one = spawnSync(process.execPath, [CLI, '--output', 'log', SMALL]).stdout.length
    const { child, done } = start(['--output', 'log', big])
    child.stdout!.pause()
    // Once output has started, give it a second with nobody reading: vlogdump must stop reading its input.
    await until(() => child.stdout!.readableLength > 0)
    await new Promise((r) => setTimeout(r, 1000))
    const fds = readdirSync(`/proc/${child.pid}/fd`)
    const fd = fds.find((f) => { try { return readlinkSync(`/proc/${child.pid}/fd/${f}`) === big } catch { return false } })
    assert.ok(fd !== undefined, 'the input is still open: not read to the end')
    const pos = Number(/^pos:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/fdinfo/${fd}`, 'utf8'))![1])
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024
    assert.ok(pos <= 8 << 20, `read ${pos} bytes of ${statSync(big).size} with nobody reading`)
    assert.ok(rss < 110, `RSS ${rss.toFixed(0)} MB with nobody reading`)
    // Then a slow reader: a pause after every chunk.
    child.stdout!.on('data', () => {
      child.stdout!.pause()
      setTimeout(() => child.stdout!.resume(), 1)
    })
    child.stdout!.resume()
    const r = await done
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.length, one * REPEAT)
    assert.ok(r.maxRss < 150, `peak RSS ${r.maxRss.toFixed(0)} MB`)
    t.diagnostic(`unread for 1 s: ${pos} bytes read, RSS ${rss.toFixed(0)} MB; peak RSS ${r.maxRss.toFixed(0)} MB`)
  })

  it('SIGTERM in the middle of a big file: prompt exit 130 (as Ctrl-C), the summary on stderr, no stack trace', LIMIT, async () => {
    const { child, done } = start([big])
    let seen = 0
    child.stdout!.on('data', (d: Buffer) => (seen += d.length))
    await until(() => seen > 0)
    const t0 = Date.now()
    child.kill('SIGTERM')
    const r = await done
    assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`)
    assert.equal(r.code, 130)
    assert.match(r.stderr, /^vlogdump: \d+ lines, \d+ records \(\d+ shown, .*; layout vxid; interrupted with \d+ transactions pending\n$/)
    assert.ok(r.stdout.length < statSync(big).size / 4, 'stopped early')
    assert.match(r.stdout.toString(), /ms\n$/, 'ends with a whole record')
  })

  for (const threads of ['1', '0']) {
    it(`one SIGTERM with a stuck stdout (--threads ${threads}): it still ends, 130, with the summary on stderr`, LIMIT, async () => {
      // stdout is a FIFO that nobody reads: once its 64 KiB are full, every write waits.
      const fifo = join(dir, `stuck-${threads}`)
      assert.equal(spawnSync('mkfifo', [fifo]).status, 0)
      const fd = openSync(fifo, 'r+')
      try {
        const child = spawn(process.execPath, [CLI, '--threads', threads, big], { stdio: ['ignore', fd, 'pipe'] })
        started.push(child)
        let err = ''
        child.stderr!.on('data', (d) => (err += d))
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
        await new Promise((r) => setTimeout(r, 1500)) // long enough to fill the FIFO and wait on it
        const t0 = Date.now()
        child.kill('SIGTERM')
        assert.equal(await exited, 130)
        assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`)
        assert.match(err, /; interrupted with \d+ transactions pending\n$/)
        assert.doesNotMatch(err, /\n\s+at /)
      } finally {
        closeSync(fd)
      }
    })
  }

  it('two SIGTERMs with stdout not being read: the second ends it at once, 130', LIMIT, async () => {
    const { child, done } = start([big])
    child.stdout!.pause()
    await until(() => child.stdout!.readableLength > 0)
    child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 200))
    const t0 = Date.now()
    child.kill('SIGTERM')
    const r = await done
    assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`)
    assert.equal(r.code, 130)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
  })

  it('SIGTERM on an endless stdin: exit 130, what is decided printed, the summary on stderr', LIMIT, async () => {
    const { child, done } = start([])
    child.stdin!.write(readFileSync(HIT))
    // Then a request that never ends, and more lines forever.
    child.stdin!.write('*   << Request  >> 77\n-   Begin          req 76 rxreq\n')
    const more = setInterval(() => child.stdin!.write('-   Debug          "still here"\n'), 2)
    child.stdin!.on('error', () => {}) // EPIPE after it exits
    child.on('exit', () => clearInterval(more))
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    await until(() => out.includes('HIT'))
    child.kill('SIGTERM')
    const r = await done
    assert.equal(r.code, 130)
    assert.match(r.stdout.toString(), /^ +127\.0\.0\.1 => GET \/static\/1 HTTP\/1\.1 HIT\n/)
    assert.match(r.stderr, /^vlogdump: \d+ lines, 1 records \(1 shown, 0 incomplete\), .*; interrupted with 1 transactions pending\n$/)
  })

  it('files that vanish or cannot be read in the middle of a list: one message each, the others read, exit 2', LIMIT, async () => {
    const list = join(dir, 'list')
    mkdirSync(list)
    const fifo = join(list, 'fifo.log')
    const gone = join(list, 'gone.log')
    const sub = join(list, 'a-directory')
    const locked = join(list, 'locked.log')
    assert.equal(spawnSync('mkfifo', ['-m', '644', fifo]).status, 0)
    writeFileSync(gone, readFileSync(MISS))
    mkdirSync(sub)
    writeFileSync(locked, readFileSync(MISS), { mode: 0o000 })
    chmodSync(locked, 0o000)
    const { child, done } = start([fifo, gone, sub, locked, MISS], { unprivileged: true })
    let out = ''
    child.stdout!.on('data', (d) => (out += d))
    // While vlogdump reads the first file (a FIFO), the second one is deleted. (Opened read-write: that never
    // blocks, whether vlogdump has opened its end or not.)
    const w = createWriteStream(fifo, { flags: 'r+' })
    w.write(readFileSync(HIT))
    await until(() => out.includes('HIT') || child.exitCode !== null)
    unlinkSync(gone)
    w.end()
    const r = await done
    assert.equal(r.code, 2)
    assert.equal(r.stderr, [`vlogdump: cannot open ${gone}: no such file`, `vlogdump: cannot read ${sub}: is a directory`, `vlogdump: cannot open ${locked}: permission denied`, ''].join('\n'))
    assert.match(r.stdout.toString(), /^ +127\.0\.0\.1 => GET \/static\/1 HTTP\/1\.1 HIT\n[^]* => GET \/[^ ]+ HTTP\/1\.1 MISS\n[^]*$/)
  })
})
