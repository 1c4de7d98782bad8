// Owns choosing the renderer: Options in, one `(record) => string` out, compiled once (for the run, and for each
// worker of the parallel reader).

import type { Options } from '../args.js'
import type { TextEncoding } from '../output.js'
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

/** How the renderer's text is written (src/output.ts): log lines are the input's bytes, JSON is checked for
 *  characters a terminal would act on. */
export function renderEncoding(output: Options['output']): TextEncoding {
  return output === 'log' ? 'latin1' : output === 'json' ? 'json' : 'utf8'
}
