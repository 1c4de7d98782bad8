// Owns talking to ClickHouse's HTTP interface: a query (URL parameters) and an optional gzip'd body in, one
// Answer out, never a throw. The answer says what the retry logic needs to know: the server's own error (with
// its code and message), nothing reached it (safe to send again), or the request may have reached it without an
// answer coming back (an insert must be checked before it is sent again). node:http/https only; one keep-alive
// connection at a time (batches are sent one after the other).

import { Agent as HttpAgent, request as httpRequest, type ClientRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

export type Answer =
  | { kind: 'ok'; text: string }
  /** The server answered with an error: its exception code (null when the answer has none: a proxy's). */
  | { kind: 'error'; status: number; code: number | null; message: string }
  /** Nothing reached the server: connection refused, no such host. */
  | { kind: 'unreached'; message: string }
  /** The request may have reached the server, but no (whole) answer came back: reset, timeout. */
  | { kind: 'lost'; message: string }

export interface Transport {
  send(params: Record<string, string>, body: Buffer | null): Promise<Answer>
  /** Ends what is in flight (its answer: lost) and the idle connection. */
  close(): void
}

export interface Credentials {
  user: string | null
  password: string | null
}

/** Errors raised before a connection existed: the request cannot have been read. */
const UNREACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EAI_NONAME'])

/** Longest silence from the server before a request counts as lost. */
export const REQUEST_TIMEOUT_MS = 30_000

export class HttpTransport implements Transport {
  private readonly agent: HttpAgent
  private readonly request: typeof httpRequest
  private readonly base: URL
  private readonly auth: string | null
  private readonly inflight = new Set<ClientRequest>()

  constructor(
    url: string,
    credentials: Credentials,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.base = new URL(url)
    const https = this.base.protocol === 'https:'
    this.request = https ? httpsRequest : httpRequest
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 })
    const { user, password } = credentials
    // Basic auth, which every ClickHouse version takes; the password is never put into a URL or a message.
    this.auth = user === null && password === null ? null : 'Basic ' + Buffer.from(`${user ?? 'default'}:${password ?? ''}`).toString('base64')
  }

  send(params: Record<string, string>, body: Buffer | null): Promise<Answer> {
    const url = new URL(this.base)
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    const headers: Record<string, string | number> = { 'Content-Length': body === null ? 0 : body.length }
    if (body !== null) headers['Content-Encoding'] = 'gzip'
    if (this.auth !== null) headers.Authorization = this.auth
    return new Promise<Answer>((resolve) => {
      let settled = false
      const done = (a: Answer): void => {
        if (settled) return
        settled = true
        this.inflight.delete(req)
        resolve(a)
      }
      const req = this.request(url, { method: 'POST', agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          // An error text is short; a long answer (a big SELECT) is never asked for.
          if (size < 1 << 20) chunks.push(c)
          size += c.length
        })
        res.on('error', (err) => done({ kind: 'lost', message: describe(err) }))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          const status = res.statusCode ?? 0
          if (status === 200) return done({ kind: 'ok', text })
          const header = res.headers['x-clickhouse-exception-code']
          const code = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : exceptionCode(text)
          done({ kind: 'error', status, code, message: serverMessage(text, status) })
        })
      })
      this.inflight.add(req)
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })))
      req.on('error', (err: NodeJS.ErrnoException) => {
        done({ kind: err.code !== undefined && UNREACHED.has(err.code) ? 'unreached' : 'lost', message: describe(err) })
      })
      req.end(body ?? undefined)
    })
  }

  close(): void {
    for (const req of this.inflight) req.destroy(Object.assign(new Error('given up'), { code: 'EABANDONED' }))
    this.agent.destroy()
  }
}

/** `Code: 60, e.displayText() = …` (18.x) or `Code: 60. DB::Exception: …` (later): 60. */
export function exceptionCode(text: string): number | null {
  const m = /\bCode: (\d+)/.exec(text)
  return m === null ? null : Number(m[1])
}

/** The server's words, on one line and not too long: they go into a message on stderr. */
export function serverMessage(text: string, status: number): string {
  const one = text.replace(/\s+/g, ' ').trim()
  const cut = one.length > 600 ? one.slice(0, 600) + '…' : one
  return cut === '' ? `HTTP ${status}` : `${cut} (HTTP ${status})`
}

function describe(err: NodeJS.ErrnoException): string {
  return err.message || err.code || String(err)
}
