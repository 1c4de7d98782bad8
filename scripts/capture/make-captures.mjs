#!/usr/bin/env node
// Record one lab run and render it in every layout vlogdump reads.
//
//   node scripts/capture/make-captures.mjs [--out fixtures/lab] [--seed 1] [--count 100] [--varnish PREFIX]
//
// --varnish PREFIX runs the varnishd, varnishlog and varnishncsa installed under PREFIX (sbin/, bin/, lib/; a build
// from source, see scripts/varnish-build/) instead of those on PATH. What a version lacks is left out and said in
// the README: varnishncsa -E (before 6.3 varnishncsa has no -E, and never prints ESI subrequests), the %{sec}t
// family of -F (before 7.0; those specifiers are dropped from that version's all-specifier format). From 7.2 on,
// lab.vxid-E.log is the vxid grouping with -E -b -c (without -E, varnishlog leaves ESI subrequests out;
// -E alone implies -c).
// 1. startLab() (varnishd + origin on loopback), 2. `varnishlog -g raw -w lab.vsl` attached before
// any traffic, 3. runTraffic(), 4. wait 3 s, SIGINT varnishlog, stop the lab, 5. render lab.vsl with
// varnishlog / varnishncsa, 6. write README.md with the commands and counts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join, resolve, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLab, runTraffic } from './lab.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../..');
const SHARED_71 = resolve(REPO, '../shared/captures/varnish-7.1');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// varnishncsa layouts: identical to ../shared/captures/varnish-7.1 (column name, formatter).
const COMMON = [
  ['vxid', '%{Varnish:vxid}x'], ['client', '%h'], ['method', '%m'], ['url', '%U%q'], ['protocol', '%H'],
  ['status', '%s'], ['bytes', '%b'], ['duration_us', '%D'], ['ttfb_s', '%{Varnish:time_firstbyte}x'],
  ['hitmiss', '%{Varnish:hitmiss}x'], ['handling', '%{Varnish:handling}x'], ['user_agent', '%{User-Agent}i'],
  ['host', '%{Host}i'], ['start_epoch', '%{sec}t.%{usec_frac}t'], ['parent_vxid', '%{VSL:Begin[2]}x'],
  ['begin_reason', '%{VSL:Begin[3]}x'],
];
const CLIENT_COLUMNS = [
  ...COMMON,
  ['x_real_ip', '%{X-Real-IP}i'], ['x_forwarded_for', '%{X-Forwarded-For}i'], ['vcl_log_route', '%{VCL_Log:route}x'],
  ['x_cache', '%{X-Cache}o'], ['bytes_in', '%I'], ['bytes_out', '%O'], ['resp_since_start_s', '%{VSL:Timestamp:Resp[2]}x'],
];
const BACKEND_COLUMNS = [
  ...COMMON.map(([name, fmt]) => [name === 'client' ? 'backend_ip' : name, fmt]),
  ['backend_name', '%{VSL:BackendOpen[2]}x'], ['fetch_error', '%{VSL:FetchError}x'],
  ['bytes_out_to_backend', '%I'], ['bytes_in_from_backend', '%O'], ['first_beresp_status', '%{VSL:BerespStatus}x'],
];
// varnishncsa turns the two characters `\t` into a TAB.
const formatOf = (cols) => cols.map(([, f]) => f).join('\\t');
const namesOf = (cols) => cols.map(([n]) => n).join('\t') + '\n';

// [output file, program, args]; every command reads lab.vsl in the output directory.
const BASE_RENDERS = [
  ['lab.vxid.log', 'varnishlog', ['-r', 'lab.vsl']],
  ['lab.request.log', 'varnishlog', ['-r', 'lab.vsl', '-g', 'request']],
  ['lab.session.log', 'varnishlog', ['-r', 'lab.vsl', '-g', 'session', '-L', '1000000']],
  ['lab.raw.log', 'varnishlog', ['-r', 'lab.vsl', '-g', 'raw']],
  ['lab.vxid-v.log', 'varnishlog', ['-r', 'lab.vsl', '-v']],
  ['lab.request-v.log', 'varnishlog', ['-r', 'lab.vsl', '-g', 'request', '-v']],
  ['lab.backend-only.log', 'varnishlog', ['-r', 'lab.vsl', '-b']],
  ['lab.ncsa.tsv', 'varnishncsa', ['-r', 'lab.vsl', '-F', formatOf(CLIENT_COLUMNS)]],
  ['lab.ncsa-E.tsv', 'varnishncsa', ['-r', 'lab.vsl', '-E', '-F', formatOf(CLIENT_COLUMNS)]],
  ['lab.ncsa-backend.tsv', 'varnishncsa', ['-r', 'lab.vsl', '-b', '-F', formatOf(BACKEND_COLUMNS)]],
];

/** The all-specifier format of test/format.test.ts (fixtures/ncsa-all.format, one line) as `version`'s
 *  varnishncsa takes it: the %{sec}t family came with 7.0 (before, `sec` is an strftime text), and 8.0 refuses a
 *  header name with a colon (`%{X-Colon: a}i`: a match rule, :first or :last, since then). The long strftime
 *  field is cut in two for all: on a Wednesday it is 64 bytes, which varnishncsa's 64-byte buffer takes as an
 *  strftime error (an assertion from 6.6 on, an empty field before). Written beside the captures. */
function allFormatFor(version) {
  const all = readFileSync(join(REPO, 'fixtures/ncsa-all.format'), 'utf8').trim();
  return all
    .split('\\t')
    .filter((f) => atLeast(version, [7, 0]) || !/^%\{(sec|msec|usec|msec_frac|usec_frac)\}t$/.test(f))
    .filter((f) => !atLeast(version, [8, 0]) || f !== '%{X-Colon: a}i')
    .flatMap((f) => (f === '%{%c|%D|%T|%-d|%_5H|%^b|%#A}t' ? ['%{%c|%D|%T}t', '%{%-d|%_5H|%^b|%#A}t'] : [f]))
    .join('\\t');
}

/** The renderings this version's tools can make (whole varnishncsa lines under TZ=UTC: %t is local time). */
function rendersFor(version) {
  const renders = BASE_RENDERS.filter(([f]) => f !== 'lab.ncsa-E.tsv' || atLeast(version, [6, 3]));
  // From 7.2 on, varnishlog's vxid grouping leaves sub-requests (Begin[4] > 0: ESI) out unless given -E.
  if (atLeast(version, [7, 2])) renders.splice(1, 0, ['lab.vxid-E.log', 'varnishlog', ['-r', 'lab.vsl', '-E', '-b', '-c']]);
  const all = allFormatFor(version);
  renders.push(
    ['lab.ncsa-default.txt', 'varnishncsa', ['-r', 'lab.vsl']],
    ['lab.ncsa-all.txt', 'varnishncsa', ['-r', 'lab.vsl', '-F', all]],
    ['lab.ncsa-backend-default.txt', 'varnishncsa', ['-r', 'lab.vsl', '-b']],
    ['lab.ncsa-backend-all.txt', 'varnishncsa', ['-r', 'lab.vsl', '-b', '-F', all]],
  );
  return renders;
}

/** [major, minor, patch] from `varnishd -V`'s first line (`varnishd (varnish-7.1.1 revision …)`). */
function parseVersion(line) {
  const m = /varnish-(\d+)\.(\d+)\.(\d+)/.exec(line);
  if (m === null) throw new Error(`cannot read a version in: ${line}`);
  return m.slice(1).map(Number);
}
const atLeast = (v, [major, minor]) => v[0] > major || (v[0] === major && v[1] >= minor);

const shellQuote = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);
const cmdline = (prog, args) => [prog, ...args].map(shellQuote).join(' ');

function run(prog, args, { cwd, stdoutFile } = {}) {
  const fd = stdoutFile ? openSync(stdoutFile, 'w') : 'pipe';
  try {
    const env = { ...process.env, TZ: 'UTC', LC_ALL: 'C' };
    const r = spawnSync(prog, args, { cwd, env, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${cmdline(prog, args)} exited ${r.status}: ${r.stderr}`);
    return r;
  } finally {
    if (stdoutFile) closeSync(fd);
  }
}

const countMatches = (text, re) => (text.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g')) ?? []).length;

/** Puts PREFIX's programs first on PATH, and its libraries on the loader's path, for this process's children. */
function useVarnish(prefix) {
  if (!existsSync(join(prefix, 'sbin/varnishd'))) throw new Error(`no ${prefix}/sbin/varnishd`);
  process.env.PATH = `${join(prefix, 'sbin')}:${join(prefix, 'bin')}:${process.env.PATH ?? ''}`;
  process.env.LD_LIBRARY_PATH = [join(prefix, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(REPO, 'fixtures/lab') },
      seed: { type: 'string', default: '1' },
      count: { type: 'string', default: '100' },
      varnish: { type: 'string' },
    },
    strict: true,
  });
  const out = resolve(values.out);
  const seed = Number(values.seed);
  const count = Number(values.count);
  if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1) throw new Error('--seed and --count must be integers');
  if (values.varnish !== undefined) useVarnish(resolve(values.varnish));
  mkdirSync(out, { recursive: true });
  const vsl = join(out, 'lab.vsl');
  rmSync(vsl, { force: true });

  const version = run('varnishd', ['-V']);
  const versionLine = (version.stdout + version.stderr).split('\n')[0].trim();
  const RENDERS = rendersFor(parseVersion(versionLine));
  const date = new Date().toISOString();

  const lab = await startLab();
  let traffic;
  let varnishlog;
  try {
    // Attach the binary writer before any traffic; it starts at the log's tail.
    varnishlog = spawn('varnishlog', ['-n', lab.instance, '-g', 'raw', '-w', vsl], { stdio: ['ignore', 'ignore', 'pipe'] });
    let vlErr = '';
    varnishlog.stderr.on('data', (c) => { vlErr += c; });
    const vlExit = new Promise((r) => varnishlog.once('exit', (code, signal) => r({ code, signal })));
    await sleep(1500);
    if (varnishlog.exitCode !== null) throw new Error(`varnishlog exited early: ${vlErr}`);

    traffic = await runTraffic({ port: lab.port, proxyPort: lab.proxyPort, seed, count });
    await sleep(3000);
    varnishlog.kill('SIGINT');
    const ex = await vlExit;
    if (vlErr.trim()) process.stderr.write(`varnishlog: ${vlErr}`);
    if (ex.code !== 0 && ex.signal !== 'SIGINT') throw new Error(`varnishlog ended with ${JSON.stringify(ex)}`);
  } finally {
    if (varnishlog && varnishlog.exitCode === null && varnishlog.signalCode === null) varnishlog.kill('SIGINT');
    await lab.stop();
  }

  // Render every layout from the one binary file.
  for (const [file, prog, args] of RENDERS) run(prog, args, { cwd: out, stdoutFile: join(out, file) });
  writeFileSync(join(out, 'ncsa-all.format'), allFormatFor(parseVersion(versionLine)) + '\n');
  writeFileSync(join(out, 'ncsa.columns.tsv'), namesOf(CLIENT_COLUMNS));
  writeFileSync(join(out, 'ncsa-backend.columns.tsv'), namesOf(BACKEND_COLUMNS));
  for (const f of ['ncsa.columns.tsv', 'ncsa-backend.columns.tsv']) {
    const ref = join(SHARED_71, f);
    if (existsSync(ref) && readFileSync(ref, 'utf8') !== readFileSync(join(out, f), 'utf8')) {
      throw new Error(`${f} differs from ${ref}: the ncsa layouts drifted`);
    }
  }

  // Counts and a scenario check.
  const read = (f) => readFileSync(join(out, f), 'latin1');
  const vxid = read('lab.vxid.log');
  // Requests counted where every one is: from 7.2 on, the vxid grouping shows ESI subrequests only with -E.
  const requests = existsSync(join(out, 'lab.vxid-E.log')) ? read('lab.vxid-E.log') : vxid;
  const request = read('lab.request.log');
  const rows = (f) => read(f).split('\n').filter(Boolean).map((l) => l.split('\t'));
  const ncsa = rows('lab.ncsa.tsv');
  const ncsaE = existsSync(join(out, 'lab.ncsa-E.tsv')) ? rows('lab.ncsa-E.tsv') : null;
  const ncsaB = rows('lab.ncsa-backend.tsv');
  const handling = {};
  for (const r of ncsa) handling[r[10]] = (handling[r[10]] ?? 0) + 1;
  const counts = {
    'client requests (`Begin req … rxreq`)': countMatches(requests, /^-\s+Begin\s+req \d+ rxreq$/m),
    'ESI subrequests (`Begin req … esi`)': countMatches(requests, /^-\s+Begin\s+req \d+ esi( \d+)?$/m),
    'restarts (`Begin req … restart`)': countMatches(requests, /^-\s+Begin\s+req \d+ restart$/m),
    '`<< Request` transactions': countMatches(requests, /^\*\s+<< Request\s/m),
    '`<< BeReq` transactions': countMatches(vxid, /^\*\s+<< BeReq\s/m),
    '`<< Session` transactions': countMatches(vxid, /^\*\s+<< Session\s/m),
    'background fetches (`Begin bereq … bgfetch`)': countMatches(vxid, /^-\s+Begin\s+bereq \d+ bgfetch$/m),
    'backend retries (`Begin bereq … retry`)': countMatches(vxid, /^-\s+Begin\s+bereq \d+ retry$/m),
    'varnishncsa client rows': ncsa.length,
    'varnishncsa -E rows': ncsaE === null ? 'no -E before 6.3' : ncsaE.length,
    'varnishncsa -b rows': ncsaB.length,
    'client rows with %D > 1 s': ncsa.filter((r) => Number(r[7]) > 1e6).length,
  };
  const scenarios = [
    ['hit-for-miss', /^-\s+HitMiss\s/m, vxid],
    ['hit-for-pass', /^-\s+HitPass\s/m, vxid],
    ['grace + background fetch', /^-\s+Link\s+bereq \d+ bgfetch$/m, vxid],
    ['restart', /^-\s+Link\s+req \d+ restart$/m, vxid],
    ['ESI level 2 (`-g request`)', /^\*\*  << Request  >> \d+\s*\n--  Begin\s+req \d+ esi( \d+)?$/m, request],
    ['ESI level 3 (nested include)', /^\*\*\* << Request  >> \d+\s*\n--- Begin\s+req \d+ esi( \d+)?$/m, request],
    ['backend retry', /^-\s+Link\s+bereq \d+ retry$/m, vxid],
    ['backend failure', /^-\s+FetchError\s/m, vxid],
    ['pipe', /^-\s+PipeAcct\s/m, vxid],
    ['HTTP/2 (h2c)', /^-\s+ReqProtocol\s+HTTP\/2\.0$/m, vxid],
    ['PROXY protocol', /^-\s+Proxy\s/m, vxid],
    ['PROXY garbage', /^-\s+ProxyGarbage\s/m, vxid],
    ['client garbage', /^-\s+HttpGarbage\s/m, vxid],
    ['synth', /^-\s+VCL_call\s+SYNTH$/m, vxid],
    ['synth 750 → 301', /^-\s+RespStatus\s+301$/m, vxid],
    ['purge', /^-\s+VCL_call\s+PURGE$/m, vxid],
    ['slow response (Resp > 1 s)', /^-\s+Timestamp\s+Resp: \S+ 1\.\d+ /m, vxid],
    ['X-Real-IP', /^-\s+ReqHeader\s+X-Real-IP: /m, vxid],
    ['Android User-Agent', /^-\s+ReqHeader\s+User-Agent: .*Android/m, vxid],
    ['ESC byte in a header', /\x1b/, vxid],
    ['VCL_Log route', /^-\s+VCL_Log\s+route:/m, vxid],
    ['Backend_health (raw, vxid 0)', /^\s+0 Backend_health /m, read('lab.raw.log')],
  ].map(([name, re, text]) => [name, countMatches(text, re)]);
  const missing = scenarios.filter(([, n]) => n === 0).map(([name]) => name);

  const sizes = RENDERS.map(([f]) => [f, readFileSync(join(out, f)).length]);
  const outRel = relative(REPO, out) || '.';
  const readme = `# Lab captures (${outRel})

Made by \`node scripts/capture/make-captures.mjs --out ${outRel} --seed ${seed} --count ${count}${values.varnish === undefined ? '' : ` --varnish ${values.varnish}`}\`
(see \`scripts/capture/\`: \`lab.vcl\`, \`origin.mjs\`, \`lab.mjs\`). Loopback only.${values.varnish === undefined ? '' : `
varnishd, varnishlog and varnishncsa are the ones installed under \`${values.varnish}\`, built from the varnish-cache
release tag by \`scripts/varnish-build/build.sh\` (see its README).`}

- varnishd: \`${versionLine}\`
- date: ${date}
- seed: ${seed}, requested count: ${count}; the generator sent ${traffic.requests} requests in ${traffic.sessions} sessions
  (concurrency 4) in ${(traffic.elapsedMs / 1000).toFixed(1)} s; responses by status: ${Object.entries(traffic.statuses).map(([s, n]) => `${s}×${n}`).join(', ')}${traffic.errors.length ? `; client errors: ${traffic.errors.join('; ')}` : ''}

Timings, vxids, ports and ordering differ between runs; the request sequence per session depends only on the seed.

## Commands

varnishd (foreground child of the script; \`<tmp>\` is a fresh \`mkdtemp\` directory, ports are free loopback ports):

\`\`\`
varnishd -F -n <tmp> -a 127.0.0.1:<port> -a 127.0.0.1:<proxyport>,PROXY -f <tmp>/lab.vcl -p vsl_space=64M -p feature=+http2 -p ban_lurker_age=2 -s malloc,64m -T 127.0.0.1:<adminport>
\`\`\`

Capture, started 1.5 s before the traffic and stopped with SIGINT 3 s after it:

\`\`\`
varnishlog -n <tmp> -g raw -w lab.vsl
\`\`\`

Renderings (run in this directory):

| file | command |
|---|---|
${RENDERS.map(([f, p, a]) => `| \`${f}\` | \`${cmdline(p, a).replaceAll('|', '\\|')}\` |`).join('\n')}
| \`ncsa.columns.tsv\`, \`ncsa-backend.columns.tsv\` | column names of the two TSV layouts (same as \`shared/captures/varnish-7.1\`) |

varnishncsa turns \`\\t\` in \`-F\` into a TAB; the TSVs have no header line.
Every rendering runs with \`TZ=UTC LC_ALL=C\` (%t is local time). \`ncsa-all.format\` is the all-specifier format of
\`fixtures/ncsa-all.format\` as this version's varnishncsa takes it (see \`allFormatFor\` in the script).

## Counts

| what | count |
|---|---|
${Object.entries(counts).map(([k, v]) => `| ${k} | ${v} |`).join('\n')}
| varnishncsa handling | ${Object.entries(handling).sort().map(([k, v]) => `${k} ${v}`).join(', ')} |

## Scenarios (matching records)

| scenario | records |
|---|---|
${scenarios.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}

## Sizes (bytes)

| file | bytes |
|---|---|
${[['lab.vsl', readFileSync(vsl).length], ...sizes].map(([f, n]) => `| \`${f}\` | ${n} |`).join('\n')}
`;
  writeFileSync(join(out, 'README.md'), readme);

  console.log(`wrote ${out}`);
  for (const [k, v] of Object.entries(counts)) console.log(`  ${k}: ${v}`);
  console.log(`  handling: ${JSON.stringify(handling)}`);
  if (missing.length) {
    console.error(`missing scenarios: ${missing.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exitCode = 2;
});
