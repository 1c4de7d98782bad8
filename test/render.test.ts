// Rendering: log text from HTTP clients never reaches the terminal raw; color is a palette that can be off.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { escapeText } from '../src/render/escape.js'
import { lines, runOn } from './support.js'

const hostile = [
  '*   << Request  >> 2',
  '-   Begin          req 1 rxreq',
  '-   ReqStart       192.0.2.1 5000 a0',
  '-   ReqMethod      GET',
  '-   ReqURL         /\x1b[2J\x1b]0;pwned\x07/\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\',
  '-   ReqProtocol    HTTP/1.1',
  '-   ReqHeader      User-Agent: abc\x08\x08\x08xyz\rOVERWRITE \xe2\x80\xae\x64\x61\x62',
  '-   RespStatus     200',
  '-   RespReason     O\x9bK',
  '-   End            ',
]

describe('escaping', () => {
  const table: Array<[string, string]> = [
    ['plain text', 'plain text'],
    ['\x1b[31mred', '\\x1b[31mred'],
    ['tab\there', 'tab\\there'],
    ['cr\rlf\n', 'cr\\rlf\\n'],
    ['nul\x00del\x7f', 'nul\\x00del\\x7f'],
    ['c1\x9b', 'c1\\x9b'],
    ['bidi\u202eevil', 'bidi\\u{202e}evil'],
    ['isolate\u2066x\u2069', 'isolate\\u{2066}x\\u{2069}'],
    ['zero\u200bwidth', 'zero\\u{200b}width'],
    ['unicode ü 漢字 ok', 'unicode ü 漢字 ok'],
  ]
  for (const [input, want] of table) it(JSON.stringify(input), () => assert.equal(escapeText(input), want))

  it('the compact view prints no control character from the log', async () => {
    const r = await runOn([lines(...hostile)], { reqHeaders: true, respHeaders: true })
    // Only our own newlines remain.
    assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/)
    assert.match(r.stdout, /GET \/\\x1b\[2J\\x1b\]0;pwned\\x07\//)
    assert.match(r.stdout, /req\.http\.User-Agent = abc\\x08\\x08\\x08xyz\\rOVERWRITE \\u\{202e\}dab/)
    assert.match(r.stdout, /200 O\\xc2\\x9bK|200 O\\x9bK/)
  })

  it('JSON keeps the text, escaped by JSON rules', async () => {
    const r = await runOn([lines(...hostile)], { output: 'json' })
    assert.doesNotMatch(r.stdout.trimEnd(), /[\x00-\x1f\x7f]/)
    const rec = JSON.parse(r.stdout)
    assert.equal(rec.request.url, '/\x1b[2J\x1b]0;pwned\x07/\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\')
    assert.equal(rec.request.headers[0][1], 'abc\x08\x08\x08xyz\rOVERWRITE \u202edab')
    assert.equal(rec.response.reason, 'O\\x9bK', 'an invalid UTF-8 byte is kept as \\xNN')
  })
})

describe('color', () => {
  it('is off: no escape sequences at all', async () => {
    const r = await runOn([{ file: 'fixtures/cases/esi.log' }], { useColor: false })
    assert.doesNotMatch(r.stdout, /\x1b/)
  })

  it('is on: handling and status are colored, the text is the same', async () => {
    const plain = await runOn([{ file: 'fixtures/cases/esi.log' }], { useColor: false })
    const colored = await runOn([{ file: 'fixtures/cases/esi.log' }], { useColor: true })
    assert.match(colored.stdout, /\x1b\[33mMISS\x1b\[39m/)
    assert.match(colored.stdout, /\x1b\[32m200\x1b\[39m/)
    assert.equal(colored.stdout.replace(/\x1b\[[0-9;]*m/g, ''), plain.stdout)
  })

  it('highlights times of one second and more', async () => {
    const slow = [
      '*   << Request  >> 2',
      '-   Begin          req 1 rxreq',
      '-   Timestamp      Resp: 100.0 1.500000 0.1',
      '-   End            ',
    ]
    const r = await runOn([lines(...slow)], { useColor: true })
    assert.match(r.stdout, /\x1b\[1m\x1b\[31m1500\.000 ms/)
  })
})
