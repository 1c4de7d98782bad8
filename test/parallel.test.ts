// The parallel reader (src/parallel): on every layout of the real captures, cut into blocks small enough that
// transactions, trees and sessions straddle many block boundaries, it prints byte for byte what the sequential
// reader prints, with the same line accounting; it is used only where it can be, and a closed pipe still ends
// it quietly.

import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs, { closeSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import { NO_FILTERS } from '../src/filter/flags.js'
import { mutate, type Mutation } from './fuzz/mutate.js'
import { run, type RunSettings } from '../src/run.js'
import { DEFAULT_BLOCK } from '../src/parallel/reader.js'
import { DEFAULT_MAX_LINE } from '../src/parse/lines.js'
import { DEFAULTS, rawRec, repoPath, Sink } from './support.js'
import { TAGS_VSL1 } from '../src/vsl/binary-tags.js'

const TAG_END = TAGS_VSL1.indexOf('End')

const CLI = repoPath('dist/vlogdump.cjs')
const tmp = mkdtempSync(join(tmpdir(), 'vlogdump-parallel-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

/** How far process `pid` has read the file at `path` (its descriptor's offset, from /proc); -1 before it opens it. */
function readOffset(pid: number, path: string): number {
  path = realpathSync(path) // as /proc names it
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== path) continue
      return Number(/^pos:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? -1)
    }
  } catch {
    // It closed the file meanwhile, or ended.
  }
  return -1
}

async function runFile(path: string, opts: Partial<RunSettings>): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  const stdout = new Sink()
  const stderr = new Sink()
  const code = await run({ ...DEFAULTS, summary: true, ...opts }, { inputs: [{ name: path, path }], stdout, stderr })
  return { code, stdout: Buffer.concat(stdout.chunks), stderr: stderr.text }
}

/** Sequential, then with 2 worker threads and blocks of `blockBytes`: the same bytes, code and summary. */
async function same(path: string, opts: Partial<RunSettings>, blockBytes: number): Promise<string> {
  const seq = await runFile(path, { ...opts, threads: 1 })
  const par = await runFile(path, { ...opts, threads: 2, parallel: { minBytes: 0, blockBytes } })
  assert.equal(par.code, seq.code)
  assert.equal(par.stderr, seq.stderr)
  assert.ok(par.stdout.equals(seq.stdout), `${path} ${JSON.stringify(opts)} blocks of ${blockBytes}: output differs`)
  return seq.stderr
}

/** 40 complete requests from vxid `from` on, in the raw layout (about 1.5 KiB): a block's worth of distance. */
const padRequests = (from: number): string[] =>
  Array.from({ length: 40 }, (_, i) => [rawRec(from + i, 'Begin', 'req 1 rxreq'), rawRec(from + i, 'ReqStart', '10.0.0.1 1 a0'), rawRec(from + i, 'ReqURL', `/pad/${i}`), rawRec(from + i, 'End', '')]).flat()

/** lab.raw.log with the End of every 10th transaction dropped: records left pending, printed as incomplete. */
function unfinished(): string {
  const path = join(tmp, 'raw-unfinished.log')
  let n = 0
  const kept = readFileSync(repoPath('fixtures/lab/lab.raw.log'), 'latin1')
    .split('\n')
    .filter((l) => !(/^ +[1-9][0-9]* End /.test(l) && ++n % 10 === 0))
  writeFileSync(path, kept.join('\n'), 'latin1')
  return path
}

const LAYOUTS = [
  'fixtures/lab/lab.vxid.log',
  'fixtures/lab/lab.vxid-v.log',
  'fixtures/lab/lab.request.log',
  'fixtures/lab/lab.request-v.log',
  'fixtures/lab/lab.session.log',
  'fixtures/lab/lab.raw.log',
  'fixtures/lab/lab.backend-only.log',
  'fixtures/varnish-7.1/small.vxid.log',
  'fixtures/varnish-7.1/small.raw.log',
  'fixtures/varnish-7.1/small.session.log',
  // The versions built from source: 6.0 ends h2 sessions twice; from 7.2 on the vxid grouping leaves the ESI
  // subrequests out (their parents are complete without them) and Begin has a fourth field.
  ...['6.0', '6.6', '7.7', '8.0'].flatMap((v) => ['vxid', 'raw', 'request'].map((l) => `fixtures/varnish-${v}/lab.${l}.log`)),
  'fixtures/varnish-8.0/lab.vxid-E.log',
  // Binary files (varnishlog -w), cut at record boundaries: the VSL\0 format and the VSL2 one.
  'fixtures/lab/lab.vsl',
  'fixtures/varnish-7.1/small.vsl',
  'fixtures/varnish-6.0/lab.vsl',
  'fixtures/varnish-8.0/lab.vsl',
]

describe('parallel reader', () => {
  for (const file of LAYOUTS) {
    it(`${file}: the same records, in the same order, as the sequential reader`, async () => {
      const path = repoPath(file)
      for (const blockBytes of [4096, 65536]) {
        const summary = await same(path, { output: 'json' }, blockBytes)
        assert.match(summary, /records/)
        await same(path, { output: 'compact', respHeaders: true }, blockBytes)
      }
      await same(path, { filters: { ...NO_FILTERS, misses: true, slow: 200 } }, 8192)
      await same(path, { output: 'log' }, 8192)
      await same(path, { output: 'format', format: '%h %m %U %s %D %{Varnish:handling}x' }, 8192)
    })
  }

  it('binary files with --slow or a timed query, which test trees before records are built: the same records as one thread', async () => {
    // --output log prints every record's data, --json every field; slow 0 passes every tree, 100 ms few, and the
    // query reads the data of the trees that pass.
    for (const file of LAYOUTS.filter((f) => f.endsWith('.vsl'))) {
      const path = repoPath(file)
      for (const slow of [0, 1, 100]) {
        await same(path, { filters: { ...NO_FILTERS, slow }, output: 'log' }, 8192)
        await same(path, { filters: { ...NO_FILTERS, slow }, output: 'json', queries: ['ReqURL ~ "/" or BereqURL ~ "/"'] }, 4096)
      }
      // A query bounded by a Timestamp time: trees are tested on their times before their records are decoded.
      await same(path, { output: 'log', queries: ['Timestamp:Resp[2] >= 0 or Timestamp:BerespBody[2] >= 0'] }, 8192)
      await same(path, { output: 'json', queries: ['VCL_call eq "MISS" and Timestamp:Resp[2] > 0.0002'] }, 4096)
    }
  })

  it('a transaction with records before its Begin is read as the sequential reader reads it', async () => {
    // A block copies the data of a transaction whose first record is not Begin (it began in an earlier block, as far
    // as the block can tell); one whose Begin follows in the block is finished there, with its first records.
    const path = join(tmp, 'raw-early.log')
    let n = 0
    const lines = readFileSync(repoPath('fixtures/lab/lab.raw.log'), 'latin1')
      .split('\n')
      .flatMap((l) => {
        const m = /^( +[1-9][0-9]*) Begin +c req /.exec(l)
        return m !== null && ++n % 7 === 0 ? [`${m[1]} ReqHeader      c X-Early: ${n}`, l] : [l]
      })
    writeFileSync(path, lines.join('\n'), 'latin1')
    assert.ok(n > 7)
    for (const blockBytes of [4096, 65536]) {
      await same(path, { output: 'log' }, blockBytes)
      await same(path, { output: 'json' }, blockBytes)
    }
  })

  it('vxids that begin again (varnishd restarted, or captures joined): the same records as one thread', async () => {
    // A capture repeated: every vxid begins again, in the same block as before or in the next. A block where one
    // does hands all its lines on (Grouper.reused). Before, such a block took a session's Begin into the
    // transaction its tail had made, printed sessions as requests, gave one run's children to the other's
    // parent, and evicted as reused a request that waited for its session's address from another block.
    const copies = (file: string, n: number): string => {
      const path = join(tmp, `${file.replace(/\//g, '_')}-x${n}`)
      const bytes = readFileSync(repoPath(file))
      // A binary log: one file header, the records again and again (one file, as varnishlog -w writes it).
      const parts = file.endsWith('.vsl') ? [bytes, ...Array.from({ length: n - 1 }, () => bytes.subarray(4))] : Array.from({ length: n }, () => bytes)
      writeFileSync(path, Buffer.concat(parts))
      return path
    }
    for (const blockBytes of [524288, 1048576]) await same(copies('fixtures/lab/lab.raw.log', 8), { output: 'json' }, blockBytes)
    await same(copies('fixtures/lab/lab.vxid.log', 8), { output: 'json' }, 65536)
    await same(copies('fixtures/lab/lab.request.log', 8), { output: 'log' }, 262144)
    const vsl = copies('fixtures/lab/lab.vsl', 12)
    await same(vsl, { output: 'json' }, 786432)
    await same(vsl, { filters: { ...NO_FILTERS, slow: 0 }, output: 'log' }, 786432)
  })

  it('captures of different runs joined (the same vxids again, at another time): the same records as one thread', async () => {
    // What a block reads that the main thread's grouper must know at its place among the lines handed on
    // (src/parallel/reader.ts, BlockEvents). Before: the main thread kept a session's address after a block read
    // its End, and gave it to the later run's request of that session without ReqStart (7.7 + 8.0, raw); a request
    // of the earlier run still waiting for its parent was evicted at the end of the file, not where the later run
    // began it again (7.7 + 8.0, vxid); and the later run's first transactions, waiting in the main thread, timed
    // out when a block's log time (the earlier run's, weeks later) was applied after them (6.6 + lab, vxid).
    const joined = (a: string, b: string, layout: string): string => {
      const path = join(tmp, `joined-${a}-${b}.${layout}`)
      writeFileSync(path, Buffer.concat([a, b].map((v) => readFileSync(repoPath(`fixtures/${v}/lab.${layout}`)))))
      return path
    }
    await same(joined('varnish-7.7', 'varnish-8.0', 'raw.log'), { output: 'json' }, 6133)
    await same(joined('varnish-7.7', 'varnish-8.0', 'vsl'), { output: 'json' }, 6133)
    for (const block of [4099, 65536]) await same(joined('varnish-7.7', 'varnish-8.0', 'vxid.log'), { output: 'json' }, block)
    await same(joined('varnish-6.6', 'lab', 'vxid.log'), { output: 'json' }, 20011)
    await same(joined('varnish-6.6', 'lab', 'vxid.log'), { output: 'log', timeout: 5 }, 8192)
  })

  it("a session's End read in another block than its address: a later request of that number gets no address", async () => {
    // Session 10 opens in the first block and closes (SessClose, End) in the second, which forgets it: the main
    // thread, which knew its address, must forget it there too. A request of session 10 after that, without
    // ReqStart, has no client address, as one thread reads it (before, it took the forgotten session's).
    const rec = rawRec
    const lines = [
      rec(10, 'Begin', 'sess 0 HTTP/1'),
      rec(10, 'SessOpen', '192.0.2.7 5555 a0 127.0.0.1 80 1796250434.000000 19'),
      ...padRequests(100),
      rec(10, 'SessClose', 'REM_CLOSE 0.001'),
      rec(10, 'End', ''),
      ...padRequests(200),
      rec(11, 'Begin', 'req 10 rxreq'),
      rec(11, 'ReqURL', '/late'),
      rec(11, 'End', ''),
    ]
    const path = join(tmp, 'session-ended.log')
    writeFileSync(path, lines.join('\n') + '\n', 'latin1')
    await same(path, { output: 'json' }, 4096)
    const late = (await runFile(path, { output: 'json', threads: 1 })).stdout.toString().split('\n').find((l) => l.includes('/late'))
    assert.equal(JSON.parse(late!).client, null)
  })

  it('the session grouping: a session whose End one block read lends its address to its requests in the next', async () => {
    // In the session grouping a session's own records (End too) come before its requests: one with many requests
    // spans blocks, cut between lines (no blank line inside a group). Its requests without ReqStart (HTTP/2,
    // garbage) take its address, as one thread gives it (before, only a session still open at a block's end was
    // passed on, and those requests had no address).
    const lines = ['*   << Session  >> 10        ', '-   Begin          sess 0 HTTP/1', '-   SessOpen       192.0.2.7 5555 a0 127.0.0.1 80 1796250434.000000 19']
    for (let i = 0; i < 60; i++) lines.push(`-   Link           req ${11 + i} rxreq`)
    lines.push('-   SessClose      REM_CLOSE 0.001', '-   End            ')
    for (let i = 0; i < 60; i++) {
      lines.push(`**  << Request  >> ${11 + i}        `, '--  Begin          req 10 rxreq', '--  Timestamp      Start: 1796250434.000100 0.000000 0.000000')
      lines.push(`--  ReqURL         /h2/${i}`, '--  RespStatus     200', '--  End            ')
    }
    for (const eol of ['\n', '\r\n']) {
      const path = join(tmp, `session-requests-${eol.length}.log`)
      writeFileSync(path, lines.join(eol) + eol + eol, 'latin1')
      await same(path, { output: 'json' }, 4096)
      const out = (await runFile(path, { output: 'json', threads: 1 })).stdout.toString().trim().split('\n')
      assert.equal(out.length, 60)
      for (const l of out) assert.deepEqual(JSON.parse(l).client, { ip: '192.0.2.7', port: 5555 })
    }
  })

  it('the session grouping: a session number that begins again (varnishd restarted) lends its new address', async () => {
    // The same session number in two groups, each with its own SessOpen, and requests without ReqStart (which
    // take their session's address). One thread kept the first address for the second session's requests (the
    // first SessOpen won); two threads, whose blocks report each session as begun, took the second's.
    const group = (ip: string, first: number): string[] => {
      const lines = ['*   << Session  >> 10        ', '-   Begin          sess 0 HTTP/1', `-   SessOpen       ${ip} 5555 a0 127.0.0.1 80 1796250434.000000 19`]
      for (let i = 0; i < 30; i++) lines.push(`-   Link           req ${first + i} rxreq`)
      lines.push('-   SessClose      REM_CLOSE 0.001', '-   End            ')
      for (let i = 0; i < 30; i++) {
        lines.push(`**  << Request  >> ${first + i}        `, '--  Begin          req 10 rxreq', '--  Timestamp      Start: 1796250434.000100 0.000000 0.000000')
        lines.push(`--  ReqURL         /${ip}/${i}`, '--  RespStatus     200', '--  End            ')
      }
      return [...lines, '']
    }
    const path = join(tmp, 'session-again.log')
    writeFileSync(path, [...group('192.0.2.7', 11), ...group('198.51.100.9', 111)].join('\n') + '\n', 'latin1')
    const out = (await runFile(path, { output: 'json', threads: 1 })).stdout.toString().trim().split('\n').map((l) => JSON.parse(l))
    assert.equal(out.length, 60)
    for (const r of out) assert.equal(r.client?.ip, r.request.url.split('/')[1], r.request.url)
    for (const block of [2048, 4096, 6133]) await same(path, { output: 'json' }, block)
  })

  it('lines lost at random (headers among them): read as by one thread', async () => {
    // Cases from a differential test (each of these differed before a group's End ended it): a lost header leaves
    // its group's lines after the End of the group before it, where a block may start; one thread and the main
    // thread now both count them unparseable (test/grouper.test.ts).
    const cases: [string, number, number][] = [
      ['fixtures/lab/lab.vxid.log', 1, 0.005],
      ['fixtures/lab/lab.request.log', 2, 0.005],
      ['fixtures/lab/lab.session.log', 2, 0.005],
      ['fixtures/varnish-6.0/lab.vxid.log', 3, 0.005],
      ['fixtures/lab/lab.vxid.log', 6, 0.02],
      ['fixtures/lab/lab.session.log', 6, 0.02],
    ]
    for (const [file, seed, rate] of cases) {
      let x = seed * 13 + file.replace(/^fixtures\//, '').length
      const next = (): number => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
      const kept = readFileSync(repoPath(file), 'latin1').split('\n').filter(() => next() >= rate)
      const path = join(tmp, `lost-${seed}-${file.replace(/\W/g, '_')}`)
      writeFileSync(path, kept.join('\n'), 'latin1')
      for (const block of [4096, 6133]) await same(path, { output: 'json' }, block)
    }
  })

  it('lines doubled, swapped with the next, cut short or moved at random: read as by one thread', async () => {
    // Cases from a differential test (1% of the lines; each differed before its fix):
    // - a Begin doubled inside a group broke the group for one thread only (it is counted, and the group read on);
    // - a session group with a blank line before its End: the block that read its header dropped it at the blank
    //   (a blank line ends no group), so the main thread read the End as no session's;
    // - a header and the blank line after it swapped (-v): the main thread kept the header alone as a transaction
    //   of its own, where one thread reads the records after it into it;
    // - a ReqStart cut to no address: a block took it for one (the request takes its session's address);
    // - a Begin doubled in the raw layout: the summary listed the incomplete reasons in another order;
    // - lines dropped (a request's End, a header), where a block read groups to their End after the last group the
    //   main thread read: that one's were read on into it, now no group's (BlockResult.closed);
    // - a record moved before its Begin (raw): one thread read it into the transaction, where the block that read
    //   the Begin could not; it is now a transaction's tail of its own, for both (Grouper.isFragment); in the -v
    //   layouts, one moved into the group before its own;
    // - a line cut to a few spaces and then text, where the bytes read for a block ended after the spaces: the block
    //   was cut before it, taken for a blank line (a line the read cuts short is now not known: the cut moves back).
    const cases: [string, string, number, number][] = [
      ['double', 'fixtures/lab/lab.request.log', 1, 4096],
      ['double', 'fixtures/lab/lab.session.log', 1, 4096],
      ['double', 'fixtures/lab/lab.raw.log', 2, 20011],
      ['swap', 'fixtures/lab/lab.vxid-v.log', 1, 4096],
      ['swap', 'fixtures/varnish-6.0/lab.vxid.log', 2, 6133],
      ['cut', 'fixtures/lab/lab.session.log', 2, 4096],
      ['mix', 'fixtures/varnish-6.0/lab.vxid.log', 6, 20011],
      ['move', 'fixtures/lab/lab.raw.log', 5, 6133],
      ['move', 'fixtures/lab/lab.vxid-v.log', 4, 4096],
      ['cut', 'fixtures/varnish-8.0/lab.raw.log', 4, 4096],
      ['mix', 'fixtures/lab/lab.raw.log', 5, 4096],
    ]
    for (const [kind, file, seed, block] of cases) {
      let x = seed * 17 + file.replace(/^fixtures\//, '').length + kind.length
      const next = (): number => (x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
      const lines = readFileSync(repoPath(file), 'latin1').split('\n')
      let out: string[] = []
      if (kind === 'double') for (const l of lines) out.push(...(next() < 0.01 ? [l, l] : [l]))
      if (kind === 'swap') {
        out = lines.slice()
        for (let i = 0; i + 1 < out.length; i++) {
          if (next() >= 0.01) continue
          const t = out[i]
          out[i] = out[i + 1]
          out[i + 1] = t
          i++
        }
      }
      if (kind === 'cut') for (const l of lines) out.push(next() < 0.01 ? l.slice(0, Math.floor(next() * l.length)) : l)
      if (kind === 'move') {
        // Lines moved up to 50 lines away.
        out = lines.slice()
        for (let k = 0; k < out.length * 0.005; k++) {
          const i = Math.floor(next() * out.length)
          const j = Math.max(0, Math.min(out.length - 1, i + Math.floor((next() - 0.5) * 100)))
          out.splice(j, 0, ...out.splice(i, 1))
        }
      }
      if (kind === 'mix') {
        // Lines dropped, doubled and cut.
        for (const l of lines) {
          const v = next()
          if (v < 0.005) continue
          out.push(...(v < 0.01 ? [l, l] : v < 0.015 ? [l.slice(0, Math.floor(next() * l.length))] : [l]))
        }
      }
      const path = join(tmp, `${kind}-${seed}-${file.replace(/\W/g, '_')}`)
      writeFileSync(path, out.join('\n'), 'latin1')
      await same(path, { output: 'json' }, block)
    }
  })

  it('damaged text: blank-looking and header-looking lines at a block start, CRLF groups: read as by one thread', async () => {
    // A line of spaces is a blank line: at a block's start it no longer ends the group an earlier block opened
    // (its records after it were counted unparseable). A text line that starts like a header (`* broken`) no
    // longer starts a block (it continues the line before, which only the block before knows). CRLF groups are
    // cut at their blank lines, as LF ones are.
    const insert = (file: string, text: string): string => {
      const path = join(tmp, `inserted-${file.replace(/\W/g, '_')}-${text.length}.log`)
      const lines = readFileSync(repoPath(file), 'latin1').split('\n')
      writeFileSync(path, lines.flatMap((l, i) => (i % 97 === 50 ? [l, text] : [l])).join('\n'), 'latin1')
      return path
    }
    for (const file of ['fixtures/lab/lab.request.log', 'fixtures/lab/lab.session.log']) {
      const path = insert(file, '   ')
      for (const block of [4096, 6133]) await same(path, { output: 'json' }, block)
    }
    await same(insert('fixtures/lab/lab.raw.log', '* broken header'), { output: 'json' }, 6133)
    for (const layout of ['vxid-v', 'request-v', 'session']) {
      const path = join(tmp, `crlf-${layout}.log`)
      writeFileSync(path, readFileSync(repoPath(`fixtures/lab/lab.${layout}.log`), 'latin1').replace(/\n/g, '\r\n'), 'latin1')
      for (const block of [4096, 6133]) await same(path, { output: 'json' }, block)
    }
  })

  it('sessions and vxids begun again, around block ends: as one thread (cases from a second read)', async () => {
    const rec = rawRec
    const sessOpen = rec(10, 'SessOpen', '192.0.2.7 5555 a0 127.0.0.1 80 1796250434.000000 19')
    const cases: Record<string, string[]> = {
      // A session begun and ended in one block, with a request between that waits for its fetch in the next
      // block: the main thread must know the session's address (before, only open sessions were passed on).
      'session in a block': [...padRequests(100), rec(10, 'Begin', 'sess 0 HTTP/1'), sessOpen, rec(11, 'Begin', 'req 10 rxreq'), rec(11, 'ReqURL', '/bg'), rec(11, 'Link', 'bereq 12 bgfetch'), rec(11, 'End', ''), rec(10, 'SessClose', 'REM_CLOSE 0.001'), rec(10, 'End', ''), ...padRequests(200), rec(12, 'Begin', 'bereq 11 bgfetch'), rec(12, 'BereqURL', '/bg'), rec(12, 'End', '')],
      // The tail of an earlier run's transaction 7, then 7 begins again in the same block: the tail is the earlier
      // one's (before, the block took it into the new transaction).
      'tail, then Begin': [rec(7, 'Begin', 'req 1 rxreq'), rec(7, 'ReqStart', '10.0.0.9 1 a0'), rec(7, 'ReqURL', '/old'), ...padRequests(100), rec(7, 'ReqHeader', 'X-Tail: old'), ...padRequests(200).slice(0, 20), rec(7, 'Begin', 'req 1 rxreq'), rec(7, 'ReqStart', '10.0.0.8 1 a0'), rec(7, 'ReqURL', '/new'), rec(7, 'End', ''), ...padRequests(300)],
      // A session begins under the vxid of a request still pending: the request is evicted, and the session is a
      // session (one thread made a record of it, "reason": "HTTP/1").
      'session under a pending vxid': [rec(10, 'Begin', 'req 1 rxreq'), rec(10, 'ReqStart', '10.0.0.9 1 a0'), rec(10, 'ReqURL', '/old'), ...padRequests(100), rec(10, 'Begin', 'sess 0 HTTP/1'), sessOpen, rec(11, 'Begin', 'req 10 rxreq'), rec(11, 'ReqURL', '/new'), rec(11, 'End', ''), rec(10, 'SessClose', 'REM_CLOSE 0.001'), rec(10, 'End', ''), ...padRequests(200)],
    }
    for (const [name, lines] of Object.entries(cases)) {
      const path = join(tmp, `again-${name.replace(/\W/g, '-')}.log`)
      writeFileSync(path, lines.join('\n') + '\n', 'latin1')
      for (const block of [4096, 5000, 6000]) await same(path, { output: 'json' }, block)
    }
    const urls = (await runFile(join(tmp, 'again-session-under-a-pending-vxid.log'), { output: 'json', threads: 1 })).stdout.toString().split('\n').filter((l) => l.includes('"/old"') || l.includes('"/new"'))
    assert.deepEqual(urls.map((l) => [JSON.parse(l).request.url, JSON.parse(l).incomplete ?? null, JSON.parse(l).client?.ip ?? null]), [['/old', 'reused', '10.0.0.9'], ['/new', null, '192.0.2.7']])
    // The session grouping, requests without ReqStart, blocks as small as a few lines: a block that ends inside a
    // session's group hands its header on; the address it read is the session's the lines after it go to.
    const noReqStart = join(tmp, 'session-no-reqstart.log')
    writeFileSync(noReqStart, readFileSync(repoPath('fixtures/lab/lab.session.log'), 'latin1').split('\n').filter((l) => !l.includes(' ReqStart ')).join('\n'), 'latin1')
    for (const block of [377, 4096]) await same(noReqStart, { output: 'json' }, block)
  })

  it('a last line without its LF: in a block handed on, and in a transaction still open at the end', async () => {
    // The splitter gives the last line from a copy of its own: its position is the block's tail, not its start
    // (the main thread read the block's first line again in its place).
    const rec = rawRec
    const req = (vxid: number, url: string): string[] => [rec(vxid, 'Begin', 'req 0 rxreq'), rec(vxid, 'ReqStart', '1.2.3.4 5 a0'), rec(vxid, 'ReqURL', url)]
    const cases = {
      reused: [...req(1, '/a'), rec(1, 'End', ''), ...req(1, '/b'), rec(1, 'End', '')],
      open: [...req(1, '/a'), rec(1, 'End', ''), ...req(2, '/b')],
    }
    for (const [name, lines] of Object.entries(cases)) {
      for (const eol of ['\n', '\r\n']) {
        const path = join(tmp, `last-line-${name}-${eol.length}.log`)
        writeFileSync(path, lines.join(eol), 'latin1')
        await same(path, { output: 'json' }, 4096)
        await same(path, { output: 'log' }, 4096)
      }
    }
  })

  it('blocks whose output is larger than the main thread copies out, and blocks the main thread runs ahead', async () => {
    // The main thread runs blocks while the worker has three and an earlier result is not back: their results wait
    // in order, a small output copied out of its slot, a large one (--json of 256 KiB blocks) keeping one of two.
    const path = join(tmp, 'small-x12.log')
    writeFileSync(path, readFileSync(repoPath('fixtures/varnish-7.1/small.raw.log')).toString('latin1').repeat(12), 'latin1')
    for (const blockBytes of [16384, 262144]) {
      await same(path, { output: 'json' }, blockBytes)
      await same(path, { filters: { ...NO_FILTERS, misses: true, slow: 200 } }, blockBytes)
    }
  })

  it('transactions that never end are printed as incomplete, as by the sequential reader', async () => {
    const summary = await same(unfinished(), { output: 'json' }, 4096)
    assert.match(summary, /incomplete: \d+ eof/)
  })

  it('binary files with a bound filter: transactions that never end time out at the same log time', async () => {
    // The End of every 10th transaction of small.vsl (6 s of log time) dropped; -T 2. Where a filter bounds trees,
    // a block reads each Timestamp from its bytes (src/parse/binary.ts): the log time it keeps is what evicts.
    const src = readFileSync(repoPath('fixtures/varnish-7.1/small.vsl'))
    const kept: Buffer[] = [src.subarray(0, 4)]
    let n = 0
    for (let p = 4; p < src.length; ) {
      const size = 8 + (((src.readUInt32LE(p) & 0xffff) + 3) & ~3)
      if (!(src[p + 3] === TAG_END && ++n % 10 === 0)) kept.push(src.subarray(p, p + size))
      p += size
    }
    const path = join(tmp, 'small-unfinished.vsl')
    writeFileSync(path, Buffer.concat(kept))
    // -T is decided when a block has been read (README, Incomplete records): an evicted record may come later.
    const sorted = (b: Buffer): string[] => b.toString('latin1').split('\n').sort()
    for (const slow of [0, 1]) {
      const opts = { timeout: 2, filters: { ...NO_FILTERS, slow }, output: 'json' as const }
      const seq = await runFile(path, { ...opts, threads: 1 })
      const par = await runFile(path, { ...opts, threads: 2, parallel: { minBytes: 0, blockBytes: 8192 } })
      assert.match(seq.stderr, /incomplete: [1-9]\d* eof, [1-9]\d* timeout/)
      assert.equal(par.stderr, seq.stderr)
      assert.equal(par.code, seq.code)
      assert.deepEqual(sorted(par.stdout), sorted(seq.stdout))
    }
  })

  it('-L 1 and 3 (evictions all the time): every line is printed or counted as skipped, by one thread and by two', async () => {
    // Which records -L evicts may be decided at a block end (README, Incomplete records); none is lost either way.
    for (const file of ['fixtures/lab/lab.vsl', 'fixtures/varnish-7.1/small.vsl', 'fixtures/lab/lab.raw.log']) {
      for (const maxPending of [1, 3]) {
        for (const threads of [1, 2]) {
          const r = await runFile(repoPath(file), { output: 'log', maxPending, threads, parallel: { minBytes: 0, blockBytes: 4096 } })
          const printed = r.stdout.toString('latin1').split('\n').filter((l) => /^-+ /.test(l)).length
          const m = /(\d+) lines, .*?(\d+) lines skipped/.exec(r.stderr)
          assert.ok(m !== null, r.stderr)
          assert.equal(printed + Number(m[2]), Number(m[1]), `${file} -L ${maxPending}, ${threads} threads`)
        }
      }
    }
  })

  it('text lines that continue nothing (raw layout) are counted as the sequential reader counts them', async () => {
    const path = join(tmp, 'raw-text.log')
    const lines = readFileSync(repoPath('fixtures/lab/lab.raw.log'), 'latin1').split('\n')
    writeFileSync(path, lines.map((l, i) => (i % 37 === 0 ? `${l}\nnot a log line ${i}` : l)).join('\n'), 'latin1')
    const summary = await same(path, { output: 'json' }, 4096)
    assert.match(summary, /[1-9]\d* unparseable/)
  })

  it('a line longer than the bound is skipped and counted, across blocks', async () => {
    const path = join(tmp, 'long-line.log')
    const text = readFileSync(repoPath('fixtures/lab/lab.vxid.log'), 'latin1')
    const at = text.indexOf('\n\n', text.length >> 1) + 2
    writeFileSync(path, text.slice(0, at) + 'x'.repeat(1536 * 1024) + '\n' + text.slice(at), 'latin1')
    const summary = await same(path, { output: 'json' }, 2560 * 1024)
    assert.match(summary, /, 1 too long\)/)
    // Longer than half a block, after a blank line: only it is passed over (before, the cut, moved back before the
    // blank line, passed over both: one line and one blank line fewer than one thread counts).
    const after = join(tmp, 'long-line-after-blank.log')
    writeFileSync(after, text.slice(0, at) + 'x'.repeat(600 * 1024) + '\n' + text.slice(at), 'latin1')
    for (const block of [786432, 700000]) assert.match(await same(after, { output: 'json' }, block), /, 1 too long\)/)
  })

  it('with the default blocks, a line is too long at the same length as for one thread', async () => {
    // Just over the bound (one thread's), and well under it: both readers count the first and keep the second.
    const text = readFileSync(repoPath('fixtures/lab/lab.vxid.log'), 'latin1')
    const at = text.indexOf('\n\n', text.length >> 1) + 2
    for (const [len, tooLong] of [[DEFAULT_MAX_LINE + 1, 1], [DEFAULT_MAX_LINE - 1024, 0]]) {
      const path = join(tmp, `line-${len}.log`)
      writeFileSync(path, text.slice(0, at) + 'x'.repeat(len) + '\n' + text.slice(at), 'latin1')
      const summary = await same(path, { output: 'json' }, DEFAULT_BLOCK)
      assert.match(summary, new RegExp(`, ${tooLong} too long\\)`), `a line of ${len} bytes`)
    }
  })

  it('is not used where it cannot be: statistics, -k, a forced --input-format, small files', async () => {
    const path = repoPath('fixtures/lab/lab.raw.log')
    // Each of these gives the sequential result even with tiny blocks (and -k stops at 3).
    const par = { threads: 2, parallel: { minBytes: 0, blockBytes: 4096 } }
    for (const o of [{ stats: 'only' as const }, { limit: 3 }, { inputFormat: 'raw' as const }]) {
      const a = await runFile(path, { ...o, threads: 1 })
      const b = await runFile(path, { ...o, ...par })
      assert.ok(a.stdout.equals(b.stdout), JSON.stringify(o))
    }
    const small = await runFile(path, { threads: 2, parallel: { minBytes: 1 << 30, blockBytes: 4096 } })
    assert.match(small.stderr, /layout raw/)
  })

  it('a closed pipe (| head -1) on a large file ends quietly with 0', () => {
    const path = join(tmp, 'big.log')
    const one = readFileSync(repoPath('fixtures/lab/lab.vxid.log'))
    writeFileSync(path, Buffer.concat(Array(90).fill(one))) // 36 MB: over the 32 MB threshold
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" --json "${path}" | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' })
    assert.equal(JSON.parse(r.stdout).side, 'client')
    assert.match(r.stderr, /^status=0\n$/)
    const full = spawnSync(process.execPath, [CLI, '--summary', '--stats-json', path], { encoding: 'utf8' })
    const threads = spawnSync(process.execPath, [CLI, '--summary', '--threads', '2', '--json', path], { encoding: 'utf8', maxBuffer: 1 << 30 })
    assert.equal(threads.status, 0)
    // Nothing on stderr but the summary (no warning from Node either).
    assert.match(threads.stderr, /^vlogdump: \d+ lines, [^\n]*\n$/)
    // The same number of records as the sequential statistics count.
    assert.equal(threads.stdout.split("\n").length - 1, JSON.parse(full.stdout).records.shown)
  })

  it('Ctrl-C while two threads read a large file to a file: the run stops within a few blocks, exit 130', async () => {
    const path = join(tmp, 'sigint.log')
    const one = readFileSync(repoPath('fixtures/lab/lab.vxid.log'))
    const copies = 180 // 72 MB
    writeFileSync(path, Buffer.concat(Array(copies).fill(one)))
    const size = copies * one.length
    const total = copies * one.toString('latin1').split('\n').length - copies + 1
    // A filter that matches nothing: the main thread, which also reads and merges, is then the busier one and may
    // never wait for the worker; stdout to a file completes its writes at once.
    const out = openSync(join(tmp, 'sigint.out'), 'w')
    const child = spawn(process.execPath, [CLI, '--summary', '--threads', '2', '--status', '599', path], { stdio: ['ignore', out, 'pipe'] })
    closeSync(out)
    let err = ''
    child.stderr!.on('data', (d) => (err += d))
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    let at = -1
    for (let i = 0; i < 5000 && (at = readOffset(child.pid!, path)) < 4 << 20; i++) await new Promise((r) => setTimeout(r, 1))
    child.kill('SIGINT')
    assert.equal(await closed, 130)
    const read = Number(/^vlogdump: (\d+) lines, .*interrupted/m.exec(err)?.[1])
    assert.ok(at >= 4 << 20 && at < size / 2, `Ctrl-C at ${at} of ${size} bytes`)
    // Read on for no more than a few blocks (1 MiB each) after it: up to 8 taken between turns of the event loop,
    // 8 the main thread ran ahead, 3 a worker has.
    assert.ok((read / total) * size < at + (24 << 20), `${read} of ${total} lines read, Ctrl-C at ${at} of ${size} bytes: ${err}`)
  })

  it('a file whose read fails with blocks out: none of its results is taken for the next file', async () => {
    // The workers still run the first file's blocks when its read fails, and send their results after; blocks are
    // numbered on from one read to the next, so that the next file's read passes them over.
    const a = join(tmp, 'fails.log')
    const b = join(tmp, 'after.log')
    writeFileSync(a, Buffer.concat(Array(12).fill(readFileSync(repoPath('fixtures/lab/lab.raw.log')))))
    writeFileSync(b, Buffer.concat(Array(8).fill(readFileSync(repoPath('fixtures/lab/lab.vxid.log')))))
    // Blocks of 256 KiB (22 of the first file): the worker is still at them while the failed read closes its file.
    const opts: Partial<RunSettings> = { output: 'json', threads: 2, parallel: { minBytes: 0, blockBytes: 262144 } }
    const alone = { a: (await runFile(a, opts)).stdout.toString(), b: (await runFile(b, opts)).stdout.toString() }
    const inode = statSync(a).ino
    const real = fs.readSync
    for (const failAt of [4, 9, 15]) {
      let calls = 0
      fs.readSync = ((fd: number, ...rest: unknown[]) => {
        if (fstatSync(fd).ino === inode && ++calls > failAt) throw Object.assign(new Error('input/output error'), { code: 'EIO' })
        return (real as (...args: unknown[]) => number)(fd, ...rest)
      }) as typeof fs.readSync
      syncBuiltinESMExports()
      const stdout = new Sink()
      const stderr = new Sink()
      let code = -1
      try {
        code = await run({ ...DEFAULTS, ...opts }, { inputs: [a, b].map((path) => ({ name: path, path })), stdout, stderr })
      } finally {
        fs.readSync = real
        syncBuiltinESMExports()
      }
      const out = Buffer.concat(stdout.chunks).toString()
      assert.equal(stderr.text, `vlogdump: cannot read ${a}: input/output error\n`, `failing at read ${failAt}`)
      assert.equal(code, 2)
      // What the first file's blocks taken before the failure completed, then the second file's records, whole.
      assert.ok(out.endsWith(alone.b), `failing at read ${failAt}: the second file's records differ`)
      const before = out.slice(0, out.length - alone.b.length)
      assert.ok(alone.a.startsWith(before), `failing at read ${failAt}: ${before.length} bytes before`)
    }
  })

  it('mutated captures (truncated, bytes flipped, lines dropped or doubled): every line accounted for, as sequentially', async () => {
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('drop-line' as const), line: fc.nat() }),
      fc.record({ kind: fc.constant('dup-line' as const), line: fc.nat() }),
    )
    const texts = ['fixtures/lab/lab.raw.log', 'fixtures/lab/lab.vxid.log', 'fixtures/lab/lab.session.log'].map((f) => readFileSync(repoPath(f), 'latin1'))
    const path = join(tmp, 'mutated.log')
    await fc.assert(
      fc.asyncProperty(fc.nat(texts.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (which, ms) => {
        writeFileSync(path, mutate(texts[which], ms), 'latin1')
        const seq = await runFile(path, { output: 'json', threads: 1 })
        const par = await runFile(path, { output: 'json', threads: 2, parallel: { minBytes: 0, blockBytes: 4096 } })
        assert.ok(par.code === 0 || par.code === 1, par.stderr)
        // The same lines read; the same number of lines in records and skipped (which of them a mutation turned
        // into an evicted record may be decided at a block end).
        const lines = (e: string): string => /^vlogdump: (\d+) lines/.exec(e)?.[1] ?? e
        assert.equal(lines(par.stderr), lines(seq.stderr))
        for (const l of par.stdout.toString('utf8').split('\n').filter((x) => x !== '')) JSON.parse(l)
      }),
      { numRuns: 40, seed: 7 },
    )
  })

  it('binary files: appended to each other, and with records larger than a block, as sequentially', async () => {
    const a = readFileSync(repoPath('fixtures/lab/lab.vsl'))
    const b = readFileSync(repoPath('fixtures/varnish-8.0/lab.vsl'))
    const both = join(tmp, 'both.vsl')
    writeFileSync(both, Buffer.concat([a, b, a]))
    const summary = await same(both, { output: 'json' }, 4096)
    assert.match(summary, / 0 unparseable, 0 too long\); layout binary VSL, binary VSL2\n$/)
    // A record of 6000 bytes (vsl_reclen raised) in the middle: over a block of 4096, counted as too long. (Of vxid
    // 0, which makes no record: one thread reads it, and one of a transaction's vxid would be printed.)
    const big = Buffer.alloc(8 + 6000)
    big.writeUInt32LE(((72 << 24) | 6000) >>> 0, 0)
    big.writeUInt32LE(((1 << 30) | 0) >>> 0, 4)
    big.fill(0x61, 8, 8 + 5999)
    const at = 4 + 40_000 - (40_000 % 4)
    const path = join(tmp, 'big-record.vsl')
    // At a record boundary: walk to the first one after `at`.
    let p = 4
    while (p < at) p += 8 + (((a.readUInt32LE(p) & 0xffff) + 3) & ~3)
    writeFileSync(path, Buffer.concat([a.subarray(0, p), big, a.subarray(p)]))
    const seq = await runFile(path, { output: 'json', threads: 1 })
    const par = await runFile(path, { output: 'json', threads: 2, parallel: { minBytes: 0, blockBytes: 4096 } })
    assert.match(par.stderr, /, 1 too long\)/)
    assert.match(seq.stderr, /, 0 too long\)/)
    assert.ok(par.stdout.equals(seq.stdout))
  })

  it('damaged binary files are cut where the sequential reader finds records, so nothing is lost at a block end', async () => {
    const starts = (b: Buffer): number[] => {
      const out: number[] = []
      for (let p = 4; p + 8 <= b.length; p += 8 + (((b.readUInt32LE(p) & 0xffff) + 3) & ~3)) out.push(p)
      return out
    }
    // A zero tag two records before the first cut of 1 MiB blocks: the resync must not stop at the block's end.
    const a = readFileSync(repoPath('fixtures/varnish-7.1/small.vsl'))
    const big = Buffer.concat([a, a.subarray(4), a.subarray(4)])
    const at = starts(big)
    const i = at.findIndex((p, k) => at[k + 1] > DEFAULT_BLOCK)
    const zeroTag = Buffer.from(big)
    zeroTag[at[i - 2] + 3] = 0
    // A length 4 bytes too long: reading by lengths alone would cut every later block off record boundaries.
    const lab = readFileSync(repoPath('fixtures/lab/lab.vsl'))
    const longer = Buffer.from(lab)
    const r10 = starts(lab)[10]
    longer.writeUInt32LE(longer.readUInt32LE(r10) + 4, r10)
    for (const [name, bytes, block] of [['zero-tag.vsl', zeroTag, DEFAULT_BLOCK], ['longer.vsl', longer, 65536]] as const) {
      const path = join(tmp, name)
      writeFileSync(path, bytes)
      const summary = await same(path, { output: 'json' }, block)
      assert.match(summary, /skipped, not records/, name)
    }
  })

  it('mutated binary files (bytes flipped, cut short): no crash, read as sequentially', async () => {
    // Blocks of 256 KiB over 2.4 MB: resyncing after damage needs up to three records' worth of bytes (a damaged
    // length may claim 64 KiB), which blocks far smaller than that cannot give (then a cut may differ).
    const a = readFileSync(repoPath('fixtures/varnish-7.1/small.vsl'))
    const bytes = Buffer.concat([a, a.subarray(4), a.subarray(4)])
    const path = join(tmp, 'mutated.vsl')
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(bytes.length), async (flips, cut) => {
        const b = Buffer.from(bytes.subarray(0, Math.max(4, cut)))
        for (const [at, v] of flips) if (at >= 4 && at < b.length) b[at] = v
        writeFileSync(path, b)
        // Also with --slow 0, whose blocks keep records as positions and read Timestamps from their bytes.
        for (const filters of [NO_FILTERS, { ...NO_FILTERS, slow: 0 }]) {
          const seq = await runFile(path, { output: 'json', threads: 1, filters })
          const par = await runFile(path, { output: 'json', threads: 2, filters, parallel: { minBytes: 0, blockBytes: 256 * 1024 } })
          assert.ok(par.code === 0 || par.code === 1, par.stderr)
          // Blocks are cut where the sequential reader finds records: the same records and bad bytes are read (which
          // transactions damage turned into evicted records — a vxid reused — may be decided at a block end).
          const lines = (e: string): string => /(\d+) lines, .* (\d+) unparseable/.exec(e)?.slice(1).join(' ') ?? e
          assert.equal(lines(par.stderr), lines(seq.stderr))
          const warning = (e: string): string => e.split('\n').filter((l) => /skipped, not records/.test(l)).join('\n')
          assert.equal(warning(par.stderr).replace(/; it ends inside a record.*/, ''), warning(seq.stderr).replace(/; it ends inside a record.*/, ''))
          for (const l of par.stdout.toString('utf8').split('\n').filter((x) => x !== '')) JSON.parse(l)
        }
      }),
      { numRuns: 40, seed: 11 },
    )
  })

  it('mutated binary files, one capture (no vxid again): the same output and summary as one thread', async () => {
    // Blocks of 64 and 128 KiB. A block that does not start inside damage the walker was resyncing reads its first
    // record as the sequential reader does there, trusting it (before, it was checked as one after damage, and a
    // block could skip as bad bytes what one thread read as records: 20-36 bytes, and 1000 lines more or fewer).
    // A SessClose of a session the block did not see begin is handed on: one thread may hold that session's
    // records as a transaction (its Begin lost to damage), which the block cannot know.
    const a = readFileSync(repoPath('fixtures/varnish-7.1/small.vsl'))
    const path = join(tmp, 'mutated-one.vsl')
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(a.length - 5), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), async (flips) => {
        const b = Buffer.from(a)
        for (const [at, v] of flips) b[4 + at] = v
        writeFileSync(path, b)
        for (const block of [65536, 131072]) await same(path, { output: 'json' }, block)
      }),
      { numRuns: 60, seed: 5 },
    )
  })

  it('--threads takes a whole number from 0 to 64', () => {
    const r = spawnSync(process.execPath, [CLI, '--threads', '-1', repoPath('fixtures/cases/hit.log')], { encoding: 'utf8' })
    assert.equal(r.status, 2)
    assert.equal(r.stderr, "vlogdump: --threads: expected a whole number from 0 to 64, got '-1'\n")
  })
})
