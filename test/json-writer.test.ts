// The JSON writer (src/render/json.ts) writes header lists as bytes from the logged lines and the rest with
// JSON.stringify: its line must be exactly escapeJsonText(JSON.stringify(the record with its header pairs)) + LF,
// on real captures, on any header bytes, and wherever the output buffer runs out of room.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Grouper } from '../src/group/grouper.js'
import { OutputBuffer } from '../src/output.js'
import { parseLine } from '../src/parse/line.js'
import { escapeJsonText } from '../src/render/escape.js'
import { renderJson, writeJson } from '../src/render/json.js'
import { buildRecord } from '../src/vsl/record.js'
import type { BackendFetch, ClientRecord, HttpRequest, HttpResponse } from '../src/vsl/types.js'
import { recordsInFile } from './support.js'

/** The line as JSON.stringify writes the record (the writer before header lists were bytes), made safe. */
function reference(rec: ClientRecord): string {
  return escapeJsonText(JSON.stringify(plain(rec))) + '\n'
}

function plain(r: ClientRecord): object {
  return {
    vxid: r.vxid, side: r.side, reason: r.reason, parent: r.parent, session: r.session, start: r.start, client: r.client,
    request: message(r.request), response: message(r.response), handling: r.handling, grace: r.grace,
    streaming: r.streaming, restarts: r.restarts, restarted_vxids: r.restarted_vxids, timing: r.timing, bytes: r.bytes,
    backend: fetch(r.backend), bgfetch: fetch(r.bgfetch), esi: r.esi.map(plain), vcl_log: r.vcl_log,
    incomplete: r.incomplete,
  }
}

function fetch(b: BackendFetch | null): object | null {
  if (b === null) return null
  return {
    vxid: b.vxid, reason: b.reason, name: b.name, status: b.status, error: b.error, retries: b.retries,
    retried_vxids: b.retried_vxids, timing: b.timing, bytes: b.bytes, request: message(b.request),
    response: message(b.response), incomplete: b.incomplete,
  }
}

function message(m: HttpRequest | HttpResponse): object {
  return 'method' in m
    ? { method: m.method, url: m.url, protocol: m.protocol, headers: m.headers }
    : { status: m.status, reason: m.reason, protocol: m.protocol, headers: m.headers }
}

/** What writeJson writes for each record, into an output buffer whose first block is `target`. */
function written(recs: ClientRecord[], target?: Buffer): Buffer {
  const out = new OutputBuffer(target)
  for (const r of recs) writeJson(r, out)
  return out.take() ?? Buffer.alloc(0)
}

/** The record of a -g vxid text: a client request with these request and response header lines (unsets among
 *  the response's) and URL (also its VCL_Log), and its backend fetch with the lines the other way round (the
 *  unsets among its request's). */
function recordsOf(reqLines: string[], respLines: string[], unsets: number[], url = '/'): ClientRecord[] {
  const rec = (tag: string, data: string): string => `-   ${tag.padEnd(14)} ${data}`
  const text = [
    '*   << BeReq    >> 3',
    rec('Begin', 'bereq 2 fetch'),
    rec('BereqMethod', 'GET'),
    rec('BereqURL', '/'),
    rec('BereqProtocol', 'HTTP/1.1'),
    ...respLines.map((l, i) => rec(unsets.includes(i) ? 'BereqUnset' : 'BereqHeader', l)),
    rec('BerespStatus', '200'),
    ...reqLines.map((l) => rec('BerespHeader', l)),
    rec('End', ''),
    '',
    '*   << Request  >> 2',
    rec('Begin', 'req 1 rxreq'),
    rec('ReqMethod', 'GET'),
    rec('ReqURL', url),
    rec('VCL_Log', url),
    rec('ReqProtocol', 'HTTP/1.1'),
    ...reqLines.map((l) => rec('ReqHeader', l)),
    rec('Link', 'bereq 3 fetch'),
    rec('RespStatus', '200'),
    ...respLines.map((l, i) => rec(unsets.includes(i) ? 'RespUnset' : 'RespHeader', l)),
    rec('End', ''),
    '',
  ]
  const out: ClientRecord[] = []
  const g = new Grouper({ maxPending: 100, timeout: 0 }, (tree, inc) => out.push(buildRecord(tree, inc)))
  g.vxidLayout = true
  for (const l of text) g.push(parseLine(l))
  g.flush('eof')
  return out
}

describe('JSON writer', () => {
  for (const file of ['fixtures/lab/lab.vxid.log', 'fixtures/lab/lab.raw.log', 'fixtures/varnish-3.0.7/varnish-3.0.7.log', 'fixtures/varnish-2.1.5/varnish-2.1.5.o.log', 'fixtures/cases/truncated.log']) {
    it(`${file}: every record's line is JSON.stringify's of it, made safe`, () => {
      const recs = recordsInFile(file)
      assert.ok(recs.length > 0)
      assert.equal(written(recs).toString('latin1'), Buffer.from(recs.map(reference).join(''), 'utf8').toString('latin1'))
      for (const r of recs) assert.equal(renderJson(r) + '\n', reference(r))
    })
  }

  it('any header bytes, unset or not, and any URL: the same line as JSON.stringify of the pairs, also from a small first block', () => {
    // Header lines of any byte (latin1), often the ones escaped, a colon, spaces, and UTF-8 that is valid or not.
    const BYTE = fc.oneof(
      fc.constantFrom(':', ' ', '"', '~', '[', '~":[', '\\', '\x7f', '\x1b', '\t', '\x00', '\xc3\xa9', '\xe2\x80\xae', '\xc2\x85', '\xff', '\xc3', 'a', 'Z'),
      fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)),
    )
    const LINE = fc.string({ unit: BYTE, maxLength: 30 }).filter((l) => !l.includes('\n') && !l.includes('\r'))
    fc.assert(
      fc.property(fc.array(LINE, { maxLength: 8 }), fc.array(LINE, { maxLength: 8 }), fc.array(fc.nat(7), { maxLength: 3 }), LINE, fc.integer({ min: 0, max: 4000 }), (req, resp, unsets, url, first) => {
        // An unset repeats an earlier line of the response (or any line), as VCL's `unset` logs it.
        const lines = resp.map((l, i) => (unsets.includes(i) && i > 0 ? resp[(i * 7) % i] : l))
        const recs = recordsOf(req, lines, unsets, url)
        assert.equal(recs.length, 1)
        const want = recs.map(reference).join('')
        assert.equal(written(recs).toString('utf8'), want)
        // Twice: the second starts inside the block, where the first ended.
        assert.equal(written([...recs, ...recs], Buffer.alloc(first)).toString('utf8'), want + want)
      }),
      { numRuns: 400 },
    )
  })

  it('the mark of a header list (`"~":[`) in a URL, a header or VCL_Log: the same line as JSON.stringify', () => {
    const mark = '"~":[]'
    const recs = recordsOf([`~: ${mark}`, `X${mark}: ~`, 'Host: a'], [`A: ~"~":[`, '~:~'], [], `/p?q=${mark}~`)
    assert.equal(recs.length, 1)
    assert.equal(written(recs).toString('utf8'), reference(recs[0]))
    assert.ok(written(recs).toString('utf8').includes('"url":"/p?q=\\"~\\":[]~"'))
  })

  it('a record larger than the output block: written whole, after what was before it', () => {
    const long = 'X-Long: ' + 'v'.repeat(600_000)
    const recs = [...recordsOf(['Host: a'], ['A: 1'], []), ...recordsOf([long, 'B: "q"'], [long], []), ...recordsOf([], ['C: é'], [])]
    const got = written(recs, Buffer.alloc(1000)).toString('utf8')
    assert.equal(got, recs.map(reference).join(''))
    assert.ok(got.includes(`["X-Long","${'v'.repeat(600_000)}"]`))
    // As text (the parallel reader's merge), before and after it.
    for (const r of [recs[0], recs[1], recs[2], recs[0]]) assert.equal(renderJson(r) + '\n', reference(r))
  })
})
