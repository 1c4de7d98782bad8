// The test of a transaction tree before its record is built (src/filter/tree.ts) may only ever say no to a tree
// whose record the filter rejects: on every version's capture, for --slow at thresholds around the records' own
// times (by total, ttfb and backend) and for queries, every record the filter keeps has a tree the tree test
// keeps. And it must say no often enough to be worth having.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { sinceStartOfBytes, sinceStartQuick, stampOfBytes, stampSeconds, stampSecondsOfBytes, type StampTimes } from '../src/vsl/fields.js'
import { sinceStart } from '../src/vsl/record.js'
import { compileFilter } from '../src/filter/filter.js'
import { compileTreeQuery, queryTimeBound } from '../src/filter/query/compile.js'
import { newTransaction } from '../src/group/transaction.js'
import { NO_FILTERS, type SlowBy } from '../src/filter/flags.js'
import { recordsInFile, recordsOf } from './support.js'

const FILES = [
  'fixtures/varnish-7.1/small.vxid.log',
  'fixtures/varnish-7.1/small.raw.log',
  'fixtures/varnish-6.0/lab.request.log',
  'fixtures/varnish-6.0/lab.backend-only.log',
  'fixtures/varnish-8.0/lab.raw.log',
]

/** Varnish 2.1/3.0 time requests with ReqEnd, not Timestamp: --slow there is decided on the record. */
const LEGACY = ['fixtures/varnish-3.0.7/varnish-3.0.7.log', 'fixtures/varnish-2.1.5/varnish-2.1.5.log']

const QUERIES = [
  'VCL_call eq "MISS" and Timestamp:Resp[2] > 0.2',
  'RespStatus >= 500 or ReqURL ~ "^/api/"',
  'not BerespStatus == 200',
  'Timestamp:Process[2] > 0.001',
  'Timestamp:Resp[2] >= 0.0005 or (Timestamp:Beresp[2] > 0.0002 and BerespStatus == 200)',
  'Timestamp:Resp[2] == 0.006014',
  '{1}Timestamp:Resp[2] > 0',
]

/** The distinct times of the records (ms), the thresholds just at and around them. */
function thresholds(times: number[]): number[] {
  const ms = [...new Set(times.map((t) => t * 1000))].sort((a, b) => a - b)
  const pick = ms.filter((_, i) => i % Math.max(1, Math.floor(ms.length / 12)) === 0)
  return [0, ...pick.flatMap((m) => [m, m + 0.001]), 1e9]
}

describe('tree test before a record is built: never rejects a record the filter keeps', () => {
  for (const file of FILES) {
    it(file, () => {
      const recs = recordsInFile(file)
      assert.ok(recs.length > 20, `${file}: records`)
      let rejected = 0
      let checked = 0
      const check = (keep: ReturnType<typeof compileFilter>): void => {
        assert.ok(keep.keep !== null && keep.keepTree !== null)
        for (const r of recs) {
          const shown = keep.keep!(r)
          const tree: boolean = keep.keepTree!(r.tree)
          if (shown) assert.ok(tree, `${file}: record ${r.vxid} is shown, but its tree was rejected`)
          // The bound a block tests before it decodes a tree's records says no only where keepTree does.
          if (keep.keepBound !== null && !keep.keepBound(r.tree)) assert.ok(!tree, `${file}: record ${r.vxid}: bound rejects, tree test keeps`)
          // What the run applies: the tree test, then the record test without what the tree test decided.
          assert.equal(tree && (keep.keepBuilt === null || keep.keepBuilt(r)), shown, `${file}: record ${r.vxid}`)
          if (!tree) rejected++
          checked++
        }
      }
      for (const by of ['total', 'ttfb', 'backend'] as SlowBy[]) {
        const times = recs.map((r) => (by === 'ttfb' ? r.timing.ttfb : by === 'backend' ? (r.backend?.timing.total ?? null) : r.timing.total))
        for (const slow of thresholds(times.filter((t): t is number => t !== null))) {
          check(compileFilter({ ...NO_FILTERS, slow, slowBy: by }, [], false))
          // A query's bound, at the records' own times: Resp's "since start" is the total.
          if (by === 'total') {
            const s = (slow / 1000).toFixed(6)
            for (const op of ['>', '>=', '==']) check(compileFilter(NO_FILTERS, [`Timestamp:Resp[2] ${op} ${s}`], false))
          }
        }
      }
      for (const q of QUERIES) check(compileFilter(NO_FILTERS, [q], false))
      check(compileFilter({ ...NO_FILTERS, slow: 200, misses: true }, [QUERIES[0]], false))
      // Worth having: most of what is rejected is rejected before a record is built.
      assert.ok(rejected > checked / 4, `${file}: ${rejected} of ${checked} trees rejected`)
    })
  }
})

describe('--slow on Varnish 2.1/3.0 (no Timestamp records): the records whose total reaches it', () => {
  for (const file of LEGACY) {
    it(file, async () => {
      const all = await recordsOf([{ file }])
      const totals = all.map((r) => r.timing.total).filter((t): t is number => t !== null)
      assert.ok(totals.length > 20)
      for (const slow of thresholds(totals)) {
        const got = await recordsOf([{ file }], { filters: { ...NO_FILTERS, slow } })
        const want = all.filter((r) => r.timing.total !== null && r.timing.total >= slow / 1000)
        assert.deepEqual(got.map((r) => r.vxid), want.map((r) => r.vxid), `--slow ${slow}`)
      }
    })
  }
})

describe('the quick read of a Timestamp time', () => {
  it('is what the record reads (within 1e-9 s), or NaN where it cannot tell', () => {
    const piece = fc.constantFrom(' ', '  ', '0', '1', '9', '.', '-', 'e', '+', 'x', 'Resp:', '1700000000.123456', '0.200000', '123456789012345678')
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const d = parts.join('')
        const quick = sinceStartQuick(d)
        if (Number.isNaN(quick)) return
        const exact = sinceStart(d)
        assert.ok(exact !== null && Math.abs(quick - exact) <= 1e-9, `${JSON.stringify(d)}: ${quick} vs ${exact}`)
      }),
      { numRuns: 20000 },
    )
    assert.equal(sinceStartQuick('Resp: 1700000000.123456 0.200000 0.000010'), 0.2)
    assert.equal(sinceStartQuick('  Resp: 1 7.5 0'), 7.5)
    assert.ok(Number.isNaN(sinceStartQuick('Resp: 1 1e3 0')))
  })
})

describe("a Timestamp's times read from a binary record's bytes", () => {
  it('are what the reads of its text give, whatever the bytes (and the bytes around them)', () => {
    const piece = fc.oneof(
      fc.constantFrom(' ', '  ', '\t', '0', '7', '.', ':', '"', 'Resp:', 'Start: ', '1700000000.123456', '0.200000', '1234567890123456'),
      fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
    )
    const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''))
    const num = fc.stringMatching(/^[0-9]{0,17}(\.[0-9]{0,17})?$/)
    // Mostly Timestamp-like: a label, the absolute time, the since-start time (cut anywhere), bytes after.
    const stamp = fc.tuple(fc.constantFrom('Resp: ', 'Start:  ', ' Req: ', 'Resp:', 'a b: ', 'R\0: '), num, fc.constantFrom(' ', '  ', '', '\0'), num, fc.constantFrom('', '\0', ' \0'), text).map((p) => p.join(''))
    fc.assert(
      fc.property(text, fc.oneof(stamp, text), fc.oneof(num, text), (before, d, after) => {
        const buf = Buffer.from(before + d + after, 'latin1')
        const a = before.length
        const b = a + d.length
        const text = d.split('\0')[0] // varnishlog prints a record's data up to its NUL
        assert.ok(Object.is(sinceStartOfBytes(buf, a, b), sinceStartQuick(text)), `${JSON.stringify(d)} in ${JSON.stringify(before + d + after)}`)
        assert.equal(stampSecondsOfBytes(buf, a, b), stampSeconds(text), JSON.stringify(d))
        // Read at once, the same.
        const t: StampTimes = { since: -2, seconds: -2 }
        stampOfBytes(buf, a, b, t)
        assert.ok(Object.is(t.since, sinceStartQuick(text)), JSON.stringify(d))
        assert.equal(t.seconds, stampSeconds(text), JSON.stringify(d))
      }),
      { numRuns: 20000 },
    )
    const b = Buffer.from('Resp: 1700000000.123456 0.200000 0.000010', 'latin1')
    assert.equal(sinceStartOfBytes(b, 0, b.length), 0.2)
    assert.equal(stampSecondsOfBytes(b, 0, b.length), 1700000000)
    // Cut before the since-start time ends: its digits are read to there, as the text would be.
    assert.equal(sinceStartOfBytes(b, 0, 28), 0.2)
    assert.ok(Number.isNaN(sinceStartOfBytes(b, 0, 24)))
    assert.equal(stampSecondsOfBytes(b, 0, 6), -1)
    // Read at once: as Varnish writes it (the one pass), cut anywhere, and not so (the two reads).
    const t: StampTimes = { since: 0, seconds: 0 }
    for (const [text, since, seconds] of [
      ['Resp: 1700000000.123456 0.200000 0.000010', 0.2, 1700000000],
      ['Resp: 1700000000.123456 0.200000\0junk', 0.2, 1700000000],
      ['Resp: 1700000000.123456 0.20', 0.2, 1700000000],
      ['Resp: 1700000000.123456 ', NaN, 1700000000],
      ['Resp: 1700000000.1234', NaN, 1700000000],
      ['Resp:  1700000000.123456 7.5 0', 7.5, -1],
      ['Resp: 1700000000.123456  7.5 0', 7.5, 1700000000],
      ['Resp: 1700000000 7 0', 7, 1700000000],
      ['Bereq-x: 1700000000.1 12.5 0', 12.5, 1700000000],
      ['Resp: 1700000000.123456 1234567890123456.5 0', NaN, 1700000000],
    ] as const) {
      const buf = Buffer.from(text, 'latin1')
      stampOfBytes(buf, 0, buf.length, t)
      assert.ok(Object.is(t.since, since), text)
      assert.equal(t.seconds, seconds, text)
    }
  })
})

describe("a query's bound on a tree's times", () => {
  it('is the least "since start" time the query needs, or none', () => {
    const bound = (q: string): number | null => queryTimeBound(q, { caseless: false })
    assert.equal(bound('Timestamp:Resp[2] > 0.2'), 0.2)
    assert.equal(bound('Timestamp:Resp[2] >= 1'), 1)
    assert.equal(bound('Timestamp:Start[2] == 0.5'), 0.5)
    assert.equal(bound('VCL_call eq "MISS" and Timestamp:Resp[2] > 0.2'), 0.2)
    assert.equal(bound('Timestamp:Resp[2] > 0.2 and Timestamp:Beresp[2] > 0.3'), 0.3)
    assert.equal(bound('Timestamp:Resp[2] > 0.2 or Timestamp:Beresp[2] > 0.1'), 0.1)
    // Nothing said about the time: no bound.
    for (const q of [
      'Timestamp:Resp[2] > 0.2 or RespStatus == 500',
      'not Timestamp:Resp[2] < 0.2',
      'Timestamp:Resp[2] < 0.2',
      'Timestamp:Resp[3] > 0.2', // since the last Timestamp
      'Timestamp:Resp[1] > 0.2', // the absolute time
      'Timestamp[2] > 0.2', // without a label, field 2 is the absolute time
      'Timestamp,ReqURL:Resp[2] > 0.2',
      'Timestamp:Resp[2] ne 0.2',
      'RespStatus == 200',
    ]) assert.equal(bound(q), null, q)
    assert.equal(queryTimeBound('Timestamp:Resp[2] > 0.2', { caseless: false, floats71: true }), null)
  })

  it('never rejects a tree the query keeps, whatever a Timestamp record holds', () => {
    // Where the grouper's quick read of a record is a number, it is the field the query reads (white space of
    // every kind, quotes, colons in the label or after it, a label without its space): random records, each in a
    // tree of one transaction. (`Resp:"a: 1 0 x" 9 9` and `Resp:\t9: 1 0` were read as 0, the query reads 9 and 1.)
    const label = fc.constantFrom('Resp:', 'resp:', 'Resp', 'Resp:x', ' Resp:', '', 'Resp:"a:', 'Resp:\t9:', 'Resp:x:', 'Resp:"', 'Resp:\t')
    const sep = fc.constantFrom(' ', '  ', '\t', '', ' \t', '\v')
    const num = fc.constantFrom('1700000000.123456', '0.200000', '9', '1', '0', '.5', '"1 2"', '"9', '-1', '1e3', 'x', '', 'a:', '0"', '1 0 x"')
    const ops = ['>', '>=', '==']
    const record = fc.tuple(label, sep, num, sep, num, sep, num)
    fc.assert(
      fc.property(record, fc.constantFrom(0, 0.2, 1, 9, 0.1, 1700000000.123456), fc.constantFrom(...ops), (parts, v, op) => {
        const d = parts.join('')
        const tx = newTransaction(5, 'req', 0)
        tx.reason = 'rxreq'
        tx.tags.push('Timestamp')
        tx.data.push(d)
        tx.slowest = sinceStartQuick(d)
        for (const q of [`Timestamp:Resp[2] ${op} ${v}`, `Timestamp:Resp[2] ${op} ${Math.trunc(v)}`]) {
          const { keepBound } = compileFilter(NO_FILTERS, [q], false)
          if (compileTreeQuery(q, { caseless: false })(tx)) assert.ok(keepBound!(tx), `${JSON.stringify(d)}: ${q} keeps it, the bound (${tx.slowest}) does not`)
        }
      }),
      { numRuns: 5000 },
    )
  })
})
