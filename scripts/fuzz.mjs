#!/usr/bin/env node
// Long-running fuzzing: `npm run fuzz -- --minutes N [--seed S]`. Mutates the real captures in fixtures/ (see
// test/fuzz/mutate.ts) for N minutes, checks every invariant on each input, and writes any failing input to
// fuzz-failures/<n>.log with its problems beside it, ready to become a regression test. Prints how many inputs
// were tried and how many failed.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import fc from 'fast-check'

const { check, checkBinary, mutate, mutateBinary, NOISE } = await import(new URL('../dist/test/fuzz/mutate.js', import.meta.url).href)

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? dflt : Number(process.argv[i + 1])
}
const minutes = arg('minutes', 1)
let seed = arg('seed', Date.now() % 1e9)
const files = [
  'fixtures/lab/lab.vxid.log',
  'fixtures/lab/lab.raw.log',
  'fixtures/lab/lab.request.log',
  'fixtures/varnish-3.0.7/varnish-3.0.7.log',
  'fixtures/varnish-2.1.5/varnish-2.1.5.o.log',
]
const texts = files.map((f) => readFileSync(new URL(`../${f}`, import.meta.url), 'latin1'))
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate'), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('drop-line'), line: fc.nat() }),
  fc.record({ kind: fc.constant('dup-line'), line: fc.nat() }),
  fc.record({ kind: fc.constant('shuffle-lines'), seed: fc.nat(), window: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('concat') }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(), text: fc.constantFrom(...NOISE.map((n) => '\n' + n + '\n')) }),
)
// Binary files (varnishlog -w), every other input.
const binFiles = ['fixtures/lab/lab.vsl', 'fixtures/varnish-8.0/lab.vsl', 'fixtures/format/edge.vsl']
const bins = binFiles.map((f) => readFileSync(new URL(`../${f}`, import.meta.url)))
const binaryMutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate'), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip'), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('word'), at: fc.nat(), value: fc.nat() }),
  fc.record({ kind: fc.constant('drop-record'), record: fc.nat() }),
  fc.record({ kind: fc.constant('dup-record'), record: fc.nat() }),
  fc.record({ kind: fc.constant('concat') }),
  fc.record({ kind: fc.constant('insert'), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }) }),
)
/** Writes a failing input to fuzz-failures/<n>.<ext>, with what made it and what failed beside it. */
function save(input, ext, file, ms, maxPending, problems) {
  failed++
  mkdirSync('fuzz-failures', { recursive: true })
  writeFileSync(`fuzz-failures/${failed}.${ext}`, input)
  writeFileSync(`fuzz-failures/${failed}.txt`, `${file}\n${JSON.stringify(ms)}\nmaxPending ${maxPending}\n\n${problems.join('\n')}\n`)
  console.error(`failure ${failed}: ${problems[0].split('\n')[0]} (saved in fuzz-failures/${failed}.${ext})`)
}
const end = Date.now() + minutes * 60_000
let tried = 0
let failed = 0
while (Date.now() < end) {
  if (tried % 2 === 1) {
    const [[which, ms, maxPending]] = fc.sample(fc.tuple(fc.nat({ max: bins.length - 1 }), fc.array(binaryMutation, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 1000 })), { numRuns: 1, seed: seed++ })
    const input = mutateBinary(bins[which], ms)
    const problems = await checkBinary(input, { maxPending })
    tried++
    if (problems.length > 0) save(input, 'vsl', binFiles[which], ms, maxPending, problems)
    continue
  }
  const [sample] = fc.sample(fc.tuple(fc.nat({ max: texts.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 1000 })), { numRuns: 1, seed: seed++ })
  const [which, ms, maxPending] = sample
  const input = mutate(texts[which], ms)
  const problems = await check(input, { maxPending })
  tried++
  if (problems.length > 0) save(Buffer.from(input, 'latin1'), 'log', files[which], ms, maxPending, problems)
}
console.log(`fuzz: ${tried} inputs tried in ${minutes} min, ${failed} failed`)
process.exitCode = failed > 0 ? 1 : 0
