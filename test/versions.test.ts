// Every Varnish version in the field, read without flags: for each capture of a version built from source
// (fixtures/varnish-<version>, scripts/varnish-build), and for the Debian package's 7.1, the layout of every
// rendering is told from its first lines, and forcing it with --input-format gives the same records.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { recordsOf, runOn } from './support.js'

const LAYOUTS: Array<[file: string, layout: string]> = [
  ['vxid', 'vxid'],
  ['vxid-v', 'vxid -v'],
  ['request', 'request'],
  ['request-v', 'request -v'],
  ['session', 'session'],
  ['raw', 'raw'],
  ['backend-only', 'vxid'],
]

const CAPTURES = [
  { dir: 'fixtures/lab', version: '7.1.1' },
  { dir: 'fixtures/varnish-6.0', version: '6.0.16' },
  { dir: 'fixtures/varnish-6.6', version: '6.6.2' },
  { dir: 'fixtures/varnish-7.7', version: '7.7.3', extra: [['vxid-E', 'vxid']] as Array<[string, string]> },
  { dir: 'fixtures/varnish-8.0', version: '8.0.0', extra: [['vxid-E', 'vxid']] as Array<[string, string]> },
  { dir: 'fixtures/holdout/varnish-6.0', version: '6.0.16' },
  { dir: 'fixtures/holdout/varnish-6.6', version: '6.6.2' },
  { dir: 'fixtures/holdout/varnish-7.1', version: '7.1.1' },
  { dir: 'fixtures/holdout/varnish-7.7', version: '7.7.3', extra: [['vxid-E', 'vxid']] as Array<[string, string]> },
  { dir: 'fixtures/holdout/varnish-8.0', version: '8.0.0', extra: [['vxid-E', 'vxid']] as Array<[string, string]> },
]

for (const cap of CAPTURES) {
  describe(`Varnish ${cap.version} (${cap.dir})`, () => {
    for (const [file, layout] of [...LAYOUTS, ...(cap.extra ?? [])]) {
      it(`lab.${file}.log is read as ${layout}, and --input-format ${layout.split(' ')[0]} gives the same records`, async () => {
        const input = [{ file: `${cap.dir}/lab.${file}.log` }]
        const auto = await runOn(input, { output: 'json', summary: true })
        assert.equal(auto.code, 0)
        assert.match(auto.stderr, new RegExp(`; layout ${layout}\\n$`))
        assert.match(auto.stderr, / 0 unparseable, 0 too long\)/)
        const forced = await runOn(input, { output: 'json', inputFormat: layout.split(' ')[0] as 'vxid' })
        assert.equal(forced.stdout, auto.stdout)
      })
    }
  })
}

// What a version does not log is null, never guessed: Varnish 6's Hit has no fetch progress, so a hit's
// streaming is unknown there; its TTL is logged, so grace is known on every version from 6.0.
describe('fields a version does not log', () => {
  for (const cap of CAPTURES) {
    it(`${cap.dir}: grace is known, streaming ${cap.version.startsWith('6.') ? 'null' : 'known'} on hits`, async () => {
      const recs = await recordsOf([{ file: `${cap.dir}/lab.vxid.log` }])
      const hits = recs.filter((r) => r.handling === 'hit')
      assert.ok(hits.length > 5)
      assert.ok(hits.some((r) => r.grace === true), 'a grace hit')
      for (const r of recs) assert.equal(typeof r.grace, 'boolean')
      for (const r of hits) {
        if (cap.version.startsWith('6.')) assert.equal(r.streaming, null, `vxid ${r.vxid}`)
        else assert.equal(typeof r.streaming, 'boolean', `vxid ${r.vxid}`)
      }
      for (const r of recs.filter((r) => r.handling !== 'hit')) assert.equal(r.streaming, false)
    })
  }
  for (const v of ['2.1.5', '3.0.7']) {
    it(`Varnish ${v}: grace and streaming are null`, async () => {
      const recs = await recordsOf([{ file: `fixtures/varnish-${v}/varnish-${v}.log` }])
      assert.ok(recs.length > 5)
      for (const r of recs) {
        assert.equal(r.grace, null)
        assert.equal(r.streaming, null)
      }
    })
  }
})
