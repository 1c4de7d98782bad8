// Owns the JSON lines output: one ClientRecord in, one line of JSON out, keys in the documented order (README
// "JSON schema"). Never colored; JSON.stringify escapes C0 control characters by JSON's own rules, and DEL, C1 and
// the invisible bidi/format characters (legal raw in JSON, but live on a terminal) are escaped as \uXXXX as well,
// as the line is written (the `json` encoding of src/output.ts, which also ends it with LF).

import type { BackendFetch, ClientRecord, HttpRequest, HttpResponse } from '../vsl/types.js'

/** The record as JSON text, without its LF; written with the `json` encoding (src/output.ts). */
export function renderJson(rec: ClientRecord): string {
  return JSON.stringify(jsonRecord(rec))
}

function jsonRecord(r: ClientRecord): object {
  return {
    vxid: r.vxid,
    side: r.side,
    reason: r.reason,
    parent: r.parent,
    session: r.session,
    start: r.start,
    client: r.client,
    request: jsonRequest(r.request),
    response: jsonResponse(r.response),
    handling: r.handling,
    grace: r.grace,
    streaming: r.streaming,
    restarts: r.restarts,
    restarted_vxids: r.restarted_vxids,
    timing: r.timing,
    bytes: r.bytes,
    backend: jsonBackend(r.backend),
    bgfetch: jsonBackend(r.bgfetch),
    esi: r.esi.map(jsonRecord),
    vcl_log: r.vcl_log,
    incomplete: r.incomplete,
  }
}

function jsonBackend(b: BackendFetch | null): object | null {
  if (b === null) return null
  return {
    vxid: b.vxid,
    reason: b.reason,
    name: b.name,
    status: b.status,
    error: b.error,
    retries: b.retries,
    retried_vxids: b.retried_vxids,
    timing: b.timing,
    bytes: b.bytes,
    request: jsonRequest(b.request),
    response: jsonResponse(b.response),
    incomplete: b.incomplete,
  }
}

// Explicit objects: the record's request and response decode their headers on first access (a getter), which
// JSON.stringify would not see.
function jsonRequest(q: HttpRequest): object {
  return { method: q.method, url: q.url, protocol: q.protocol, headers: q.headers }
}

function jsonResponse(p: HttpResponse): object {
  return { status: p.status, reason: p.reason, protocol: p.protocol, headers: p.headers }
}
