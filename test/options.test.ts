// The command line without the parser: for files only (or none), the Options built from the option table's
// defaults are exactly those yargs gives; any option, or the completion command, goes to yargs.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseArgs } from '../src/args.js'
import { filesOnly } from '../src/options.js'

describe('files only, without the parser', () => {
  for (const argv of [[], ['capture.log'], ['a.log', '-', 'b.log.gz'], ['-'], ['access log with spaces.log']]) {
    it(`${JSON.stringify(argv)}: the same Options as yargs gives`, () => {
      assert.deepEqual(filesOnly(argv), parseArgs(argv, '0', () => {}))
    })
  }

  it('anything else is left to yargs', () => {
    for (const argv of [['--json'], ['a.log', '-q', 'x'], ['completion'], ['--'], ['-L', '5', 'a.log']]) assert.equal(filesOnly(argv), null, argv.join(' '))
  })
})
