// Grouping: transactions joined by vxid whatever the order they are printed in, emitted as soon as complete,
// bounded by -L and -T, and nothing lost (eof, overflow, timeout, reuse, varnishlog's forced ends).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { Grouper, PositionLog, type GrouperOptions } from '../src/group/grouper.js'
import { parseLine } from '../src/parse/line.js'
import type { IncompleteReason, Transaction } from '../src/vsl/types.js'
import { lines, recordsOf, repoPath } from './support.js'

/** A raw-layout line: `%10u %-14s %c %s`. */
function raw(vxid: number, tag: string, data = ''): string {
  const side = tag === 'Begin' ? (data.startsWith('bereq') ? 'b' : 'c') : 'c'
  return `${String(vxid).padStart(10)} ${tag.padEnd(14)} ${side} ${data}`
}

function req(vxid: number, parent: number, reason: string, url: string, t: number, extra: string[] = []): string[] {
  return [
    raw(vxid, 'Begin', `req ${parent} ${reason}`),
    raw(vxid, 'Timestamp', `Start: ${t.toFixed(6)} 0.000000 0.000000`),
    raw(vxid, 'ReqStart', '192.0.2.1 5000 a0'),
    raw(vxid, 'ReqMethod', 'GET'),
    raw(vxid, 'ReqURL', url),
    raw(vxid, 'ReqProtocol', 'HTTP/1.1'),
    ...extra,
    raw(vxid, 'RespStatus', '200'),
    raw(vxid, 'Timestamp', `Resp: ${(t + 0.001).toFixed(6)} 0.001000 0.001000`),
    raw(vxid, 'End'),
  ]
}

function bereq(vxid: number, parent: number, reason: string, t: number): string[] {
  return [
    raw(vxid, 'Begin', `bereq ${parent} ${reason}`),
    raw(vxid, 'Timestamp', `Start: ${t.toFixed(6)} 0.000000 0.000000`),
    raw(vxid, 'BereqURL', '/x'),
    raw(vxid, 'BerespStatus', '200'),
    raw(vxid, 'End'),
  ]
}

/** A tree as text: each transaction's vxid, its children in brackets. */
function treeShape(tx: Transaction): string {
  return `${tx.vxid}[${tx.children.map(treeShape).join(',')}]`
}

/** Feeds lines to a Grouper directly; returns what it emitted, in order. */
function group(input: string[], opts: GrouperOptions = { maxPending: 100, timeout: 0 }): Array<{ vxid: number; incomplete: IncompleteReason | null; tree: Transaction }> {
  const out: Array<{ vxid: number; incomplete: IncompleteReason | null; tree: Transaction }> = []
  const g = new Grouper(opts, (tree, incomplete) => out.push({ vxid: tree.vxid, incomplete, tree }))
  for (const l of input) g.push(parseLine(l))
  g.flush('eof')
  return out
}

/** A vxid-layout transaction: header, `-   Tag data` records, blank line. */
function vxidTx(vxid: number, kind: 'Request' | 'BeReq', rawLines: string[]): string[] {
  const recs = rawLines.map((l) => {
    const m = /^ *\d+ (\S+) +[cb-] (.*)$/.exec(l)!
    return `-   ${m[1].padEnd(14)} ${m[2]}`
  })
  return [`*   << ${kind.padEnd(8)} >> ${vxid}`, ...recs, '']
}

describe('Grouper', () => {
  it('Varnish 6.0 ends an h2 session twice (-g raw): what follows the first End is the session\'s, not a record', () => {
    const sess = (d: string): string => `${'7'.padStart(10)} ${d}`
    const input = [
      sess('Begin          c sess 0 HTTP/1'),
      sess('SessOpen       c 192.0.2.1 5000 a0 192.0.2.2 80 10.000000 25'),
      sess('Link           c req 8 rxreq'),
      ...req(8, 7, 'rxreq', '/a', 10),
      sess('ReqAcct        c 81 8 89 315 16 331'),
      sess('End            c '),
      sess('SessClose      c REM_CLOSE 0.015'),
      sess('End            c '),
    ]
    const out = group(input)
    assert.deepEqual(out.map((o) => [o.vxid, o.incomplete]), [[8, null]])
  })

  it('-g vxid of Varnish 7.2 and later (no -E): a request whose ESI subrequests are not in the input is complete at its End', () => {
    const parent = req(2, 1, 'rxreq', '/esi', 10, [raw(2, 'Link', 'bereq 3 fetch'), raw(2, 'Link', 'req 4 esi 1')])
    const input = [...vxidTx(3, 'BeReq', bereq(3, 2, 'fetch', 10)), ...vxidTx(2, 'Request', parent), ...vxidTx(9, 'Request', req(9, 1, 'rxreq', '/b', 11))]
    const out: Array<[number, IncompleteReason | null, number[]]> = []
    const g = new Grouper({ maxPending: 100, timeout: 0 }, (tree, inc) => out.push([tree.vxid, inc, tree.children.map((c) => c.vxid)]))
    g.vxidLayout = true
    for (const l of input) g.push(parseLine(l))
    // Emitted at its End, before the next request is read; not held for a subrequest that never comes.
    assert.deepEqual(out, [[2, null, [3]], [9, null, []]])
    g.flush('eof')
    assert.equal(out.length, 2)
  })

  it('-g request: ESI subrequests printed after their parent, breadth first, are still joined', async () => {
    const recs = await recordsOf([{ file: 'fixtures/cases/esi.log' }])
    assert.equal(recs.length, 1)
    assert.equal(recs[0].incomplete, null)
    assert.deepEqual(recs[0].esi.map((e) => [e.vxid, e.esi.map((n) => n.vxid)]), [[65550, []], [65552, [65554]], [65556, []]])
  })

  it('-g raw: an ESI subrequest not read by its parent\'s End is not in the input', () => {
    const parent = req(2, 1, 'rxreq', '/esi', 10, [raw(2, 'Link', 'req 4 esi 1')])
    const out = group([...parent, ...req(9, 1, 'rxreq', '/b', 11)])
    assert.deepEqual(out.map((o) => [o.vxid, o.incomplete]), [[2, null], [9, null]])
  })

  it('joins a backend fetch printed before its request (-g vxid order)', async () => {
    const input = [...bereq(3, 2, 'fetch', 10), ...req(2, 1, 'rxreq', '/a', 10, [raw(2, 'Link', 'bereq 3 fetch')])]
    const out = group(input)
    assert.deepEqual(out.map((o) => [o.vxid, o.incomplete]), [[2, null]])
    assert.deepEqual(out[0].tree.children.map((c) => c.vxid), [3])
  })

  it('joins interleaved transactions (-g raw)', () => {
    const a = req(2, 1, 'rxreq', '/a', 10, [raw(2, 'Link', 'bereq 3 fetch')])
    const b = bereq(3, 2, 'fetch', 10)
    const c = req(5, 4, 'rxreq', '/c', 10)
    // a's first half, all of b, c interleaved, then a's end
    const input = [...a.slice(0, 7), ...b.slice(0, 2), ...c.slice(0, 3), ...b.slice(2), ...c.slice(3), ...a.slice(7)]
    const out = group(input)
    assert.deepEqual(out.map((o) => o.vxid), [5, 2], 'each emitted as soon as complete')
    assert.equal(out[1].tree.children[0].vxid, 3)
  })

  it('emits a request as soon as it and its children end, without waiting for the session', () => {
    const input = [
      raw(1, 'Begin', 'sess 0 HTTP/1'),
      raw(1, 'SessOpen', '192.0.2.9 4000 a0 127.0.0.1 80 10.0 20'),
      raw(1, 'Link', 'req 2 rxreq'),
      ...req(2, 1, 'rxreq', '/a', 10),
    ]
    const out: number[] = []
    const g = new Grouper({ maxPending: 100, timeout: 0 }, (t) => out.push(t.vxid))
    for (const l of input) g.push(parseLine(l))
    assert.deepEqual(out, [2], 'emitted before the session ended and before flush')
  })

  it('nests ESI children to any depth, in any order', () => {
    const input = [
      ...req(31, 30, 'esi', '/leaf', 10),
      ...req(30, 28, 'esi', '/nested', 10, [raw(30, 'Link', 'req 31 esi')]),
      ...req(29, 28, 'esi', '/header', 10),
      ...req(28, 27, 'rxreq', '/page', 10, [raw(28, 'Link', 'req 29 esi'), raw(28, 'Link', 'req 30 esi')]),
    ]
    const out = group(input)
    assert.equal(out.length, 1)
    const t = out[0].tree
    assert.deepEqual(t.children.map((c) => c.vxid), [29, 30])
    assert.deepEqual(t.children[1].children.map((c) => c.vxid), [31])
  })

  it('makes a restart chain one tree under its first request', async () => {
    const input = [
      ...req(2, 1, 'rxreq', '/old', 10, [raw(2, 'VCL_return', 'restart'), raw(2, 'Link', 'req 3 restart')]),
      ...req(3, 2, 'restart', '/new', 10, [raw(3, 'VCL_call', 'HIT')]),
    ]
    const recs = await recordsOf([lines(...input)])
    assert.equal(recs.length, 1)
    assert.equal(recs[0].vxid, 3, 'the record speaks for the final request, as varnishncsa does')
    assert.equal(recs[0].restarts, 1)
    assert.deepEqual(recs[0].restarted_vxids, [2])
    assert.equal(recs[0].request.url, '/new')
    assert.equal(recs[0].handling, 'hit')
  })

  it('emits a transaction whose parent never appears (varnishlog -b) as a backend record', async () => {
    const recs = await recordsOf([lines(...bereq(3, 2, 'fetch', 10), ...bereq(5, 4, 'pass', 10))])
    assert.deepEqual(recs.map((r) => [r.vxid, r.side, r.reason, r.incomplete]), [
      [3, 'backend', 'fetch', null],
      [5, 'backend', 'pass', null],
    ])
  })

  it('emits an orphan ESI request on its own', async () => {
    const recs = await recordsOf([lines(...req(30, 28, 'esi', '/frag', 10))])
    assert.deepEqual(recs.map((r) => [r.vxid, r.side, r.reason, r.parent]), [[30, 'client', 'esi', 28]])
  })

  it('marks what is unfinished at the end of input as incomplete: eof', async () => {
    const r = req(2, 1, 'rxreq', '/a', 10)
    const recs = await recordsOf([lines(...r.slice(0, 5))])
    assert.deepEqual(recs.map((x) => [x.vxid, x.incomplete, x.request.url]), [[2, 'eof', '/a']])
  })

  it('marks a request whose child never came as incomplete', async () => {
    const recs = await recordsOf([lines(...req(2, 1, 'rxreq', '/a', 10, [raw(2, 'Link', 'bereq 3 fetch')]))])
    assert.deepEqual(recs.map((x) => [x.vxid, x.incomplete]), [[2, 'eof']])
  })

  it('evicts the oldest pending transaction past -L as incomplete: overflow', () => {
    const input: string[] = []
    for (let v = 10; v < 20; v++) input.push(raw(v, 'Begin', `req 1 rxreq`))
    const out = group(input, { maxPending: 3, timeout: 0 })
    assert.deepEqual(
      out.map((o) => [o.vxid, o.incomplete]),
      [10, 11, 12, 13, 14, 15, 16].map((v) => [v, 'overflow']).concat([17, 18, 19].map((v) => [v, 'eof'])),
    )
  })

  it('-L 1, a fetch that begins after its parent\'s Link: no record goes to a transaction already emitted', () => {
    const parent = req(1, 0, 'rxreq', '/a', 10, [raw(1, 'Link', 'bereq 2 fetch')])
    assert.match(parent[6], /Link/)
    const input = [...parent.slice(0, 7), ...bereq(2, 1, 'fetch', 10), ...parent.slice(7)]
    const trees: Transaction[] = []
    const count = (tx: Transaction): number => tx.tags.length + tx.children.reduce((n, c) => n + count(c), 0)
    let atEmit = 0
    const g = new Grouper({ maxPending: 1, timeout: 0 }, (tree) => {
      trees.push(tree)
      atEmit += count(tree)
    })
    for (const l of input) g.push(parseLine(l))
    g.flush('eof')
    // Each record was in its tree when the tree was emitted, and nothing was added to a tree after.
    assert.equal(atEmit, input.length)
    assert.equal(trees.reduce((n, t) => n + count(t), 0), input.length)
  })

  it('never keeps more than -L transactions', () => {
    let max = 0
    const g = new Grouper({ maxPending: 50, timeout: 0 }, () => {})
    for (let v = 1; v < 5000; v++) {
      g.push(parseLine(raw(v, 'Begin', 'req 0 rxreq')))
      g.push(parseLine(raw(v, 'ReqURL', '/x')))
      max = Math.max(max, g.pendingCount)
    }
    assert.equal(max, 50)
  })

  it('evicts a transaction that waited longer than -T (log time) as incomplete: timeout', () => {
    const stuck = [raw(2, 'Begin', 'req 1 rxreq'), raw(2, 'Timestamp', 'Start: 100.000000 0.000000 0.000000')]
    const later = req(4, 3, 'rxreq', '/b', 100 + 200)
    const out = group([...stuck, ...later], { maxPending: 100, timeout: 120 })
    assert.deepEqual(out.map((o) => [o.vxid, o.incomplete]), [[2, 'timeout'], [4, null]])
  })

  it('-T: a Timestamp cut short (decades back) does not time out its transaction, at the start or later', () => {
    // Its Start cut to `Start: 17954` (1970): at the start of the input, the next Timestamp of its own moved log
    // time on by 56 years, and it timed itself out; later, its time stood decades before the log time, and the next
    // step of log time (another transaction's) timed it out. A block of the parallel reader evicts nothing: it read
    // the transaction whole, so one thread and two differed (found by cutting lines of lab.session.log at random).
    const cut = (vxid: number, t: number): string[] => req(vxid, 1, 'rxreq', `/${vxid}`, t).map((l) => (/Timestamp +c Start/.test(l) ? raw(vxid, 'Timestamp', 'Start: 17954') : l))
    const first = [...cut(2, 1795461618), ...req(4, 3, 'rxreq', '/b', 1795461619)]
    assert.deepEqual(group(first, { maxPending: 100, timeout: 120 }).map((o) => [o.vxid, o.incomplete]), [[2, null], [4, null]])
    // Interleaved (-g raw, binary), another transaction's Timestamp the first real one: the log time before it
    // (1970) was none, and what was seen then is as if seen at it.
    const [a, b] = [cut(2, 1795461618), req(4, 3, 'rxreq', '/b', 1795461619)]
    const mixed = [...a.slice(0, 3), ...b, ...a.slice(3), ...req(6, 5, 'rxreq', '/c', 1795461620)]
    assert.deepEqual(group(mixed, { maxPending: 100, timeout: 120 }).map((o) => [o.vxid, o.incomplete]), [[4, null], [2, null], [6, null]])
    const later = cut(6, 1795461620).slice(0, -1) // its End after the next step
    const input = [...req(2, 1, 'rxreq', '/a', 1795461618), ...later, ...req(4, 3, 'rxreq', '/b', 1795461622), raw(6, 'End')]
    assert.deepEqual(group(input, { maxPending: 100, timeout: 120 }).map((o) => [o.vxid, o.incomplete]), [[2, null], [4, null], [6, null]])
  })

  it('-T: a transaction is not timed out by the step of log time its own Timestamp makes (a fetch longer than -T)', () => {
    // Its records come together (a group, or one flush of Varnish's buffer): it is not waiting, and a block of the
    // parallel reader, which evicts nothing, reads it whole. Before, one thread evicted it mid-group.
    const slow = [
      raw(2, 'Begin', 'bereq 1 fetch'),
      raw(2, 'Timestamp', 'Start: 100.000000 0.000000 0.000000'),
      raw(2, 'Timestamp', 'Beresp: 300.000000 200.000000 200.000000'),
      raw(2, 'BerespStatus', '200'),
      raw(2, 'End'),
    ]
    assert.deepEqual(group(slow, { maxPending: 100, timeout: 120 }).map((o) => [o.vxid, o.incomplete]), [[2, null]])
  })

  it('keeps a transaction within -T', () => {
    const stuck = [raw(2, 'Begin', 'req 1 rxreq'), raw(2, 'Timestamp', 'Start: 100.000000 0.000000 0.000000')]
    const out = group([...stuck, ...req(4, 3, 'rxreq', '/b', 150)], { maxPending: 100, timeout: 120 })
    assert.deepEqual(out.map((o) => [o.vxid, o.incomplete]), [[4, null], [2, 'eof']])
  })

  it("reports varnishlog's forced completion (VSL store overflow) with its reason", async () => {
    const input = [
      '*   << Request  >> 7         ',
      '-   Begin          req 6 rxreq',
      '-   ReqURL         /test/1',
      '-   VSL            store overflow',
      '-   End            synth',
    ]
    const recs = await recordsOf([lines(...input)])
    assert.deepEqual(recs.map((r) => [r.vxid, r.incomplete, r.request.url]), [[7, 'overflow', '/test/1']])
  })

  it('reports a vxid that begins again (varnishd restarted) instead of mixing two requests', () => {
    const input = [raw(2, 'Begin', 'req 1 rxreq'), raw(2, 'ReqURL', '/first'), ...req(2, 1, 'rxreq', '/second', 10)]
    const out = group(input)
    assert.deepEqual(out.map((o) => [o.vxid, o.incomplete]), [[2, 'reused'], [2, null]])
    assert.equal(out[0].tree.data[1], '/first')
  })

  it('appends continuation lines (a record with a newline) to the record before', async () => {
    const input = [
      '*   << Request  >> 7         ',
      '-   Begin          req 6 rxreq',
      '-   VCL_Log        first line',
      'second line',
      '-   End            ',
    ]
    const recs = await recordsOf([lines(...input)])
    assert.deepEqual(recs[0].vcl_log, ['first line\nsecond line'])
  })

  it('uses the session address when the request has no ReqStart', async () => {
    const input = [
      raw(1, 'Begin', 'sess 0 PROXY'),
      raw(1, 'SessOpen', '127.0.0.1 4000 a1 127.0.0.1 80 10.0 20'),
      raw(1, 'Proxy', '2 2001:db8::7 40008 2001:db8::1 443'),
      raw(2, 'Begin', 'req 1 rxreq'),
      raw(2, 'HttpGarbage', '"GARBAGE"'),
      raw(2, 'RespStatus', '400'),
      raw(2, 'End'),
    ]
    const recs = await recordsOf([lines(...input)])
    assert.deepEqual(recs[0].client, { ip: '2001:db8::7', port: 40008 })
  })

  it('counts every line: in a transaction, or skipped by kind', () => {
    const g = new Grouper({ maxPending: 100, timeout: 0 }, () => {})
    const input = [
      raw(1, 'Begin', 'sess 0 HTTP/1'),
      raw(0, 'CLI', 'Rd ping'),
      ...req(2, 1, 'rxreq', '/a', 10),
      '',
      'Log overrun',
      raw(1, 'End'),
    ]
    for (const l of input) g.push(parseLine(l))
    assert.deepEqual(g.counts, { tx: 9, session: 2, nontx: 1, blank: 1, noise: 1, bad: 0 })
  })

  it('a group whose header was lost: its lines are counted unparseable, not read into the group before it', () => {
    // A transaction's End, and a session's, end their group: record lines after it that no header of their own
    // starts are of no transaction known. Before, they went to the transaction or session before them: a second
    // Begin there emitted that transaction (an ESI child) on its own, out of its parent's tree, and a session
    // counted a request's lines as its own. Cases from a differential test with lines deleted at random.
    const cases = [
      // -g vxid: the ESI child 65568's header, after its sibling 65566's group.
      { file: 'fixtures/lab/lab.vxid.log', header: '*   << Request  >> 65568', layout: true },
      // -g vxid: a request's header, after a session's group.
      { file: 'fixtures/lab/lab.vxid.log', header: '*   << Request  >> 229420', layout: true },
      // -g request: a backend fetch's header, after its request's End.
      { file: 'fixtures/lab/lab.request.log', header: '**  << BeReq    >> 65542', layout: false },
    ]
    for (const { file, header, layout } of cases) {
      const all = readFileSync(repoPath(file), 'latin1').split('\n')
      const at = all.findIndex((l) => l.trimEnd() === header)
      assert.ok(at > 0, header)
      let lost = 0
      while (all[at + 1 + lost].trim() !== '' && !all[at + 1 + lost].includes('<<')) lost++
      const run = (input: string[]): { roots: Map<number, string>; counts: Grouper['counts'] } => {
        const roots = new Map<number, string>()
        const g = new Grouper({ maxPending: 1000, timeout: 0 }, (tree) => roots.set(tree.vxid, treeShape(tree)))
        g.vxidLayout = layout
        for (const l of input) g.push(parseLine(l))
        g.flush('eof')
        return { roots, counts: { ...g.counts } }
      }
      const whole = run(all)
      const cut = run(all.filter((_, i) => i !== at))
      assert.equal(cut.counts.bad, whole.counts.bad + lost, header)
      assert.equal(cut.counts.session, whole.counts.session, header)
      // The same trees, less the one whose header was lost (a root, or a child of one).
      const lostVxid = +header.split('>>')[1]
      for (const [vxid, shape] of whole.roots) {
        if (vxid === lostVxid) continue
        assert.equal(cut.roots.get(vxid), shape.replace(new RegExp(`,?${lostVxid}(\\[\\])?`), '').replace('[,', '['), `${header}: tree of ${vxid}`)
      }
      assert.equal(cut.roots.size, whole.roots.size - (whole.roots.has(lostVxid) ? 1 : 0), header)
    }
  })

  it('a Begin doubled inside a group is counted unparseable, and the group is read on', () => {
    // (In the raw layout a Begin names its vxid, and one that begins again is another run's: evicted as reused.)
    const file = readFileSync(repoPath('fixtures/lab/lab.request.log'), 'latin1').split('\n')
    const at = file.findIndex((l) => l.startsWith('--  Begin          bereq'))
    const shapes = (input: string[]): { roots: string[]; bad: number } => {
      const roots: string[] = []
      const g = new Grouper({ maxPending: 1000, timeout: 0 }, (tree, inc) => roots.push(`${treeShape(tree)} ${inc} ${tree.tags.length}`))
      for (const l of input) g.push(parseLine(l))
      g.flush('eof')
      return { roots, bad: g.counts.bad }
    }
    const whole = shapes(file)
    const doubled = shapes([...file.slice(0, at + 1), file[at], ...file.slice(at + 1)])
    assert.deepEqual(doubled.roots, whole.roots)
    assert.equal(doubled.bad, whole.bad + 1)
  })

  it('-g raw: records of a vxid before its Begin are a tail of their own, not taken into the transaction that begins', () => {
    // (A tail whose Begin was before the capture; or a line out of place. The parallel reader's block that reads the
    // Begin cannot know of a tail an earlier block read, so neither reader takes it in.)
    const out = group([raw(7, 'ReqHeader', 'X-Early: 1'), ...req(6, 1, 'rxreq', '/a', 10), ...req(7, 1, 'rxreq', '/b', 11)])
    assert.deepEqual(out.map((r) => [r.vxid, r.incomplete, r.tree.tags.join(' ')]), [
      [6, null, 'Begin Timestamp ReqStart ReqMethod ReqURL ReqProtocol RespStatus Timestamp End'],
      [7, 'reused', 'ReqHeader'],
      [7, null, 'Begin Timestamp ReqStart ReqMethod ReqURL ReqProtocol RespStatus Timestamp End'],
    ])
  })

  it('-g vxid -v: a record moved into the group before its own is a tail of its own, and its group reads whole', () => {
    const all = readFileSync(repoPath('fixtures/lab/lab.vxid-v.log'), 'latin1').split('\n')
    const header = all.findIndex((l) => l.includes('<< Request  >>   98306'))
    const url = all.findIndex((l, i) => i > header && l.includes(' 98306 ReqURL '))
    const moved = all.filter((_, i) => i !== url)
    moved.splice(header - 2, 0, all[url]) // before the End of the group before
    const records = (input: string[]): string[] => {
      const out: string[] = []
      const g = new Grouper({ maxPending: 1000, timeout: 0 }, (tree, inc) => out.push(`${tree.vxid} ${inc} ${tree.tags.length}`))
      g.vxidLayout = true
      for (const l of input) g.push(parseLine(l))
      g.flush('eof')
      return out
    }
    const whole = records(all)
    const got = records(moved)
    const at = whole.findIndex((r) => r.startsWith('98306 null '))
    assert.ok(at >= 0, whole.join(' | '))
    const n = +whole[at].split(' ')[2]
    // The tail (its ReqURL), reported at the header of its group; the group without it.
    assert.deepEqual(got, [...whole.slice(0, at), '98306 reused 1', `98306 null ${n - 1}`, ...whole.slice(at + 1)])
  })

  it('groups never span files', async () => {
    const r = req(2, 1, 'rxreq', '/a', 10)
    const recs = await recordsOf([lines(...r.slice(0, 4)), lines(...r.slice(4))])
    assert.deepEqual(recs.map((x) => [x.vxid, x.incomplete]), [[2, 'eof'], [2, 'eof']])
  })

  it('a session whose End the log never had does not swallow a request that gets its vxid again (vxids wrap)', async () => {
    const input = [
      raw(7, 'Begin', 'sess 0 HTTP/1'),
      raw(7, 'SessOpen', '127.0.0.1 4000 a1 127.0.0.1 80 10.0 20'),
      // … much later, the vxid comes round again, for a request of another session:
      raw(5, 'Begin', 'sess 0 HTTP/1'),
      raw(5, 'SessOpen', '127.0.0.2 4001 a1 127.0.0.1 80 10.0 21'),
      ...req(7, 5, 'rxreq', '/again', 10),
      raw(5, 'End'),
    ]
    const recs = await recordsOf([lines(...input)])
    assert.deepEqual(recs.map((r) => [r.vxid, r.request.url, r.incomplete]), [[7, '/again', null]])
  })

  it('a new session under the vxid of one whose End the log never had is a new session (its own client address)', async () => {
    const input = [
      raw(7, 'Begin', 'sess 0 HTTP/1'),
      raw(7, 'SessOpen', '192.0.2.1 4000 a1 127.0.0.1 80 10.0 20'),
      // … much later, vxid 7 is a session again, of another client, whose request has no ReqStart (garbage):
      raw(7, 'Begin', 'sess 0 HTTP/1'),
      raw(7, 'SessOpen', '198.51.100.9 5000 a1 127.0.0.1 80 10.0 21'),
      raw(8, 'Begin', 'req 7 rxreq'),
      raw(8, 'HttpGarbage', '"GARBAGE"'),
      raw(8, 'RespStatus', '400'),
      raw(8, 'End'),
    ]
    const recs = await recordsOf([lines(...input)])
    assert.deepEqual(recs[0].client, { ip: '198.51.100.9', port: 5000 })
  })
})

describe('the largest "since start" of a transaction (for --slow\'s tree test)', () => {
  it('is the largest Timestamp time read quickly, NaN once one cannot be, and NaN after a continuation of one', () => {
    const input = [
      ...req(1, 0, 'rxreq', '/a', 100, [raw(1, 'Timestamp', 'Process: 100.000500 0.250000 0.000500')]),
      ...req(2, 0, 'rxreq', '/b', 100, [raw(2, 'Timestamp', 'Process: 100.000500 1e3 0.000500')]),
      raw(3, 'Begin', 'req 0 rxreq'),
      raw(3, 'Timestamp', 'Resp: 100.5 0.5'),
      '0.7 0.1',
      raw(3, 'End'),
    ]
    const keep = { maxPending: 100, timeout: 0, slowest: true }
    const byVxid = new Map(group(input, keep).map((r) => [r.vxid, r.tree.slowest]))
    assert.equal(byVxid.get(1), 0.25)
    assert.ok(Number.isNaN(byVxid.get(2)))
    assert.ok(Number.isNaN(byVxid.get(3)))
    // No Timestamp at all: below every threshold.
    assert.equal(group([raw(4, 'Begin', 'req 0 rxreq'), raw(4, 'End')], keep)[0].tree.slowest, -1)
    // Not kept (no --slow): NaN, which --slow's test would read exactly.
    assert.ok(group(input).every((r) => Number.isNaN(r.tree.slowest)))
  })
})

describe('PositionLog (block mode: where the lines of the transactions left pending are)', () => {
  /** Lines at positions 100, 101, … of transactions whose `seen` is `seen[i]`. */
  function logOf(seen: number[]): PositionLog {
    const log = new PositionLog()
    seen.forEach((s, i) => log.push(100 + i, s))
    return log
  }

  it("collects the lines of the open transactions, in the order they were read, whatever their `seen`", () => {
    const seen = [0, 5, 0, 9, 5, 5, 12, 0, 9]
    const want = (open: number[]): number[] => seen.flatMap((s, i) => (open.includes(s) ? [100 + i] : []))
    const log = logOf(seen)
    for (const open of [[], [0], [5, 9], [12, 0], [3], [9, 5, 0, 12], [2 ** 40, 5], [0.5, 9], [-1, 12]]) {
      const got: number[] = []
      log.collect(open, got)
      assert.deepEqual(got, want(open), `open ${open}`)
    }
  })

  it('a collect leaves nothing behind for the next (its table of flags is cleared), after the log is cleared too', () => {
    const log = logOf([7, 3, 7])
    const first: number[] = []
    log.collect([7], first)
    assert.deepEqual(first, [100, 102])
    const second: number[] = []
    log.collect([3], second)
    assert.deepEqual(second, [101])
    log.clear()
    log.push(50, 7)
    log.push(51, 3)
    const third: number[] = []
    log.collect([3], third)
    assert.deepEqual(third, [51])
  })
})
