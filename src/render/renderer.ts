// Owns choosing the renderer: Options in, one `(record) => string` out, compiled once (for the run, and for each
// worker of the parallel reader).

import type { Options } from '../args.js'
import type { ClientRecord } from '../vsl/types.js'
import { compileCompact } from './compact.js'
import { compileFormat, NCSA_FORMAT } from './format.js'
import { renderJson } from './json.js'
import { renderLog } from './log.js'
import { createPalette } from './palette.js'

export function compileRenderer(opts: Options & { useColor: boolean }): (rec: ClientRecord) => string {
  switch (opts.output) {
    case 'json':
      return renderJson
    case 'log':
      return renderLog
    case 'format':
      return compileFormat(opts.format === 'ncsa' || opts.format === null ? NCSA_FORMAT : opts.format)
    case 'compact':
      return compileCompact(opts, createPalette(opts.useColor))
  }
}
