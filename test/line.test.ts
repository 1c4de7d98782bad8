// parseLine, table-driven: every layout varnishlog 4-7 prints, and the lines that are not log lines.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseLine } from '../src/parse/line.js'
import { LineSplitter } from '../src/parse/lines.js'

const cases: Array<[string, string, unknown]> = [
  ['vxid header', '*   << Request  >> 5         ', { kind: 'header', level: 1, vxid: 5, type: 'req' }],
  ['bereq header', '*   << BeReq    >> 32771     ', { kind: 'header', level: 1, vxid: 32771, type: 'bereq' }],
  ['session header', '*   << Session  >> 4', { kind: 'header', level: 1, vxid: 4, type: 'sess' }],
  ['level 2 header', '**  << BeReq    >> 29        ', { kind: 'header', level: 2, vxid: 29, type: 'bereq' }],
  ['level 3 header', '*** << BeReq    >> 31        ', { kind: 'header', level: 3, vxid: 31, type: 'bereq' }],
  ['level 4 header', '*4* << BeReq    >> 98341     ', { kind: 'header', level: 4, vxid: 98341, type: 'bereq' }],
  ['-v header', '*              << Request  >>   28        ', { kind: 'header', level: 1, vxid: 28, type: 'req' }],
  ['raw group header', '*   << Record   >> 0', { kind: 'header', level: 1, vxid: 0, type: 'raw' }],
  ['64-bit vxid', '*   << Request  >> 999999999999999', { kind: 'header', level: 1, vxid: 999999999999999, type: 'req' }],
  ['record', '-   ReqURL         /test/1', { kind: 'record', level: 1, vxid: -1, tag: 'ReqURL', data: '/test/1' }],
  ['record with spaces', '-   ReqHeader      Host: a b', { kind: 'record', level: 1, vxid: -1, tag: 'ReqHeader', data: 'Host: a b' }],
  ['empty data', '-   End            ', { kind: 'record', level: 1, vxid: -1, tag: 'End', data: '' }],
  ['empty data, trimmed', '-   End', { kind: 'record', level: 1, vxid: -1, tag: 'End', data: '' }],
  ['data with a leading space', '-   Filters         gunzip', { kind: 'record', level: 1, vxid: -1, tag: 'Filters', data: ' gunzip' }],
  ['14-char tag', '-   BerespProtocol HTTP/1.1', { kind: 'record', level: 1, vxid: -1, tag: 'BerespProtocol', data: 'HTTP/1.1' }],
  ['level 2 record', '--  Begin          bereq 28 fetch', { kind: 'record', level: 2, vxid: -1, tag: 'Begin', data: 'bereq 28 fetch' }],
  ['level 3 record', '--- Begin          bereq 30 fetch', { kind: 'record', level: 3, vxid: -1, tag: 'Begin', data: 'bereq 30 fetch' }],
  ['level 4 record', '-4- Begin          bereq 98340 fetch', { kind: 'record', level: 4, vxid: -1, tag: 'Begin', data: 'bereq 98340 fetch' }],
  ['-v record', '-        32770 Begin          c req 32769 rxreq', { kind: 'record', level: 1, vxid: 32770, tag: 'Begin', data: 'req 32769 rxreq' }],
  ['-v backend record', '-            6 Timestamp      b Start: 1.5 0.0 0.0', { kind: 'record', level: 1, vxid: 6, tag: 'Timestamp', data: 'Start: 1.5 0.0 0.0' }],
  ['-v empty data', '-            6 End            b ', { kind: 'record', level: 1, vxid: 6, tag: 'End', data: '' }],
  ['raw record', '         6 BereqURL       b /api/private/user/284', { kind: 'record', level: 0, vxid: 6, tag: 'BereqURL', data: '/api/private/user/284' }],
  ['raw vxid 0', '         0 CLI            - Rd ping', { kind: 'record', level: 0, vxid: 0, tag: 'CLI', data: 'Rd ping' }],
  ['raw long tag', '         0 Backend_health - origin Still healthy', { kind: 'record', level: 0, vxid: 0, tag: 'Backend_health', data: 'origin Still healthy' }],
  ['raw empty data', '         6 End            b ', { kind: 'record', level: 0, vxid: 6, tag: 'End', data: '' }],
  ['raw 11-digit vxid', '12345678901 ReqURL         c /x', { kind: 'record', level: 0, vxid: 12345678901, tag: 'ReqURL', data: '/x' }],
  ['blank', '', { kind: 'blank', text: '' }],
  ['spaces only', '    ', { kind: 'blank', text: '' }],
  ['varnishlog notice', 'Log overrun', { kind: 'noise', text: 'Log overrun' }],
  ['varnishlog notice 2', 'Log reacquired', { kind: 'noise', text: 'Log reacquired' }],
  ['continuation text', 'second line of a VCL_Log', { kind: 'text', text: 'second line of a VCL_Log' }],
  ['broken header', '*   << Nonsense >> 5', { kind: 'text', text: '*   << Nonsense >> 5' }],
  ['header without vxid', '*   << Request  >>', { kind: 'text', text: '*   << Request  >>' }],
  ['dash text', '- not a tag', { kind: 'text', text: '- not a tag' }],
  ['number text', '42 is the answer', { kind: 'text', text: '42 is the answer' }],
  ['control bytes', '\x1b[31m\x00\xff', { kind: 'text', text: '\x1b[31m\x00\xff' }],
]

describe('parseLine', () => {
  for (const [name, line, want] of cases) {
    it(name, () => assert.deepEqual({ ...(parseLine(line) as object) }, want))
  }

  it('never throws on any byte string', () => {
    let seed = 12345
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
    const alphabet = ' -*<>0123456789abcXYZ_:\t\x00\xff'
    for (let n = 0; n < 20000; n++) {
      let s = ''
      const len = Math.floor(rnd() * 40)
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)]
      const p = parseLine(s)
      assert.ok(['record', 'header', 'blank', 'noise', 'text'].includes(p.kind), s)
    }
  })
})

describe('LineSplitter', () => {
  const split = (chunks: string[], max?: number): { lines: string[]; overlong: number } => {
    const lines: string[] = []
    const s = new LineSplitter((b, st, e) => lines.push(b.toString('latin1', st, e)), max)
    for (const c of chunks) s.push(Buffer.from(c, 'latin1'))
    s.end()
    return { lines, overlong: s.overlong }
  }

  it('splits LF and CRLF, across chunk boundaries', () => {
    assert.deepEqual(split(['a\nb', 'c\r\nd', '\n', 'e']).lines, ['a', 'bc', 'd', 'e'])
  })

  it('keeps bytes as latin1 (one char per byte)', () => {
    assert.deepEqual(split(['\xc3\xbc\n']).lines, ['\xc3\xbc'])
  })

  it('skips and counts a line longer than the bound, then goes on', () => {
    const r = split(['short\n', 'x'.repeat(50), 'y'.repeat(60), 'z\nnext\n'], 100)
    assert.deepEqual(r.lines, ['short', 'next'])
    assert.equal(r.overlong, 1)
  })

  it('skips an over-long line within one chunk', () => {
    const r = split(['a\n' + 'x'.repeat(200) + '\nb\n'], 100)
    assert.deepEqual(r.lines, ['a', 'b'])
    assert.equal(r.overlong, 1)
  })
})
