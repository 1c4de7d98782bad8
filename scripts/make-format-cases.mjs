#!/usr/bin/env node
// Builds the varnishncsa oracle for -F/--format (test/format.test.ts) with the real varnishncsa (7.1):
//   fixtures/ncsa-all.format                       a format using every specifier (one line, as typed after -F)
//   fixtures/<capture>.ncsa-default.txt            varnishncsa -r <capture>.vsl                    (default format)
//   fixtures/<capture>.ncsa-all.txt                varnishncsa -r <capture>.vsl -F "$(cat ncsa-all.format)"
//   fixtures/<capture>.ncsa-backend-all.txt        the same with -b (backend mode)
// for the captures lab/lab, varnish-7.1/small and format/edge. format/edge.vsl is made here: hand-written
// transactions in Varnish 7.1's binary log format, for what the real captures lack (control characters, quotes and
// backslashes, non-ASCII bytes, Authorization headers, repeated and empty headers, odd VCL_Log keys, …); its text
// rendering format/edge.vxid.log is `varnishlog -r edge.vsl`.
//
// Every child runs with TZ=UTC and LC_ALL=C (%t is local time); the test formats under TZ=UTC too.
//
//   node scripts/make-format-cases.mjs            write the files
//   node scripts/make-format-cases.mjs --check    exit 1 (naming the files) if any is out of date

import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const FIX = join(ROOT, 'fixtures')
const ENV = { ...process.env, TZ: 'UTC', LC_ALL: 'C' }
const CAPTURES = ['lab/lab', 'varnish-7.1/small', 'format/edge']

/** Every specifier of varnishncsa 7.1, TAB-separated (`\t` is varnishncsa's escape for a TAB). */
const ALL_FORMAT = [
  '%{Varnish:vxid}x', '%{Varnish:side}x', '%h', '%l', '%u', '%t', '"%r"', '%s', '%b', '%D', '%H', '%I', '%m', '%O',
  '%q', '%T', '%{s}T', '%{ms}T', '%{us}T', '%U', '%{Host}i', '%{User-Agent}i', '%{Referer}i', '%{X-Forwarded-For}i',
  '%{Authorization}i', '%{X-Empty}i', '%{X-Colon: a}i', '%{X-Cache}o', '%{Cache-Control}o', '%{Content-Type}o',
  '%{Age}o', '%{%Y-%m-%d %H:%M:%S}t', '%{sec}t', '%{msec}t', '%{usec}t', '%{msec_frac}t', '%{usec_frac}t',
  '%{%a %A %b %B %e %j %p}t', '%{%z %Z %s %G-W%V-%u %g %U %W %y %C}t', '%{%c|%D|%T|%-d|%_5H|%^b|%#A}t', '%{Varnish:hitmiss}x',
  '%{Varnish:handling}x', '%{Varnish:time_firstbyte}x', '%{VCL_Log:route}x', '%{VCL_Log:miss}x',
  '%{VSL:Timestamp:Resp[2]}x', '%{VSL:Timestamp:process}x', '%{VSL:Begin[3]}x', '%{VSL:ReqAcct}x',
  '%{VSL:BackendOpen[2]}x', '%{VSL:RespStatus}x', '%{VSL:Hit[2]}x', '%{VSL:VCL_call}x', '%{VSL:ReqURL[1]}x',
  '%{VSL:Link[2]}x', '%{VSL:ReqA[6]}x', 'lit\\"\\\\\\%',
].join('\\t')

// ---------------------------------------------------------------------------------------------------------------
// format/edge.vsl: Varnish 7.1's binary log. The file starts with "VSL\0"; a record is two little-endian words —
// (tag << 24) | length (data with its NUL), then vxid | marker (1 << 30 client, 1 << 31 backend) — and its data,
// NUL-terminated and padded to 4 bytes. Tag numbers as in Varnish 7.1 (read off lab.vsl against varnishlog -g raw).

const TAG = {
  BackendOpen: 6, HttpGarbage: 9, ReqMethod: 15, ReqURL: 16, ReqProtocol: 17, ReqHeader: 20, RespProtocol: 25,
  RespStatus: 26, RespReason: 27, RespHeader: 28, BereqMethod: 31, BereqURL: 32, BereqProtocol: 33, BereqHeader: 36,
  BerespProtocol: 41, BerespStatus: 42, BerespReason: 43, BerespHeader: 44, VCL_call: 60, VCL_return: 62,
  ReqStart: 63, Hit: 64, HitPass: 65, VCL_Log: 72, Link: 75, Begin: 76, End: 77, Timestamp: 80, ReqAcct: 81,
  PipeAcct: 82, BereqAcct: 83, HitMiss: 91,
}
const T0 = 1795461618

function ts(label, t, since = 0, last = 0) {
  return ['Timestamp', `${label}: ${(T0 + t).toFixed(6)} ${since.toFixed(6)} ${last.toFixed(6)}`]
}

/** A client request: [tag, data] pairs (data as latin1 bytes), with `o` replacing or adding parts. */
function request(o = {}) {
  const t = o.t ?? 0
  const recs = [
    ['Begin', o.begin ?? 'req 1 rxreq'],
    ts('Start', t),
    ts('Req', t),
    ['ReqStart', o.client ?? '192.0.2.10 51000 a0'],
  ]
  if (o.method !== null) recs.push(['ReqMethod', o.method ?? 'GET'])
  if (o.url !== null) recs.push(['ReqURL', o.url ?? '/edge'])
  if (o.protocol !== null) recs.push(['ReqProtocol', o.protocol ?? 'HTTP/1.1'])
  for (const h of o.headers ?? ['Host: edge.example', 'User-Agent: edge/1.0']) recs.push(['ReqHeader', h])
  recs.push(['VCL_call', 'RECV'], ...(o.log ?? []).map((l) => ['VCL_Log', l]), ['VCL_return', 'hash'])
  recs.push(...(o.handling ?? [['VCL_call', 'HASH'], ['VCL_return', 'lookup'], ['VCL_call', 'MISS'], ['VCL_return', 'fetch']]))
  recs.push(['RespProtocol', 'HTTP/1.1'])
  for (const s of o.status ?? ['200']) recs.push(['RespStatus', s])
  recs.push(['RespReason', 'OK'])
  for (const h of o.resp ?? ['Content-Type: text/plain', 'Age: 0', 'X-Cache: MISS']) recs.push(['RespHeader', h])
  recs.push(['VCL_call', 'DELIVER'], ['VCL_return', o.deliver ?? 'deliver'])
  recs.push(...(o.timestamps ?? [ts('Process', t + 0.000250, 0.00025, 0.00025), ts('Resp', t + 0.001500, 0.0015, 0.00125)]))
  if (o.acct !== null) recs.push(['ReqAcct', o.acct ?? '120 0 120 200 34 234'])
  recs.push(...(o.extra ?? []), ['End', ''])
  return recs
}

const b64 = (s) => Buffer.from(s, 'latin1').toString('base64')
const utf8 = (s) => Buffer.from(s, 'utf8').toString('latin1')

/** The hand-written transactions: vxid, side, records. Times are seconds after T0 (0.5 s apart). */
function edgeTransactions() {
  const tx = []
  let n = 0
  const req = (o = {}) => tx.push({ vxid: 1000 + n, side: 'c', recs: request({ t: n++ * 0.5, ...o }) })
  // Escaping: control characters, DEL, quote, backslash, bytes >= 0x80 (valid and invalid UTF-8), padding spaces.
  req({ headers: ['Host: edge.example', 'User-Agent: a\x01b\x1b[31mc\x7fd"e\\f\tg\xffh', `Referer: http://r.example/${utf8('Müller')}`, 'X-Forwarded-For:  \t 203.0.113.9 \x0b '] })
  req({ url: '/q?a=1&b="x"&c=\\y&d=%20', headers: ['Host: edge.example', 'X-Empty:', 'Referer:    ', 'X-Colon: a:b:c'] })
  req({ url: '  /spaced?x  ', headers: ['Host:   spaced.example  ', 'User-Agent:edge-nospace'] })
  // Authorization: basic (any case, extra spaces), without a colon, invalid, unpadded, non-ASCII, NUL, over-padded,
  // decoding to 126 bytes (varnishncsa's limit) and more. (Bytes >= 0x80 in the credential are left out: varnishncsa
  // looks them up with a signed char, outside its table.)
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('user:pass')}`] })
  req({ headers: ['Host: edge.example', `authorization:   bAsIc    ${b64('nocolon')}`] })
  req({ headers: ['Host: edge.example', 'Authorization: Basic !!!!'] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('user').replace(/=+$/, '')}`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64(utf8('Müller') + ':x\x01')}`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('\0b:c')}`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('user')}=`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('us')}${b64('er')}`] })
  req({ headers: ['Host: edge.example', 'Authorization: Bearer token', `Authorization: Basic ${b64('second:x')}`, `Authorization: Basic ${b64('third:x')}`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic\t${b64('tab:x')}`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('x'.repeat(120) + ':126')}`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('y'.repeat(123) + ':127')}`] })
  req({ headers: ['Host: edge.example', `Authorization: Basic ${b64('z'.repeat(124) + ':128')}`] })
  // Host: repeated (%r takes the first, %{Host}i the last), with http://, none; no protocol (HTTP/1.0), no method.
  req({ headers: ['Host: first.example', 'Host: second.example', 'User-Agent: one', 'user-agent: two'] })
  req({ headers: ['Host: http://scheme.example'] })
  req({ headers: ['User-Agent: nohost'], protocol: null })
  req({ method: null, url: null, protocol: null, headers: [], acct: null })
  // VCL_Log: keys are case-sensitive and need their colon; the first value wins, trimmed.
  req({ log: ['route:  first route  ', 'route:second', 'Route:upper', 'routex:no', 'miss:'] })
  // Status and response headers repeated: the last one wins.
  req({ status: ['200', '503'], resp: ['X-Cache: A', 'X-Cache: B', 'Cache-Control: max-age=1', 'cache-control: private'] })
  // Accounting with missing fields; IPv6 client; a pipe (PipeAcct, Pipe/PipeSess timestamps).
  req({ acct: '10 0', client: '2001:db8::7 443 a0' })
  req({
    handling: [['VCL_return', 'pipe'], ['Link', 'bereq 9999 pipe']],
    acct: null,
    timestamps: [ts('Pipe', n * 0.5 + 0.0003, 0.0003, 0.0003), ts('PipeSess', n * 0.5 + 0.0021, 0.0021, 0.0018)],
    extra: [['PipeAcct', '150 160 170 180']],
  })
  // Hit, hit-for-miss and hit-for-pass (7.1 calls them miss and pass).
  req({ handling: [['VCL_call', 'HASH'], ['VCL_return', 'lookup'], ['Hit', '77 119.999 10.000 0.000'], ['VCL_call', 'HIT'], ['VCL_return', 'deliver']] })
  req({ handling: [['VCL_call', 'HASH'], ['VCL_return', 'lookup'], ['HitMiss', '78 119.999'], ['VCL_call', 'MISS'], ['VCL_return', 'fetch']] })
  req({ handling: [['VCL_call', 'HASH'], ['VCL_return', 'lookup'], ['HitPass', '79 119.999'], ['VCL_call', 'PASS'], ['VCL_return', 'fetch']] })
  req({ handling: [['VCL_call', 'HASH'], ['VCL_return', 'lookup'], ['VCL_call', 'MISS'], ['VCL_return', 'synth'], ['VCL_call', 'SYNTH']] })
  // Records varnishncsa skips (HttpGarbage is an unsafe tag): they change nothing.
  req({ extra: [['HttpGarbage', 'GET / HTTP/1.1\x01']] })
  // Timestamps: upper-case labels (matched caselessly), an exponent, no Resp (duration 0), a later Start ignored.
  req({ timestamps: [ts('PROCESS', n * 0.5 + 0.0002, 0.0002, 0.0002), ['Timestamp', `Resp: ${T0 + n * 0.5}.25e0 0.25 0.1`]] })
  req({ timestamps: [ts('Process', n * 0.5 + 0.0002, 0.0002, 0.0002), ts('Start', n * 0.5 + 7)] })
  // A backend transaction (varnishncsa -b): BackendOpen, Bereq*, Beresp*, BereqAcct.
  const t = n++ * 0.5
  tx.push({
    vxid: 1000 + n - 1,
    side: 'b',
    recs: [
      ['Begin', 'bereq 1 fetch'], ts('Start', t), ['BereqMethod', 'GET'], ['BereqURL', '/be?x=1'], ['BereqProtocol', 'HTTP/1.1'],
      ['BereqHeader', 'Host: be.example'], ['BereqHeader', `Authorization: basic ${b64('beuser:pw')}`],
      ['VCL_call', 'BACKEND_FETCH'], ['VCL_return', 'fetch'], ts('Fetch', t + 0.00001, 0.00001, 0.00001),
      ['BackendOpen', '31 origin 198.51.100.7 8080 127.0.0.1 40000 connect'], ts('Bereq', t + 0.0001, 0.0001, 0.00009),
      ts('Beresp', t + 0.0009, 0.0009, 0.0008), ['BerespProtocol', 'HTTP/1.1'], ['BerespStatus', '404'],
      ['BerespReason', 'Not Found'], ['BerespHeader', 'X-Cache: BE'], ['BerespHeader', 'Content-Type: text/html'],
      ['VCL_call', 'BACKEND_RESPONSE'], ['VCL_Log', 'route:backend'], ['VCL_return', 'deliver'],
      ts('BerespBody', t + 0.0012, 0.0012, 0.0003), ['BereqAcct', '300 0 300 150 42 192'], ['End', ''],
    ],
  })
  return tx
}

function encodeVsl(transactions) {
  const parts = [Buffer.from('VSL\0', 'latin1')]
  for (const { vxid, side, recs } of transactions) {
    for (const [tag, data] of recs) {
      const id = TAG[tag]
      if (id === undefined) throw new Error(`no tag number for ${tag}`)
      const bytes = Buffer.from(data + '\0', 'latin1')
      const head = Buffer.alloc(8)
      head.writeUInt32LE(((id << 24) | bytes.length) >>> 0, 0)
      head.writeUInt32LE((vxid | (side === 'b' ? 0x80000000 : 0x40000000)) >>> 0, 4)
      parts.push(head, bytes, Buffer.alloc((4 - (bytes.length % 4)) % 4))
    }
  }
  return Buffer.concat(parts)
}

// ---------------------------------------------------------------------------------------------------------------

function run(cmd, args) {
  return execFileSync(cmd, args, { env: ENV, maxBuffer: 1 << 28 })
}

/** The files this script makes: repo-relative path → content. */
function build() {
  const out = new Map()
  // The edge capture is made afresh and read from a temporary copy, so that --check compares it too.
  const edge = encodeVsl(edgeTransactions())
  const tmp = mkdtempSync(join(tmpdir(), 'vlogdump-format-'))
  try {
    writeFileSync(join(tmp, 'edge.vsl'), edge)
    out.set('format/edge.vsl', edge)
    out.set('format/edge.vxid.log', run('varnishlog', ['-r', join(tmp, 'edge.vsl')]))
    out.set('ncsa-all.format', Buffer.from(ALL_FORMAT + '\n', 'utf8'))
    for (const c of CAPTURES) {
      const vsl = c === 'format/edge' ? join(tmp, 'edge.vsl') : join(FIX, `${c}.vsl`)
      out.set(`${c}.ncsa-default.txt`, run('varnishncsa', ['-r', vsl]))
      out.set(`${c}.ncsa-all.txt`, run('varnishncsa', ['-r', vsl, '-F', ALL_FORMAT]))
      out.set(`${c}.ncsa-backend-all.txt`, run('varnishncsa', ['-r', vsl, '-b', '-F', ALL_FORMAT]))
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return out
}

const check = process.argv.includes('--check')
let stale = 0
for (const [rel, content] of build()) {
  const path = join(FIX, rel)
  let old = null
  try {
    old = readFileSync(path)
  } catch {
    old = null
  }
  if (old !== null && old.equals(content)) continue
  if (check) {
    process.stderr.write(`out of date: fixtures/${rel}\n`)
    stale++
  } else {
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, content)
    process.stderr.write(`wrote fixtures/${rel}\n`)
  }
}
if (check && stale > 0) process.exit(1)
