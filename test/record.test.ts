// The record model: classification (varnishncsa 7.7's handling rules), grace/streaming, timings, bytes, headers
// as received and as sent, the backend fetch with retries and background fetches, text decoding, JSON shape.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { lines, recordsOf, runOn } from './support.js'
import type { ClientRecord } from '../src/vsl/types.js'

/** A -g vxid group with the given records (`Tag data`) between Begin and End. */
function group(header: string, begin: string, body: string[]): string[] {
  return [
    header,
    `-   Begin          ${begin}`,
    ...body.map((b) => {
      const sp = b.indexOf(' ')
      return `-   ${b.slice(0, sp).padEnd(14)} ${b.slice(sp + 1)}`
    }),
    '-   End            ',
    '',
  ]
}

function request(vxid: number, body: string[], reason = 'rxreq', parent = 1): string[] {
  return group(`*   << Request  >> ${vxid}`, `req ${parent} ${reason}`, body)
}

function bereqGroup(vxid: number, parent: number, reason: string, body: string[]): string[] {
  return group(`*   << BeReq    >> ${vxid}`, `bereq ${parent} ${reason}`, body)
}

async function one(body: string[]): Promise<ClientRecord> {
  const recs = await recordsOf([lines(...request(2, body))])
  assert.equal(recs.length, 1)
  return recs[0]
}

describe('handling (varnishncsa 7.7 rules)', () => {
  const table: Array<[string, string[], string | null]> = [
    ['hit', ['VCL_call RECV', 'VCL_call HASH', 'Hit 5 100.0 10.0 0.0', 'VCL_call HIT', 'VCL_call DELIVER'], 'hit'],
    ['miss', ['VCL_call RECV', 'VCL_call MISS', 'VCL_call DELIVER'], 'miss'],
    ['pass from recv', ['VCL_call RECV', 'VCL_return pass', 'VCL_call HASH', 'VCL_call PASS'], 'pass'],
    ['hit then pass: last wins', ['VCL_call RECV', 'VCL_call HIT', 'VCL_return pass', 'VCL_call PASS'], 'pass'],
    ['hit then synth', ['VCL_call RECV', 'VCL_call HIT', 'VCL_return synth', 'VCL_call SYNTH'], 'synth'],
    ['hit-for-miss sticks through MISS', ['VCL_call RECV', 'HitMiss 5 20.0', 'VCL_call MISS'], 'hitmiss'],
    ['hit-for-pass sticks through PASS', ['VCL_call RECV', 'HitPass 5 20.0', 'VCL_call PASS'], 'hitpass'],
    ['pipe', ['VCL_call RECV', 'VCL_return pipe', 'VCL_call HASH', 'VCL_call PIPE'], 'pipe'],
    [
      'h2 pipe becomes pass',
      ['VCL_call RECV', 'VCL_return pipe', 'VCL_Error vcl_recv{} returns pipe for HTTP/2 request.  Doing pass.', 'VCL_call PASS'],
      'pass',
    ],
    ['synth', ['VCL_call RECV', 'VCL_return synth', 'VCL_call HASH', 'VCL_call SYNTH'], 'synth'],
    ['no VCL at all (garbage request)', ['HttpGarbage "GARBAGE%00"', 'RespStatus 400'], null],
  ]
  for (const [name, body, want] of table) {
    it(name, async () => assert.equal((await one(body)).handling, want))
  }

  it('VCL_call RECV starts over (restart and ESI run it again)', async () => {
    const r = await one(['VCL_call RECV', 'VCL_call HIT', 'VCL_call RECV'])
    assert.equal(r.handling, null)
  })
})

describe('record fields', () => {
  it('grace: a Hit with a negative TTL; streaming: a Hit with five or more fields', async () => {
    const g = await one(['Hit 9 -70.049325 259200.000000 0.000000', 'VCL_call HIT'])
    assert.deepEqual([g.grace, g.streaming], [true, false])
    const s = await one(['Hit 9 100.0 10.0 0.0 4096 65536', 'VCL_call HIT'])
    assert.deepEqual([s.grace, s.streaming], [false, true])
  })

  it('timings from Timestamp since-start; start as ISO 8601 with microseconds', async () => {
    const r = await one([
      'Timestamp Start: 1795459767.841077 0.000000 0.000000',
      'Timestamp Process: 1795459767.846484 0.005407 0.000014',
      'Timestamp Resp: 1795459767.847091 0.006014 0.000607',
    ])
    assert.deepEqual(r.timing, { total: 0.006014, ttfb: 0.005407 })
    assert.equal(r.start, '2026-11-23T18:49:27.841077Z')
  })

  it('Timestamp fields: extra spaces are skipped, a short record gives null, not a neighbour', async () => {
    const r = await one([
      'Timestamp Start:  1795459767.841077   0.000000 0.000000',
      'Timestamp Process: 1795459767.846484',
      'Timestamp Resp: 1795459767.847091 0.006014  ',
    ])
    assert.deepEqual(r.timing, { total: 0.006014, ttfb: null })
    assert.equal(r.start, '2026-11-23T18:49:27.841077Z')
  })

  it('pipe: total from PipeSess, ttfb from Pipe, bytes from PipeAcct', async () => {
    const r = await one([
      'Timestamp Start: 1795461619.024001 0.000000 0.000000',
      'VCL_return pipe',
      'Timestamp Pipe: 1795461619.024021 0.000020 0.000020',
      'Timestamp PipeSess: 1795461619.027919 0.003918 0.003898',
      'PipeAcct 152 193 0 150',
    ])
    assert.deepEqual(r.timing, { total: 0.003918, ttfb: 0.00002 })
    assert.deepEqual(r.bytes, { header_rx: 152, body_rx: null, total_rx: 0, header_tx: null, body_tx: null, total_tx: 150 })
  })

  it('missing values are null, never invented', async () => {
    const r = await one(['HttpGarbage "GARBAGE%00"', 'RespStatus 400', 'ReqAcct 10 0 10 100 0 100'])
    assert.deepEqual([r.request.method, r.request.url, r.request.protocol, r.timing.total, r.timing.ttfb], [null, null, null, null, null])
    assert.equal(r.response.status, 400)
    assert.equal(r.bytes.body_tx, 0)
  })

  it('request as received (first ReqURL, headers before VCL), response as sent (RespUnset applied)', async () => {
    const r = await one([
      'ReqMethod GET',
      'ReqURL /a?utm_source=x',
      'ReqProtocol HTTP/1.1',
      'ReqHeader Host: example.com',
      'ReqHeader X-Forwarded-For: 10.0.0.1',
      'VCL_call RECV',
      'ReqURL /a',
      'ReqUnset X-Forwarded-For: 10.0.0.1',
      'ReqHeader X-Forwarded-For: 10.0.0.1, 127.0.0.1',
      'RespStatus 200',
      'RespReason OK',
      'RespHeader X-Url: /a',
      'RespHeader Age: 0',
      'RespUnset X-Url: /a',
      'RespStatus 503',
      'RespReason Service Unavailable',
    ])
    assert.equal(r.request.url, '/a?utm_source=x')
    assert.deepEqual(r.request.headers, [['Host', 'example.com'], ['X-Forwarded-For', '10.0.0.1']])
    assert.deepEqual(r.response.headers, [['Age', '0']])
    assert.deepEqual([r.response.status, r.response.reason], [503, 'Service Unavailable'], 'the last status is what was sent')
  })

  it('an unset removes the last header of that name (in any case) and value, once, from the headers before it', async () => {
    const body = ['RespStatus 200', 'RespHeader A: 1', 'RespHeader B: 2', 'RespHeader a: 1', 'RespHeader C: 3', 'RespUnset A: 1', 'RespUnset D: 4', 'RespHeader D: 4']
    const want = [['A', '1'], ['B', '2'], ['C', '3'], ['D', '4']]
    // As JSON output writes them, from the logged lines (test/json-writer.test.ts: the same as the pairs).
    assert.deepEqual((await one(body)).response.headers, want)
  })

  it('decodes UTF-8 and writes invalid bytes as \\xNN', async () => {
    const r = await one(['ReqURL /s?q=\xc3\xbc\xff'])
    assert.equal(r.request.url, '/s?q=ü\\xff')
  })

  it('header names and values: UTF-8 decoded and invalid bytes as \\xNN, ASCII lines as they are', async () => {
    const r = await one(['ReqHeader X-N\xc3\xa4me:  M\xc3\xbcller \xff', 'ReqHeader Host: example.com', 'ReqHeader X-Empty:'])
    assert.deepEqual(r.request.headers, [['X-Näme', 'Müller \\xff'], ['Host', 'example.com'], ['X-Empty', '']])
  })

  it('vcl_log lists VCL_Log records in order', async () => {
    const r = await one(['VCL_Log route:api', 'VCL_Log pass:/x'])
    assert.deepEqual(r.vcl_log, ['route:api', 'pass:/x'])
  })

  it('backend: the fetch, its retries (the last attempt answers), FetchError, name and timings', async () => {
    const input = [
      ...bereqGroup(3, 2, 'fetch', [
        'Timestamp Start: 100.000000 0.000000 0.000000',
        'BereqURL /retry/1',
        'BackendOpen 25 origin 127.0.0.1 8081 127.0.0.1 53592 connect',
        'BerespStatus 503',
        'Link bereq 4 retry',
      ]),
      ...bereqGroup(4, 3, 'retry', [
        'Timestamp Start: 100.010000 0.000000 0.000000',
        'BereqURL /retry/1',
        'BackendOpen 26 origin 127.0.0.1 8081 127.0.0.1 53593 reuse',
        'Timestamp Beresp: 100.020000 0.010000 0.008000',
        'BerespStatus 200',
        'BerespHeader Cache-Control: max-age=5',
        'VCL_call BACKEND_RESPONSE',
        'BerespHeader X-Set-In-VCL: 1',
        'Timestamp BerespBody: 100.030000 0.020000 0.010000',
        'BereqAcct 299 0 299 215 43 258',
      ]),
      ...request(2, ['VCL_call MISS', 'Link bereq 3 fetch', 'RespStatus 200']),
    ]
    const [r] = await recordsOf([lines(...input)])
    const b = r.backend!
    assert.deepEqual([b.vxid, b.reason, b.name, b.status, b.error, b.retries, b.retried_vxids], [4, 'fetch', 'origin', 200, null, 1, [3]])
    assert.deepEqual(b.timing, { wait: 0.008, total: 0.02, ttfb: 0.01 })
    assert.deepEqual(b.response.headers, [['Cache-Control', 'max-age=5']], 'as received, before VCL')
    assert.deepEqual([b.bytes.total_tx, b.bytes.body_rx], [299, 43])
  })

  it('backend failure: FetchError and the Error timestamp', async () => {
    const input = [
      ...bereqGroup(3, 2, 'fetch', [
        'FetchError backend dead: fail errno 111 (Connection refused)',
        'Timestamp Error: 100.001000 0.001000 0.001000',
        'BerespStatus 503',
        'BerespReason Backend fetch failed',
      ]),
      ...request(2, ['VCL_call MISS', 'Link bereq 3 fetch', 'RespStatus 503']),
    ]
    const [r] = await recordsOf([lines(...input)])
    assert.deepEqual([r.backend!.status, r.backend!.error, r.backend!.timing.total], [503, 'backend dead: fail errno 111 (Connection refused)', 0.001])
  })

  it('a background fetch is kept apart from the client side', async () => {
    const input = [
      ...bereqGroup(3, 2, 'bgfetch', ['BerespStatus 304', 'Timestamp BerespBody: 100.5 0.500000 0.1']),
      ...request(2, ['Hit 9 -1.0 30.0 60.0', 'VCL_call HIT', 'Link bereq 3 bgfetch', 'Timestamp Resp: 100.0 0.000100 0.0001']),
    ]
    const [r] = await recordsOf([lines(...input)])
    assert.equal(r.backend, null)
    assert.deepEqual([r.bgfetch!.vxid, r.bgfetch!.status, r.bgfetch!.reason], [3, 304, 'bgfetch'])
    assert.equal(r.timing.total, 0.0001)
    assert.equal(r.grace, true)
  })

  it('JSON keys come in the documented order', async () => {
    const out = (await runOn([lines(...request(2, ['ReqURL /']))], { output: 'json' })).stdout
    assert.deepEqual(Object.keys(JSON.parse(out)), [
      'vxid', 'side', 'reason', 'parent', 'session', 'start', 'client', 'request', 'response', 'handling', 'grace',
      'streaming', 'restarts', 'restarted_vxids', 'timing', 'bytes', 'backend', 'bgfetch', 'esi', 'vcl_log', 'incomplete',
    ])
  })
})
