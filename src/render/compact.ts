// Owns the compact view, the original vlogdump's two lines per request, improved:
//    203.0.113.73 => GET /download/1 HTTP/1.1 MISS
//                 <= 200 OK                                         12.139 ms
// then, briefly, what an operator wants to notice under it (ESI children, backend errors, background fetches,
// restarts, an incomplete record) and, on request, the headers. ClientRecord in, string out; color comes in as a
// palette; every piece of log text goes through escapeText.

import type { BackendFetch, ClientRecord, Header } from '../vsl/types.js'
import type { Palette } from './palette.js'
import { escapeText } from './escape.js'

export interface CompactOptions {
  /** --time: start each entry with its start time. */
  time: boolean
  reqHeaders: boolean
  respHeaders: boolean
  bereqHeaders: boolean
  berespHeaders: boolean
}

const ADDR_WIDTH = 15
const LINE_WIDTH = 75
const INDENT = ' '.repeat(ADDR_WIDTH + 1)
const SLOW_SECONDS = 1

export function compileCompact(opts: CompactOptions, p: Palette): (rec: ClientRecord) => string {
  const anyHeaders = opts.reqHeaders || opts.respHeaders || opts.bereqHeaders || opts.berespHeaders
  return (rec) => {
    let out = opts.time ? p.dim(rec.start ?? '-') + ' ' + entry(rec, p, 0) : entry(rec, p, 0)
    if (anyHeaders) {
      let h = ''
      if (opts.reqHeaders) h += headers(rec.side === 'backend' ? 'bereq' : 'req', rec.request.headers, p)
      if (opts.respHeaders) h += headers(rec.side === 'backend' ? 'beresp' : 'resp', rec.response.headers, p)
      if (rec.side === 'client' && rec.backend !== null) {
        if (opts.bereqHeaders) h += headers('bereq', rec.backend.request.headers, p)
        if (opts.berespHeaders) h += headers('beresp', rec.backend.response.headers, p)
      }
      if (h !== '') out += h + '\n'
    }
    return out
  }
}

function entry(rec: ClientRecord, p: Palette, depth: number): string {
  const req = rec.request
  const who =
    rec.side === 'backend' ? 'backend' : rec.client !== null ? escapeText(rec.client.ip) : '-'
  const what = rec.side === 'backend' ? (rec.reason ?? 'backend').toUpperCase() : handlingLabel(rec)
  const paint = rec.side === 'backend' ? p.dim : p.handling[rec.handling ?? 'none']
  let out =
    who.padStart(ADDR_WIDTH) +
    ' => ' +
    text(req.method) +
    ' ' +
    text(req.url) +
    ' ' +
    text(req.protocol) +
    ' ' +
    paint(what) +
    '\n'
  out += statusLine(INDENT + '<= ', rec.response.status, rec.response.reason, rec.timing.total, p)
  const sub = INDENT + '   '
  if (rec.restarts > 0) {
    out += sub + p.dim(`restarted ${rec.restarts}x (from vxid ${rec.restarted_vxids.join(', ')})`) + '\n'
  }
  if (rec.side === 'client' && rec.backend !== null) out += backendLine(sub, 'backend', rec.backend, p, false)
  if (rec.bgfetch !== null) out += backendLine(sub, 'bgfetch', rec.bgfetch, p, true)
  for (const child of rec.esi) out += esiLine(sub, child, p, depth)
  if (rec.incomplete !== null) out += sub + p.warn(`incomplete: ${rec.incomplete}`) + '\n'
  return out
}

function handlingLabel(rec: ClientRecord): string {
  let label = rec.handling === null ? '-' : rec.handling.toUpperCase()
  if (rec.grace) label += ' (grace)'
  else if (rec.streaming) label += ' (streaming)'
  return label
}

/** `<= 200 OK` with the time right-aligned at LINE_WIDTH. */
function statusLine(prefix: string, status: number | null, reason: string | null, total: number | null, p: Palette): string {
  const left = prefix + (status === null ? '-' : String(status)) + (reason === null ? '' : ' ' + escapeText(reason))
  const time = ms(total)
  const pad = Math.max(2, LINE_WIDTH - left.length - time.length)
  const paintedStatus = p.status(status)(status === null ? '-' : String(status))
  const paintedLeft = prefix + paintedStatus + (reason === null ? '' : ' ' + escapeText(reason))
  const paintedTime = total !== null && total >= SLOW_SECONDS ? p.slow(time) : time
  return paintedLeft + ' '.repeat(pad) + paintedTime + '\n'
}

/** Only what is worth a glance: a failed or retried fetch, or a background fetch. */
function backendLine(sub: string, label: string, b: BackendFetch, p: Palette, always: boolean): string {
  const failed = b.error !== null || (b.status !== null && b.status >= 500) || b.incomplete !== null
  if (!always && !failed && b.retries === 0) return ''
  let s = `${label} ${b.vxid}`
  if (b.name !== null) s += ' ' + escapeText(b.name)
  s += ' ' + (b.status === null ? '-' : String(b.status))
  if (b.error !== null) s += ' ' + escapeText(b.error)
  if (b.retries > 0) s += ` (retried ${b.retries}x)`
  if (b.incomplete !== null) s += ` (incomplete: ${b.incomplete})`
  s += '  ' + ms(b.timing.total)
  return sub + (failed ? p.warn(s) : p.dim(s)) + '\n'
}

function esiLine(sub: string, child: ClientRecord, p: Palette, depth: number): string {
  const pad = sub + '  '.repeat(depth)
  const status = child.response.status
  let s =
    pad +
    p.dim('esi ') +
    text(child.request.url) +
    ' ' +
    p.status(status)(status === null ? '-' : String(status)) +
    ' ' +
    p.handling[child.handling ?? 'none'](handlingLabel(child)) +
    '  ' +
    ms(child.timing.total) +
    '\n'
  if (child.backend !== null) s += backendLine(pad + '  ', 'backend', child.backend, p, false)
  if (child.incomplete !== null) s += pad + '  ' + p.warn(`incomplete: ${child.incomplete}`) + '\n'
  for (const c of child.esi) s += esiLine(sub, c, p, depth + 1)
  return s
}

function headers(prefix: string, list: Header[], p: Palette): string {
  let out = ''
  for (const [name, value] of list) out += '   ' + p.label(`${prefix}.http.`) + escapeText(name) + ' = ' + escapeText(value) + '\n'
  return out
}

function text(s: string | null): string {
  return s === null ? '-' : escapeText(s)
}

export function ms(seconds: number | null): string {
  return seconds === null ? '-' : (seconds * 1000).toFixed(3) + ' ms'
}
