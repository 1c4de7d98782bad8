#!/usr/bin/env node
// Cuts small, single-scenario fixtures out of the lab capture (fixtures/lab/lab.request.log, real varnishd 7.1
// output) into fixtures/cases/, for golden tests. Each case is the first request group (-g request) that matches
// its predicate, byte for byte. Re-run after re-making the lab capture: node scripts/extract-cases.mjs

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'

const src = 'fixtures/lab/lab.request.log'
const text = readFileSync(src, 'latin1')
const groups = text.split('\n\n').filter((g) => g.trim() !== '').map((g) => g + '\n\n')

const cases = {
  miss: (g) => /VCL_call +MISS/.test(g) && /Link +bereq \d+ fetch/.test(g) && !/ esi/.test(g) && !/HitMiss|restart|retry/.test(g),
  hit: (g) => /VCL_call +HIT/.test(g) && /^-   Hit /m.test(g) && !/ esi|bgfetch|restart/.test(g),
  hitmiss: (g) => /HitMiss/.test(g),
  hitpass: (g) => /HitPass/.test(g),
  pass: (g) => /ReqMethod +POST/.test(g),
  esi: (g) => /^\*4\* /m.test(g),
  retry: (g) => /Link +bereq \d+ retry/.test(g),
  pipe: (g) => /PipeAcct/.test(g),
  synth: (g) => /RespStatus +301/.test(g) && /VCL_call +SYNTH/.test(g),
  restart: (g) => /Link +req \d+ restart/.test(g),
  grace: (g) => /bgfetch/.test(g),
  'backend-error': (g) => /FetchError/.test(g),
  garbage: (g) => /HttpGarbage/.test(g) && !/BogoHeader/.test(g),
  h2: (g) => /ReqProtocol +HTTP\/2.0/.test(g) && /RespStatus +200/.test(g),
  'control-chars': (g) => /\x1b/.test(g),
}

mkdirSync('fixtures/cases', { recursive: true })
for (const [name, pred] of Object.entries(cases)) {
  const g = groups.find(pred)
  if (g === undefined) {
    console.error(`no group for ${name}`)
    process.exitCode = 1
    continue
  }
  writeFileSync(`fixtures/cases/${name}.log`, g, 'latin1')
}
// An unfinished request: the miss case cut after its 20th line (a capture cut in the middle).
const miss = readFileSync('fixtures/cases/miss.log', 'latin1').split('\n')
writeFileSync('fixtures/cases/truncated.log', miss.slice(0, 20).join('\n') + '\n', 'latin1')
// The start of the raw layout: interleaved transactions, sessions and vxid-0 records.
const raw = readFileSync('fixtures/lab/lab.raw.log', 'latin1').split('\n')
writeFileSync('fixtures/cases/raw-head.log', raw.slice(0, 400).join('\n') + '\n', 'latin1')
