// Golden outputs: run() in-process on a fixture with some options, compared with test/golden/<name>.out.
// After an intended change: UPDATE_GOLDEN=1 npm test, then review `git diff test/golden` like code.

import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { repoPath, runOn } from './support.js'
import type { RunSettings } from '../src/run.js'

const CASES = ['miss', 'hit', 'hitmiss', 'hitpass', 'pass', 'esi', 'retry', 'pipe', 'synth', 'restart', 'grace', 'backend-error', 'garbage', 'h2', 'truncated', 'raw-head']

interface Golden {
  name: string
  files: string[]
  opts: Partial<RunSettings>
}

const GOLDEN: Golden[] = [
  ...CASES.map((c) => ({ name: `${c}.compact`, files: [`fixtures/cases/${c}.log`], opts: {} })),
  ...CASES.map((c) => ({ name: `${c}.json`, files: [`fixtures/cases/${c}.log`], opts: { output: 'json' as const } })),
  {
    name: 'miss.headers',
    files: ['fixtures/cases/miss.log'],
    opts: { reqHeaders: true, respHeaders: true, bereqHeaders: true, berespHeaders: true },
  },
  { name: 'esi.color', files: ['fixtures/cases/esi.log'], opts: { useColor: true } },
  { name: 'lab.compact', files: ['fixtures/lab/lab.vxid.log'], opts: {} },
  // --top without a terminal: the plain snapshot at the input's end (log time, so the same every run; an
  // interval of an hour, so no refresh comes before it).
  { name: 'lab.top', files: ['fixtures/lab/lab.vxid.log'], opts: { top: { interval: 3600, window: 60, clock: 'log', ignoreCase: false } } },
]

const update = process.env.UPDATE_GOLDEN === '1'

describe('golden outputs', () => {
  for (const g of GOLDEN) {
    it(g.name, async () => {
      const r = await runOn(g.files.map((file) => ({ file })), g.opts)
      const path = repoPath(`test/golden/${g.name}.out`)
      if (update || !existsSync(path)) {
        mkdirSync(repoPath('test/golden'), { recursive: true })
        writeFileSync(path, r.stdout)
        if (!update) assert.fail(`created ${path}: review it, then run again`)
      }
      assert.equal(r.stdout, readFileSync(path, 'utf8'))
      assert.equal(r.stderr, '')
    })
  }
})
