#!/usr/bin/env node
// Builds test/query-cases.json: the expected results of varnishlog's query language (-q, vsl-query(7)) on the
// binary captures, made with the real varnishlog (7.1). For each case it runs
//   varnishlog -r fixtures/<capture>.vsl -g request [-C] -q Q1 [-q Q2 ...] [-Q file]
// and records the vxids of the level-1 group headers it prints (`*   << Request  >> N`; a restarted request
// prints its restart child as another level-1 header in the same group, so both vxids appear). For an invalid
// query it records varnishlog's error instead (exit status 1, nothing on stdout): `error` is the message after the
// "Query expression error:" line, up to and including "(Pos N)" (it holds a newline when the offending token is
// one; it is "" for an empty or comment-only query), and `stderr` is varnishlog's whole stderr.
//
//   node scripts/make-query-cases.mjs            write test/query-cases.json
//   node scripts/make-query-cases.mjs --check    exit 1 (with a diff) if test/query-cases.json is out of date
//   node scripts/make-query-cases.mjs --stats    also print "count/total" per case on stderr
//   node scripts/make-query-cases.mjs --version 7.7 --varnish /tmp/varnish/7.7.3
//                                                 the same cases with that version's varnishlog, on its own lab capture
//                                                 (fixtures/varnish-7.7/lab.vsl): test/query-cases/varnish-7.7.json.
//                                                 Cases that name vxids of the 7.1 captures are left out; the others
//                                                 all run on the lab capture. (--check works here too.)
//   ... --dir fixtures/holdout/varnish-7.7 --out test/query-cases/holdout-7.7.json
//                                                 the same on another capture of that version
//
// Every valid case is meant to select a non-empty, non-total subset of the groups, except the cases whose name
// ends in "-empty" (the point is that nothing matches) or "-total" (the point is that every group matches).

import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const OUT = 'test/query-cases.json'
const L = 'lab/lab'
const S = 'varnish-7.1/small'

// vxids used by the vxid cases (see the .request.log renderings):
//   lab 98315/98316: a restarted /restart/3 (parent, child; the child's group has no backend transaction).
//   lab 65548: an /esi/1 group; 65550 is one of its ESI children, 65549 its first bereq.
//   lab 65540: a group with a single transaction (so `vxid != 65540` drops exactly that group).
//   lab 229382: a single-transaction group whose only `Timestamp Resp` since-start value is 0.001951 (varnishlog
//   7.1 compares floats with 3 decimals, truncated, on both sides: see the float-3-decimals-* cases).
const cases = [
  // --- boolean operators, parentheses and precedence (not > and > or)
  { name: 'and', capture: L, queries: ['ReqMethod eq GET and RespStatus == 404'] },
  { name: 'or', capture: L, queries: ['RespStatus == 403 or RespStatus == 503 or RespStatus == 500'] },
  { name: 'not-over-group', capture: L, queries: ['not VCL_call eq HIT'] },
  { name: 'precedence-or-and-unparenthesized', capture: S, queries: ['ReqURL ~ "^/img/" or ReqURL ~ "^/static/" and RespStatus == 304'] },
  { name: 'precedence-or-and-parenthesized', capture: S, queries: ['(ReqURL ~ "^/img/" or ReqURL ~ "^/static/") and RespStatus == 304'] },
  { name: 'precedence-and-or', capture: S, queries: ['ReqMethod eq POST and RespStatus == 200 or RespStatus == 418'] },
  { name: 'precedence-and-or-parenthesized', capture: S, queries: ['ReqMethod eq POST and (RespStatus == 200 or RespStatus == 418)'] },
  { name: 'precedence-not-and', capture: S, queries: ['not RespHeader:X-Cache eq HIT and ReqURL ~ "^/img/"'] },
  { name: 'precedence-not-parenthesized', capture: S, queries: ['not (RespHeader:X-Cache eq HIT and ReqURL ~ "^/img/")'] },
  { name: 'not-of-parenthesized-not', capture: L, queries: ['not (not FetchError)'] },
  { name: 'nested-parentheses', capture: L, queries: ['((ReqURL ~ "^/static/" or ReqURL ~ "^/img/") and not (RespHeader:X-Cache eq HIT))'] },

  // --- bare tags (a record exists)
  { name: 'bare-FetchError', capture: L, queries: ['FetchError'] },
  { name: 'bare-FetchError-small', capture: S, queries: ['FetchError'] },
  { name: 'bare-HitMiss', capture: S, queries: ['HitMiss'] },
  { name: 'bare-HitPass-or-HitMiss', capture: L, queries: ['HitPass or HitMiss'] },
  { name: 'bare-PipeAcct', capture: S, queries: ['PipeAcct'] },
  { name: 'bare-tag-name-caseless', capture: L, queries: ['hitmiss'] },

  // --- tag lists and globs
  { name: 'taglist-requrl-berequrl', capture: L, queries: ['ReqURL,BereqURL ~ "^/(frag|grace)/"'] },
  { name: 'taglist-respstatus-berespstatus', capture: S, queries: ['RespStatus,BerespStatus == 304'] },
  { name: 'glob-req-star', capture: S, queries: ['Req* ~ "bingbot"'] },
  { name: 'glob-star-error', capture: S, queries: ['*Error'] },
  { name: 'glob-star-error-lab', capture: L, queries: ['*Error'] },
  { name: 'glob-beresp-star-eq', capture: S, queries: ['Beresp* eq 503'] },
  { name: 'glob-beresp-star-prefix', capture: S, queries: ['Beresp*:Set-Cookie'] },
  { name: 'glob-star-all-tags', capture: L, queries: ['* ~ "SamsungBrowser"'] },
  { name: 'glob-in-list', capture: S, queries: ['ReqURL,Bereq* ~ "^/grace/"'] },
  { name: 'glob-middle', capture: S, queries: ['Be*URL ~ "^/grace/"'] },
  { name: 'glob-star-bare-total', capture: L, queries: ['*'] },

  // --- :prefix (case-insensitive, must be followed by ':')
  { name: 'prefix-user-agent-lowercase', capture: L, queries: ['ReqHeader:user-agent ~ Android'] },
  { name: 'prefix-user-agent-uppercase', capture: S, queries: ['ReqHeader:USER-AGENT ~ "bot"'] },
  { name: 'prefix-x-cache-eq', capture: S, queries: ['RespHeader:X-Cache eq HIT'] },
  { name: 'prefix-bare-cookie', capture: S, queries: ['ReqHeader:Cookie'] },
  { name: 'prefix-not-cookie', capture: S, queries: ['not ReqHeader:Cookie'] },
  { name: 'prefix-partial-name-empty', capture: S, queries: ['ReqHeader:User-Agen'] },
  { name: 'prefix-timestamp-resp-float', capture: S, queries: ['Timestamp:Resp[2] > 0.1'] },
  { name: 'prefix-value-eq-with-space', capture: S, queries: ['RespHeader:Content-Type eq "text/html; charset=utf-8"'] },

  // --- [field]
  { name: 'field-hit-negative-ttl', capture: S, queries: ['Hit[2] < 0.0'] },
  { name: 'field-reqacct-body', capture: S, queries: ['ReqAcct[5] > 10000'] },
  { name: 'field-begin-esi', capture: S, queries: ['Begin[3] eq esi'] },
  { name: 'field-link-restart', capture: S, queries: ['Link[3] eq restart'] },
  { name: 'field-backendopen-origin', capture: L, queries: ['BackendOpen[2] eq origin'] },
  { name: 'field-begin-restart', capture: L, queries: ['Begin[3] eq restart'] },
  { name: 'field-begin-restart-small', capture: S, queries: ['Begin[3] eq restart'] },
  { name: 'field-missing-empty', capture: S, queries: ['ReqAcct[7]'] },
  { name: 'field-bare', capture: S, queries: ['Link[3]'] },
  { name: 'field-double-quotes-stripped', capture: S, queries: ['VCL_acl[3] eq "127.0.0.1"'] },
  { name: 'field-double-quotes-stripped-empty', capture: S, queries: ['VCL_acl[3] eq "\\"127.0.0.1\\""'] },
  { name: 'field-etag-quotes-stripped', capture: S, queries: ['RespHeader:ETag[1] ~ "^img-"'] },
  { name: 'field-etag-weak-not-stripped', capture: S, queries: ['RespHeader:ETag[1] ~ "^W/\\"gz"'] },
  { name: 'prefix-value-keeps-quotes', capture: S, queries: ['RespHeader:ETag ~ "^\\"img-"'] },
  { name: 'prefix-value-keeps-quotes-empty', capture: S, queries: ['RespHeader:ETag ~ "^img-"'] },
  { name: 'field-link-bgfetch', capture: L, queries: ['Link[3] eq bgfetch'] },

  // --- levels
  { name: 'level-1', capture: L, queries: ['{1}ReqURL ~ "^/esi/2"'] },
  { name: 'level-2', capture: L, queries: ['{2}ReqURL ~ "^/frag/nested"'] },
  { name: 'level-2-leaf-empty', capture: L, queries: ['{2}ReqURL ~ "^/frag/leaf"'] },
  { name: 'level-3-leaf', capture: L, queries: ['{3}ReqURL ~ "^/frag/leaf"'] },
  { name: 'level-2-plus-frag', capture: L, queries: ['{2+}ReqURL ~ frag'] },
  { name: 'level-3-minus-bereq', capture: L, queries: ['{3-}BereqURL ~ "^/frag/"'] },
  { name: 'level-4-bereq', capture: L, queries: ['{4}BereqURL'] },
  { name: 'level-2-plus-process', capture: L, queries: ['{2+}Timestamp:Process[2] > 0.001'] },
  { name: 'level-2-plus-process-small', capture: S, queries: ['{2+}Timestamp:Process[2] > 0.001'] },
  { name: 'level-1-beresp-empty', capture: L, queries: ['{1}BerespStatus'] },
  { name: 'level-0-empty', capture: S, queries: ['{0}ReqURL'] },
  { name: 'level-2-plus-restart-empty', capture: S, queries: ['{2+}Begin[3] eq restart'] },
  { name: 'level-1-restart', capture: S, queries: ['{1}Begin[3] eq restart'] },
  { name: 'level-2-status', capture: S, queries: ['{2}RespStatus == 200 and {1}RespStatus == 200'] },

  // --- operators, integer vs float
  { name: 'op-eq-int', capture: S, queries: ['RespStatus == 304'] },
  { name: 'op-eq-float-rhs-int-lhs', capture: S, queries: ['RespStatus == 304.0'] },
  { name: 'op-ne-int', capture: S, queries: ['RespStatus != 200'] },
  { name: 'op-lt', capture: S, queries: ['RespStatus < 204'] },
  { name: 'op-le', capture: S, queries: ['RespStatus <= 204 and RespStatus != 200'] },
  { name: 'op-gt', capture: S, queries: ['RespStatus > 400'] },
  { name: 'op-ge', capture: S, queries: ['RespStatus >= 400'] },
  { name: 'op-ge-lab', capture: L, queries: ['RespStatus >= 400'] },
  { name: 'op-seq', capture: S, queries: ['ReqMethod eq HEAD or ReqMethod eq OPTIONS'] },
  { name: 'op-sne', capture: S, queries: ['ReqMethod ne GET'] },
  { name: 'op-regex', capture: S, queries: ['ReqURL ~ "^/(static|img)/"'] },
  { name: 'op-nomatch', capture: L, queries: ['ReqURL !~ "^/(static|img|esi|frag|private|api|missing)/"'] },
  { name: 'op-int-hex-rhs', capture: S, queries: ['RespStatus == 0x130'] },
  { name: 'op-int-octal-rhs', capture: S, queries: ['RespStatus == 0460'] },
  { name: 'op-int-plus-sign', capture: S, queries: ['RespStatus == +418'] },
  { name: 'op-numeric-first-field', capture: S, queries: ['ReqAcct > 300'] },
  { name: 'op-numeric-header-value', capture: S, queries: ['RespHeader:X-Cache-Hits > 5'] },
  { name: 'op-numeric-nonnumeric-lhs-empty', capture: S, queries: ['ReqURL > 5'] },
  { name: 'timestamp-int-rhs-truncates', capture: L, queries: ['Timestamp:Resp[2] > 0'] },
  { name: 'timestamp-float-rhs-0.01', capture: L, queries: ['Timestamp:Resp[2] > 0.01'] },
  { name: 'timestamp-float-rhs-0.0', capture: L, queries: ['Timestamp:Resp[2] > 0.0'] },
  { name: 'timestamp-int-rhs-ge-1', capture: S, queries: ['Timestamp:Resp[2] >= 1'] },
  { name: 'hit-ttl-int-rhs-truncates-empty', capture: L, queries: ['Hit[2] < 0'] },
  { name: 'hit-ttl-float-rhs', capture: L, queries: ['Hit[2] < 0.0'] },
  { name: 'string-ne-empty-record', capture: L, queries: ['Filters ne ""'] },
  { name: 'float-3-decimals-lhs-zero', capture: L, queries: ['Timestamp:Resp[2] == 0.0'] },
  { name: 'float-3-decimals-rhs-truncated', capture: L, queries: ['Timestamp:Resp[2] > 0.0009'] },
  { name: 'float-3-decimals-eq', capture: L, queries: ['vxid == 229382 and Timestamp:Resp[2] == 0.001'] },
  { name: 'float-3-decimals-eq-rhs', capture: L, queries: ['vxid == 229382 and Timestamp:Resp[2] == 0.0019'] },
  { name: 'float-3-decimals-ne-exact-empty', capture: L, queries: ['vxid == 229382 and Timestamp:Resp[2] != 0.001951'] },

  // --- strings
  { name: 'string-single-quoted', capture: S, queries: ["ReqURL ~ '^/lang/'"] },
  { name: 'string-double-quoted', capture: S, queries: ['ReqURL ~ "^/lang/"'] },
  { name: 'string-backslash-escape-regex', capture: S, queries: ['ReqURL ~ "\\\\?q="'] },
  { name: 'string-escaped-double-quote', capture: S, queries: ['RespHeader:ETag ~ "^\\"[0-9a-f]"'] },
  { name: 'string-double-quote-in-single', capture: S, queries: ['RespHeader:ETag ~ \'^W/"\''] },
  { name: 'string-unquoted-rhs', capture: L, queries: ['RespHeader:X-Cache eq MISS and ReqMethod eq GET and RespStatus == 200'] },
  { name: 'string-quoted-rhs-slash', capture: L, queries: ['ReqProtocol eq "HTTP/2.0"'] },
  { name: 'string-unquoted-regex', capture: S, queries: ['ReqURL ~ img.'] },
  { name: 'unsafe-tag-raw-data-eq', capture: L, queries: ['HttpGarbage eq "GET"'] },
  { name: 'unsafe-tag-raw-data-regex', capture: L, queries: ['HttpGarbage ~ "^GARBAGE\\\\r\\\\n"'] },
  { name: 'unsafe-tag-rendering-empty', capture: L, queries: ['HttpGarbage ~ "%0d" or HttpGarbage ~ "^\\""'] },

  // --- vxid
  { name: 'vxid-eq-top', capture: L, queries: ['vxid == 98315'] },
  { name: 'vxid-eq-restart-child', capture: L, queries: ['vxid == 98316'] },
  { name: 'vxid-eq-esi-child', capture: L, queries: ['vxid == 65550'] },
  { name: 'vxid-eq-bereq', capture: L, queries: ['vxid == 65549'] },
  { name: 'vxid-gt', capture: L, queries: ['vxid > 98304'] },
  { name: 'vxid-lt', capture: S, queries: ['vxid < 32768'] },
  { name: 'vxid-ne', capture: L, queries: ['vxid != 65540'] },
  { name: 'vxid-ne-restart-pair-total', capture: L, queries: ['vxid != 98316'] },
  { name: 'vxid-and-tag', capture: S, queries: ['vxid >= 294912 and RespStatus == 200'] },

  // --- several -q (ORed), -Q file
  { name: 'multi-q-ored', capture: S, queries: ['RespStatus == 418', 'ReqMethod eq POST'] },
  { name: 'multi-q-three', capture: L, queries: ['FetchError', 'HitPass', 'PipeAcct'] },
  { name: 'q-newline-separates-queries', capture: S, queries: ['RespStatus == 418\nReqMethod eq POST'] },
  { name: 'q-backslash-newline-continues', capture: S, queries: ['RespStatus \\\n== 418'] },
  { name: 'q-trailing-comment', capture: S, queries: ['RespStatus == 418 # or ReqMethod eq POST'] },
  { name: 'q-backslash-does-not-continue-comment', capture: S, queries: ['# teapots \\\nRespStatus == 418'] },
  {
    name: 'query-file-comments-continuation',
    capture: S,
    queries: [],
    queryFile: '# teapots\nRespStatus == 418\n\n# POSTs to /post, continued over two lines\nReqMethod eq POST and \\\nReqURL ~ "^/post"\n',
  },
  {
    name: 'query-file-plus-q',
    capture: L,
    queries: ['HitPass'],
    queryFile: '# pipes\nPipeAcct\n',
  },

  // --- -C caseless
  { name: 'caseless-off-regex-empty', capture: S, queries: ['ReqURL ~ "STATIC/1"'] },
  { name: 'caseless-on-regex', capture: S, queries: ['ReqURL ~ "STATIC/1"'], caseless: true },
  { name: 'caseless-off-eq-empty', capture: S, queries: ['ReqMethod eq "post"'] },
  { name: 'caseless-on-eq', capture: S, queries: ['ReqMethod eq "post"'], caseless: true },
  { name: 'caseless-on-ne', capture: S, queries: ['ReqMethod ne "get"'], caseless: true },
  { name: 'caseless-on-nomatch', capture: L, queries: ['RespHeader:X-Cache !~ "hit"'], caseless: true },

  // --- VCL_Log / VCL_call
  { name: 'vcl-log-route', capture: L, queries: ['VCL_Log:route eq api'] },
  { name: 'vcl-log-miss-regex', capture: S, queries: ['VCL_Log:miss ~ "^/img/"'] },
  { name: 'vcl-log-esi-level', capture: L, queries: ['VCL_Log:esi_level == 2'] },
  { name: 'vcl-call-hit', capture: S, queries: ['VCL_call eq HIT'] },
  { name: 'vcl-call-pass-and-hit-empty', capture: L, queries: ['VCL_call eq PASS and VCL_call eq HIT'] },
  { name: 'vcl-call-pass-and-hit-small-empty', capture: S, queries: ['VCL_call eq PASS and VCL_call eq HIT'] },
  { name: 'vcl-call-miss-and-hit', capture: S, queries: ['VCL_call eq MISS and VCL_call eq HIT'] },
  { name: 'vcl-call-miss-and-hit-lab', capture: L, queries: ['VCL_call eq MISS and VCL_call eq HIT'] },

  // --- session / backend / ESI / restart
  { name: 'sessclose-never-in-request-grouping-empty', capture: S, queries: ['SessClose'] },
  { name: 'sessopen-never-in-request-grouping-empty', capture: L, queries: ['SessOpen or Begin[1] eq sess'] },
  { name: 'backend-only-beresp-5xx', capture: S, queries: ['BerespStatus >= 500'] },
  { name: 'backend-only-beresp-5xx-not-resp', capture: S, queries: ['BerespStatus >= 500 and not RespStatus >= 500'] },
  { name: 'esi-children-only-frag', capture: S, queries: ['{2+}ReqURL ~ frag'] },
  { name: 'restart-begin', capture: L, queries: ['Begin[3] eq restart and RespStatus == 404'] },

  // --- invalid queries (error recorded instead of vxids)
  { name: 'invalid-unknown-tag', capture: L, queries: ['Foo'] },
  { name: 'invalid-not-not', capture: L, queries: ['not not FetchError'] },
  { name: 'invalid-unquoted-slash', capture: L, queries: ['ReqProtocol eq HTTP/2.0'] },
  { name: 'invalid-unquoted-regex-star', capture: L, queries: ['ReqURL ~ *img'] },
  { name: 'invalid-only-comment', capture: L, queries: ['# nothing here'] },
  { name: 'invalid-newline-without-continuation', capture: L, queries: ['ReqMethod eq POST and\nReqURL ~ post'] },
  { name: 'invalid-line-starting-with-or', capture: L, queries: ['ReqMethod eq POST\nor RespStatus == 418'] },
  { name: 'invalid-continuation-in-string', capture: L, queries: ['ReqURL ~ "a\\\nb"'] },
  { name: 'invalid-unknown-glob', capture: L, queries: ['Req*,Foo*'] },
  { name: 'invalid-glob-two-stars', capture: L, queries: ['*e*'] },
  { name: 'invalid-missing-operand', capture: L, queries: ['RespStatus =='] },
  { name: 'invalid-unbalanced-open', capture: L, queries: ['(RespStatus == 200'] },
  { name: 'invalid-unbalanced-close', capture: L, queries: ['RespStatus == 200)'] },
  { name: 'invalid-vxid-regex', capture: L, queries: ['vxid ~ 3'] },
  { name: 'invalid-vxid-level', capture: L, queries: ['{2}vxid == 1'] },
  { name: 'invalid-vxid-taglist', capture: L, queries: ['vxid,ReqURL == 3'] },
  { name: 'invalid-vxid-float', capture: L, queries: ['vxid == 1.5'] },
  { name: 'invalid-bad-regex', capture: L, queries: ['ReqURL ~ "("'] },
  { name: 'invalid-escape-decoded-regex', capture: L, queries: ['ReqURL ~ "\\?q="'] },
  { name: 'invalid-unterminated-string', capture: L, queries: ['ReqURL eq "abc'] },
  { name: 'invalid-int-parse', capture: L, queries: ['RespStatus > abc'] },
  { name: 'invalid-float-exponent', capture: L, queries: ['Timestamp:Resp[2] > 1e1'] },
  { name: 'invalid-empty-query', capture: L, queries: [''] },
  { name: 'invalid-single-equals', capture: L, queries: ['RespStatus = 200'] },
  { name: 'invalid-trailing-and', capture: L, queries: ['RespStatus == 200 and'] },
  { name: 'invalid-field-zero', capture: L, queries: ['ReqURL[0] eq a'] },
  { name: 'invalid-level-syntax', capture: L, queries: ['{x}ReqURL'] },
  { name: 'invalid-empty-prefix', capture: L, queries: ['ReqHeader:'] },
  { name: 'invalid-trailing-token', capture: L, queries: ['ReqURL ~ abc def'] },
  { name: 'invalid-second-q', capture: L, queries: ['RespStatus == 200', 'Foo'] },
  { name: 'invalid-query-file', capture: L, queries: [], queryFile: '# ok line\nRespStatus == 200\nRespStatus ==\n' },
]

function headerVxids(text) {
  const out = []
  for (const line of text.split('\n')) {
    const m = /^\* +<< \w+ +>> (\d+)/.exec(line)
    if (m) out.push(Number(m[1]))
  }
  return out.sort((a, b) => a - b)
}

// --version V --varnish PREFIX: another version's varnishlog, on that version's lab capture.
const argv0 = process.argv.slice(2)
const optIndex = (name) => argv0.indexOf(name)
const version = optIndex('--version') >= 0 ? argv0[optIndex('--version') + 1] : null
const prefix = optIndex('--varnish') >= 0 ? argv0[optIndex('--varnish') + 1] : null
if ((version === null) !== (prefix === null)) throw new Error('--version and --varnish go together')
const dirOpt = optIndex('--dir') >= 0 ? argv0[optIndex('--dir') + 1].replace(/^fixtures\//, '').replace(/\/$/, '') : `varnish-${version}`
const outOpt = optIndex('--out') >= 0 ? argv0[optIndex('--out') + 1] : null
const OUT_FILE = outOpt ?? (version === null ? OUT : `test/query-cases/varnish-${version}.json`)
const VARNISHLOG = prefix === null ? 'varnishlog' : join(prefix, 'bin/varnishlog')
const ENV = prefix === null ? process.env : { ...process.env, LD_LIBRARY_PATH: join(prefix, 'lib') }
/** A case that names a vxid of the 7.1 captures means nothing on another capture. */
const namesVxids = (c) => [...c.queries, c.queryFile ?? ''].some((q) => /vxid\s*[<>=!]+\s*\d/.test(q))
const selected = version === null ? cases : cases.filter((c) => !namesVxids(c)).map((c) => ({ ...c, capture: `${dirOpt}/lab` }))

function run(c, tmp) {
  const argv = ['-r', `fixtures/${c.capture}.vsl`, '-g', 'request']
  if (c.caseless) argv.push('-C')
  for (const q of c.queries) argv.push('-q', q)
  if (c.queryFile !== undefined) {
    const f = join(tmp, 'query.txt')
    writeFileSync(f, c.queryFile)
    argv.push('-Q', f)
  }
  const r = spawnSync(VARNISHLOG, argv, { encoding: 'latin1', maxBuffer: 1 << 30, env: ENV })
  if (r.error) throw r.error
  const res = { name: c.name, capture: c.capture, queries: c.queries, caseless: c.caseless === true }
  res.queryFile = c.queryFile ?? null
  if (r.status !== 0) {
    const lines = r.stderr.split('\n')
    // The message is the text after the header, up to and including "(Pos N)" (it can contain a newline when
    // the offending token is one), or its first line when there is no position.
    const body = lines[0] === 'Query expression error:' ? r.stderr.slice(lines[0].length + 1) : r.stderr
    const m = /^[^]*?\(Pos \d+\)/.exec(body)
    res.error = m ? m[0] : body.split('\n')[0]
    res.stderr = r.stderr
    if (r.stdout !== '') throw new Error(`${c.name}: output despite error`)
  } else {
    if (r.stderr !== '') throw new Error(`${c.name}: unexpected stderr: ${r.stderr}`)
    res.vxids = headerVxids(r.stdout)
  }
  return res
}

function build() {
  const names = new Set()
  for (const c of selected) {
    if (names.has(c.name)) throw new Error(`duplicate case name ${c.name}`)
    names.add(c.name)
  }
  const tmp = mkdtempSync(join(tmpdir(), 'query-cases-'))
  try {
    return selected.map((c) => run(c, tmp))
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}

// One case per line keeps the file small and diffs readable.
function serialize(results) {
  return '[\n' + results.map((r) => '  ' + JSON.stringify(r)).join(',\n') + '\n]\n'
}

const args = process.argv.slice(2)
const results = build()
const text = serialize(results)

if (args.includes('--stats')) {
  const totals = {}
  for (const cap of new Set(results.map((r) => r.capture))) {
    totals[cap] = headerVxids(execFileSync(VARNISHLOG, ['-r', `fixtures/${cap}.vsl`, '-g', 'request'], { encoding: 'latin1', maxBuffer: 1 << 30, env: ENV })).length
  }
  for (const r of results) {
    const what = r.error !== undefined ? `ERROR ${JSON.stringify(r.error)}` : `${r.vxids.length}/${totals[r.capture]}`
    const warn = r.error === undefined && ((r.vxids.length === 0) !== r.name.endsWith('-empty') || (r.vxids.length === totals[r.capture]) !== r.name.endsWith('-total')) ? '  <-- check' : ''
    process.stderr.write(`${r.name.padEnd(48)} ${what}${warn}\n`)
  }
}

if (args.includes('--check')) {
  let old = ''
  try {
    old = readFileSync(OUT_FILE, 'utf8')
  } catch {
    // missing file: out of date
  }
  if (old === text) {
    console.log(`${OUT_FILE} is up to date (${results.length} cases)`)
  } else {
    console.error(`${OUT_FILE} is out of date; re-run: node scripts/make-query-cases.mjs ${argv0.filter((a) => a !== '--check').join(' ')}`)
    const oldLines = old.split('\n')
    const newLines = text.split('\n')
    const oldSet = new Set(oldLines)
    const newSet = new Set(newLines)
    for (const l of oldLines) if (l !== '' && !newSet.has(l)) console.error(`- ${l}`)
    for (const l of newLines) if (l !== '' && !oldSet.has(l)) console.error(`+ ${l}`)
    process.exit(1)
  }
} else {
  mkdirSync(dirname(OUT_FILE), { recursive: true })
  writeFileSync(OUT_FILE, text)
  console.log(`wrote ${OUT_FILE} (${results.length} cases)`)
}
