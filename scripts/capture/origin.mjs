// The lab's origin server: a plain node http server on 127.0.0.1 whose routes each make
// Varnish take one path (cacheable, hit-for-miss, hit-for-pass, ESI, retry, restart, grace, ...).
// Used in-process by lab.mjs; node built-ins only.
import http from 'node:http';
import { createHash } from 'node:crypto';

const LAST_MODIFIED = 'Mon, 01 Jan 2024 00:00:00 GMT';

const etagOf = (body) => '"' + createHash('sha1').update(body).digest('hex').slice(0, 16) + '"';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function send(res, status, body, headers = {}) {
  const buf = Buffer.from(body ?? '');
  const h = { 'Content-Type': 'text/plain; charset=utf-8', ...headers };
  if (status === 204 || status === 304) {
    res.writeHead(status, h);
    res.end();
    return;
  }
  h['Content-Length'] = buf.length;
  res.writeHead(status, h);
  res.end(buf);
}

// Cacheable body with validators; answers conditional requests with 304.
function sendCacheable(req, res, body, cacheControl, type = 'text/html; charset=utf-8') {
  const etag = etagOf(body);
  const headers = { 'Content-Type': type, 'Cache-Control': cacheControl, ETag: etag, 'Last-Modified': LAST_MODIFIED, 'X-Url': req.url };
  if (req.headers['if-none-match'] === etag || req.headers['if-modified-since'] === LAST_MODIFIED) {
    send(res, 304, '', headers);
    return;
  }
  send(res, 200, body, headers);
}

const REASONS_WITH_LOCATION = new Set([301, 302, 303, 307, 308]);

export function createOrigin() {
  const retried = new Set(); // /retry/<n> already answered 503 once

  async function handle(req, res) {
    const url = new URL(req.url, 'http://origin.invalid');
    const path = url.pathname;
    let m;

    if (path === '/health') return send(res, 200, 'ok\n', { 'Cache-Control': 'no-store' });

    if ((m = path.match(/^\/static\/([\w.-]+)$/))) {
      const body = `<html><body><h1>static ${m[1]}</h1>${'<p>lorem ipsum</p>'.repeat(8)}</body></html>\n`;
      const type = m[1].endsWith('.css') ? 'text/css' : m[1].endsWith('.js') ? 'application/javascript' : 'text/html; charset=utf-8';
      return sendCacheable(req, res, body, 'public, max-age=300', type);
    }
    if ((m = path.match(/^\/img\/([\w.-]+)$/))) {
      const body = Buffer.alloc(1024 + (m[1].length * 97) % 2048, 0x5a);
      const type = m[1].endsWith('.png') ? 'image/png' : 'image/jpeg';
      return send(res, 200, body, { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600', ETag: etagOf(body) });
    }
    if (path.startsWith('/api/public/') || path === '/search') {
      const body = JSON.stringify({ path, q: url.searchParams.get('q'), items: [1, 2, 3] }) + '\n';
      return sendCacheable(req, res, body, 'public, max-age=60', 'application/json');
    }
    if (path.startsWith('/api/private/')) {
      const body = JSON.stringify({ user: path.split('/').pop(), private: true }) + '\n';
      return send(res, 200, body, { 'Content-Type': 'application/json', 'Cache-Control': 'private, no-store' });
    }
    if (path.startsWith('/private/')) {
      return send(res, 200, `private page ${path}\n`, { 'Cache-Control': 'private, max-age=60' });
    }
    if (path.startsWith('/hfp/')) {
      return send(res, 200, `no-cache page ${path}\n`, { 'Cache-Control': 'no-cache' });
    }
    if (path === '/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms')) || 0, 5000);
      await sleep(ms);
      return send(res, 200, `slept ${ms} ms\n`, { 'Cache-Control': url.searchParams.get('cache') ? 'max-age=60' : 'no-store' });
    }
    if ((m = path.match(/^\/status\/(\d{3})$/))) {
      const code = Number(m[1]);
      const headers = { 'Cache-Control': code === 404 ? 'max-age=10' : 'no-store' };
      if (REASONS_WITH_LOCATION.has(code)) headers.Location = '/static/1';
      if (code === 304) headers.ETag = '"status-304"';
      return send(res, code, `status ${code}\n`, headers);
    }
    if ((m = path.match(/^\/esi(?:\/(\w+))?$/))) {
      const body =
        `<html><head><title>esi ${m[1] ?? ''}</title></head><body>\n` +
        `<esi:include src="/frag/header"/>\n` +
        `<main>page ${m[1] ?? 'index'}</main>\n` +
        `<esi:include src="/frag/nested"/>\n` +
        `<esi:include src="/frag/missing"/>\n` +
        `</body></html>\n`;
      return send(res, 200, body, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'public, max-age=60' });
    }
    if (path === '/frag/header') return send(res, 200, '<header>site header</header>\n', { 'Content-Type': 'text/html', 'Cache-Control': 'max-age=60' });
    if (path === '/frag/nested') {
      const body = '<section>nested: <esi:include src="/frag/leaf"/></section>\n';
      return send(res, 200, body, { 'Content-Type': 'text/html', 'Cache-Control': 'max-age=60' });
    }
    if (path === '/frag/leaf') return send(res, 200, '<em>leaf</em>', { 'Content-Type': 'text/html', 'Cache-Control': 'max-age=60' });
    if ((m = path.match(/^\/retry\/(\w+)$/))) {
      if (!retried.has(m[1])) {
        retried.add(m[1]);
        return send(res, 503, 'try again\n', { 'Cache-Control': 'no-store', 'Retry-After': '0' });
      }
      return sendCacheable(req, res, `retried ${m[1]} ok\n`, 'max-age=60', 'text/plain');
    }
    if (path.startsWith('/restart/')) {
      return send(res, 404, 'not here, restart me\n', { 'Cache-Control': 'max-age=5' });
    }
    if ((m = path.match(/^\/grace\/(\w+)$/))) {
      // Same body every time, so the background fetch revalidates with a 304.
      return sendCacheable(req, res, `grace ${m[1]}\n`, 'max-age=1', 'text/plain');
    }
    if (path.startsWith('/pipe')) {
      return send(res, 200, `piped ${path}\n`, { Connection: 'close' });
    }
    if (path === '/post') {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks);
      return send(res, 200, `echo ${req.method} ${body.length} bytes: ${body.toString('utf8').slice(0, 200)}\n`, { 'Cache-Control': 'no-store' });
    }
    return send(res, 404, `no route for ${path}\n`, { 'Cache-Control': 'max-age=5' });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, String(err?.message ?? err) + '\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  return server;
}

// Listen on 127.0.0.1 (port 0 = any free port); resolves to { server, port, close }.
export async function startOrigin(port = 0) {
  const server = createOrigin();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    server,
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
