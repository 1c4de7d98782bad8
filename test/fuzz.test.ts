// Property-based hardening (fast-check): real captures, mutated — truncated at any byte, bytes flipped, lines
// dropped, duplicated or shuffled, captures concatenated, noise and terminal attacks inserted — never make vlogdump
// throw, lose a line from the accounting, leave anything pending, or put a raw control character on a terminal.
// The long-running version is `npm run fuzz -- --minutes N` (scripts/fuzz.mjs), which saves failing inputs.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { check, checkBinary, mutate, mutateBinary, NOISE, type BinaryMutation, type Mutation } from './fuzz/mutate.js'
import { repoPath } from './support.js'

const CAPTURES = ['fixtures/cases/esi.log', 'fixtures/cases/raw-head.log', 'fixtures/cases/restart.log', 'fixtures/cases/retry.log', 'fixtures/varnish-3.0.7/varnish-3.0.7.supp.log']

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('drop-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('dup-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('shuffle-lines' as const), seed: fc.nat(), window: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant('concat' as const) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...NOISE.map((n) => '\n' + n + '\n')) }),
)

describe('fuzzing real captures (fast-check)', () => {
  for (const file of CAPTURES) {
    const text = readFileSync(repoPath(file), 'latin1')
    it(`${file}: mutated, every invariant holds`, { timeout: 120_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 60 }), async (ms, maxPending) => {
          const problems = await check(mutate(text, ms), { maxPending })
          assert.deepEqual(problems, [])
        }),
        { numRuns: 60, seed: 7 },
      )
    })
  }

  it('random bytes: every invariant holds', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        assert.deepEqual(await check(Buffer.from(bytes).toString('latin1')), [])
      }),
      { numRuns: 100, seed: 11 },
    )
  })

  const binaryMutation: fc.Arbitrary<BinaryMutation> = fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: fc.nat() }),
    fc.record({ kind: fc.constant('drop-record' as const), record: fc.nat() }),
    fc.record({ kind: fc.constant('dup-record' as const), record: fc.nat() }),
    fc.record({ kind: fc.constant('concat' as const) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }) }),
  )
  for (const file of ['fixtures/format/edge.vsl', 'fixtures/varnish-8.0/lab.vsl']) {
    // A slice of the file (whole records, from its start): fast enough for many runs.
    const whole = readFileSync(repoPath(file))
    const bytes = whole.subarray(0, Math.min(whole.length, 24_000))
    it(`${file} (binary): mutated, every invariant holds`, { timeout: 120_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(binaryMutation, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 60 }), async (ms, maxPending) => {
          assert.deepEqual(await checkBinary(mutateBinary(bytes, ms), { maxPending }), [])
        }),
        { numRuns: 60, seed: 7 },
      )
    })
  }

  it('random bytes after a binary header: every invariant holds', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('VSL\0', 'VSL2', 'VSLx'), fc.uint8Array({ maxLength: 2000 }), async (head, bytes) => {
        assert.deepEqual(await checkBinary(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(bytes)])), [])
      }),
      { numRuns: 100, seed: 11 },
    )
  })
})
