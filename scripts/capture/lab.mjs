// Capture lab: a throw-away varnishd (foreground child process) in front of the in-process
// origin (origin.mjs), plus a seeded traffic generator that walks every transaction type
// vlogdump has to parse. Loopback only; node built-ins only.
//
//   import { startLab, runTraffic } from './lab.mjs'
//   const lab = await startLab()
//   try { await runTraffic({ port: lab.port, proxyPort: lab.proxyPort, seed: 1 }) } finally { await lab.stop() }
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir, constants as osConstants } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { startOrigin } from './origin.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_VCL = join(HERE, 'lab.vcl');
const HOST = '127.0.0.1';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Cleanup: varnishd must never outlive this process, even after an exception or a signal.

const liveLabs = new Set(); // { child, instance }
let exitHooked = false;

function killAllSync() {
  for (const lab of liveLabs) {
    try { lab.child.kill('SIGTERM'); } catch { /* already gone */ }
    try { rmSync(lab.instance, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  liveLabs.clear();
}

function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const onSignal = () => {
      killAllSync();
      // Only decide the exit if nobody else is listening for this signal.
      if (process.listenerCount(sig) === 1) process.exit(128 + osConstants.signals[sig]);
    };
    process.on(sig, onSignal);
  }
}

// ---------------------------------------------------------------------------------------------
// Ports

/** Find `n` distinct free loopback ports by listening on port 0 (all held at once, then released). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, HOST, resolve);
      });
      servers.push(srv);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

// ---------------------------------------------------------------------------------------------
// startLab

function httpGetOnce(port, path, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });
}

/**
 * Start origin + varnishd. Resolves to { port, proxyPort, originPort, instance, stop }.
 * `extraParams` are appended to the varnishd command line (e.g. ['-p', 'vsl_reclen=4084']).
 */
export async function startLab({ vcl = DEFAULT_VCL, extraParams = [] } = {}) {
  hookExit();
  const origin = await startOrigin(0);
  let instance;
  let child;
  try {
    const [port, proxyPort, adminPort, deadPort] = await freePorts(4);
    instance = mkdtempSync(join(tmpdir(), 'vlogdump-lab-'));
    // varnishd's VCL compiler and worker run as the jail users: they must be able to read it.
    chmodSync(instance, 0o755);
    const vclPath = join(instance, 'lab.vcl');
    const vclText = readFileSync(vcl, 'utf8')
      .replaceAll('@ORIGIN_PORT@', String(origin.port))
      .replaceAll('@DEAD_PORT@', String(deadPort));
    writeFileSync(vclPath, vclText, { mode: 0o644 });

    const args = [
      '-F', '-n', instance,
      '-a', `${HOST}:${port}`,
      '-a', `${HOST}:${proxyPort},PROXY`,
      '-f', vclPath,
      '-p', 'vsl_space=64M',
      '-p', 'feature=+http2',
      '-p', 'ban_lurker_age=2',
      '-s', 'malloc,64m',
      '-T', `${HOST}:${adminPort}`,
      ...extraParams,
    ];
    child = spawn('varnishd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const entry = { child, instance };
    liveLabs.add(entry);

    let output = '';
    const keep = (chunk) => { output = (output + chunk).slice(-8192); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let exitInfo = null;
    exited.then((info) => { exitInfo = info; liveLabs.delete(entry); });
    child.once('error', (err) => { exitInfo = { code: -1, signal: null, err }; });

    // Wait until the VCL is compiled and the listener answers.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exitInfo) throw new Error(`varnishd exited early (${JSON.stringify(exitInfo)}):\n${output}`);
      if ((await httpGetOnce(port, '/_lab/ready', 1000)) === 200) break;
      if (Date.now() > deadline) throw new Error(`varnishd did not answer on ${HOST}:${port} within 60 s:\n${output}`);
      await sleep(200);
    }

    let stopped = null;
    const stop = () => {
      stopped ??= (async () => {
        if (!exitInfo) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(t);
        }
        liveLabs.delete(entry);
        await origin.close();
        rmSync(instance, { recursive: true, force: true });
      })();
      return stopped;
    };
    return { port, proxyPort, originPort: origin.port, instance, stop, get output() { return output; } };
  } catch (err) {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    for (const l of liveLabs) if (l.child === child) liveLabs.delete(l);
    await origin.close();
    if (instance) rmSync(instance, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Traffic

/** mulberry32: small seeded PRNG, so the choice sequence depends only on the seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0',
  'curl/8.5.0',
  'okhttp/4.12.0',
  'Dalvik/2.1.0 (Linux; U; Android 12; M2101K6G Build/SKQ1.210908.001)',
];
const REAL_IPS = ['198.51.100.7', '198.51.100.222', '203.0.113.45', '2001:db8::1234', 'unknown'];
const WORDS = ['varnish', 'cache', 'esi', 'grace', 'purge', 'vxid'];

/**
 * The plan: a list of sessions, each a list of steps run in order on one client connection.
 * Step kinds: http (node http, keep-alive), h2 (one h2c session), raw (bytes on a socket), sleep.
 * Built only from the seed, so two runs with one seed send the same requests.
 */
function buildPlan(seed, count) {
  const rnd = prng(seed);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const headers = (extra = {}) => {
    const h = { 'User-Agent': pick(USER_AGENTS), ...extra };
    if (rnd() < 0.3) h['X-Real-IP'] = pick(REAL_IPS);
    return h;
  };
  const get = (path, extra) => ({ kind: 'http', method: 'GET', path, headers: headers(extra) });
  const sessions = [];
  const add = (name, steps, opts = {}) => sessions.push({ name, steps, ...opts });

  // Long ones first, so they overlap with the rest.
  add('grace', [get('/grace/1'), { kind: 'sleep', ms: 1300 }, get('/grace/1'), { kind: 'sleep', ms: 300 }, get('/grace/1')]);
  add('slow', [get('/slow?ms=1200')]);
  add('hit-miss-purge', [
    get('/static/1'), get('/static/1'), get('/static/2.css'), get('/static/2.css'),
    { kind: 'http', method: 'PURGE', path: '/static/2.css', headers: headers() },
    get('/static/2.css'),
  ]);
  add('hit-for-miss', [get('/private/1'), get('/private/1')]);
  add('hit-for-pass', [get('/hfp/1'), get('/hfp/1')]);
  add('restart', [get('/restart/3'), get('/restart/3')]);
  add('esi', [get('/esi/1'), get('/esi/1'), get('/esi/2')]);
  add('retry', [get('/retry/1'), get('/retry/1')]);
  add('backend-dead', [get('/dead/1')]);
  add('pass', [
    { kind: 'http', method: 'POST', path: '/post', headers: headers({ 'Content-Type': 'application/json' }), body: '{"hello":"varnish"}' },
    get('/api/private/user/7'),
  ]);
  add('pipe', [get('/pipe/1')]);
  add('synth', [get('/blocked/admin'), get('/old/page-9')]);
  add('status', [get('/status/404'), get('/status/302'), get('/status/500'), get('/nothing/here')]);
  add('h2c', [
    { kind: 'h2', method: 'GET', path: '/static/1', headers: headers() },
    { kind: 'h2', method: 'GET', path: '/static/h2', headers: headers() },
    { kind: 'h2', method: 'GET', path: '/esi/1', headers: headers() },
    { kind: 'h2', method: 'GET', path: '/pipe/h2', headers: headers() }, // h2 cannot pipe: VCL_Error + pass
    { kind: 'h2', method: 'POST', path: '/post', headers: headers(), body: 'h2 body' },
  ]);
  add('proxy-v4', [get('/static/4'), get('/static/4')], { proxy: 'PROXY TCP4 192.0.2.18 192.0.2.1 40008 443\r\n' });
  add('proxy-v6', [get('/static/5')], { proxy: 'PROXY TCP6 2001:db8::7 2001:db8::1 51000 443\r\n' });
  add('proxy-bad', [{ kind: 'raw', proxyPort: true, data: 'PROXY TCP4 192.0.2.9\r\nGET / HTTP/1.1\r\n\r\n' }]);
  add('garbage', [{ kind: 'raw', data: 'GARBAGE\r\n\r\n' }]);
  // Varnish answers 400 to control bytes in HTTP/1 headers (BogoHeader "Header has ctrl char 0x1b").
  // Node's client refuses to send them, so this one goes over a raw socket.
  add('control-byte-h1', [{
    kind: 'raw',
    data: 'GET /static/ctl HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ctl: before\x1b[31mred\x1b[0m after\r\nConnection: close\r\n\r\n',
  }]);
  // Raw UTF-8 and a TAB in header values are accepted and logged as they are.
  add('utf8-tab-h1', [{
    kind: 'raw',
    data: Buffer.from(
      'GET /static/utf8 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (Linux; Android 10; K) Müller\r\nX-Tab: a\tb\r\nConnection: close\r\n\r\n',
      'utf8',
    ),
  }]);
  // Over h2 the rejected value is logged raw, ESC included (BogoHeader "Illegal header value: ...").
  // Varnish then fails the whole h2 session, hence its own session.
  add('control-byte-h2', [
    { kind: 'h2', method: 'GET', path: '/static/h2ctl', headers: { 'User-Agent': pick(USER_AGENTS), 'X-Ctl': 'before\x1b[31mred\x1b[0m after' } },
  ]);

  const fixed = sessions.reduce((n, s) => n + s.steps.filter((st) => st.kind !== 'sleep').length, 0);
  // Filler: keep-alive sessions of 2-6 random requests until `count` is reached.
  const fillers = [
    () => `/static/${1 + Math.floor(rnd() * 12)}${pick(['', '', '.css', '.js'])}`,
    () => `/img/${1 + Math.floor(rnd() * 8)}.${pick(['jpg', 'png'])}`,
    () => `/api/public/items/${1 + Math.floor(rnd() * 6)}`,
    () => `/search?q=${pick(WORDS)}`,
    () => `/esi/${1 + Math.floor(rnd() * 3)}`,
    () => `/private/${1 + Math.floor(rnd() * 3)}`,
    () => `/missing/${1 + Math.floor(rnd() * 5)}`,
    () => `/api/private/user/${1 + Math.floor(rnd() * 9)}`,
  ];
  let left = Math.max(0, count - fixed);
  let n = 0;
  while (left > 0) {
    const len = Math.min(left, 2 + Math.floor(rnd() * 5));
    const steps = [];
    for (let i = 0; i < len; i++) steps.push(get(pick(fillers)()));
    add(`filler-${++n}`, steps);
    left -= len;
  }
  return sessions;
}

function rawExchange(port, data, timeoutMs) {
  return new Promise((resolve) => {
    const chunks = [];
    const sock = net.connect({ host: HOST, port });
    const done = (err) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ err, response: Buffer.concat(chunks).toString('latin1') });
    };
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => done(null));
    sock.on('error', (err) => done(err));
    sock.write(data);
  });
}

/** http.Agent whose connections start with a PROXY protocol v1 line. */
class ProxyV1Agent extends http.Agent {
  constructor(line) {
    super({ keepAlive: true, maxSockets: 1 });
    this.line = line;
  }
  createConnection(options) {
    const sock = net.connect({ host: HOST, port: options.port });
    sock.write(this.line);
    return sock;
  }
}

function httpRequest(agent, port, step, timeoutMs) {
  return new Promise((resolve) => {
    const headers = { ...step.headers };
    if (step.body !== undefined) headers['Content-Length'] = Buffer.byteLength(step.body);
    const req = http.request({ host: HOST, port, method: step.method, path: step.path, headers, agent, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode }));
      res.on('error', (err) => resolve({ err }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ err }));
    req.end(step.body);
  });
}

function h2Request(session, step, timeoutMs) {
  return new Promise((resolve) => {
    const headers = { ':method': step.method, ':path': step.path };
    for (const [k, v] of Object.entries(step.headers)) headers[k.toLowerCase()] = v;
    const stream = session.request(headers, { endStream: step.body === undefined });
    let status = 0;
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), timeoutMs);
    stream.on('response', (h) => { status = h[':status']; });
    stream.on('data', () => {});
    stream.on('close', () => { clearTimeout(timer); resolve(status ? { status } : { err: new Error('h2 stream closed') }); });
    stream.on('error', () => {});
    if (step.body !== undefined) stream.end(step.body);
  });
}

/**
 * Seeded traffic against a lab. `count` is the approximate number of HTTP requests (default 100);
 * concurrency is at most 4 sessions; the run stops starting new work after `timeLimitMs`.
 * Resolves to { requests, responses, errors, statuses, sessions, elapsedMs }.
 */
export async function runTraffic({ port, proxyPort, seed = 1, count = 100, concurrency = 4, timeLimitMs = 20_000 }) {
  const plan = buildPlan(seed, count);
  const started = Date.now();
  const deadline = started + timeLimitMs;
  const requestTimeout = 5000;
  const stats = { requests: 0, responses: 0, errors: [], statuses: {}, sessions: plan.length };
  const record = (name, step, res) => {
    stats.requests++;
    if (res.err) stats.errors.push(`${name} ${step.method ?? 'raw'} ${step.path ?? ''}: ${res.err.message}`);
    if (res.status) {
      stats.responses++;
      stats.statuses[res.status] = (stats.statuses[res.status] ?? 0) + 1;
    }
  };

  async function runSession(session) {
    const agent = session.proxy ? new ProxyV1Agent(session.proxy) : new http.Agent({ keepAlive: true, maxSockets: 1 });
    const targetPort = session.proxy ? proxyPort : port;
    let h2 = null;
    try {
      for (const step of session.steps) {
        if (Date.now() > deadline) break;
        if (step.kind === 'sleep') {
          await sleep(step.ms);
        } else if (step.kind === 'http') {
          record(session.name, step, await httpRequest(agent, targetPort, step, requestTimeout));
        } else if (step.kind === 'h2') {
          if (!h2) {
            h2 = http2.connect(`http://${HOST}:${port}`);
            h2.on('error', () => {});
          }
          record(session.name, step, await h2Request(h2, step, requestTimeout));
        } else if (step.kind === 'raw') {
          const res = await rawExchange(step.proxyPort ? proxyPort : port, step.data, 3000);
          const m = res.response.match(/^HTTP\/1\.[01] (\d{3})/);
          record(session.name, step, m ? { status: Number(m[1]) } : { status: 0, err: res.err });
        }
      }
    } finally {
      agent.destroy();
      if (h2) await new Promise((resolve) => h2.close(resolve));
    }
  }

  const queue = [...plan];
  const workers = Array.from({ length: Math.min(concurrency, 4) }, async () => {
    while (queue.length && Date.now() <= deadline) await runSession(queue.shift());
  });
  await Promise.all(workers);
  stats.elapsedMs = Date.now() - started;
  return stats;
}
