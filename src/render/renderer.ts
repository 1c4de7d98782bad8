// Owns choosing the renderer: Options in, one `(record) => string` out, and the writer that puts its records into
// the output buffer (compileWriter); compiled once (for the run, and for each worker of the parallel reader).

import type { Options } from '../args.js'
import type { OutputBuffer, TextEncoding } from '../output.js'
import type { ClientRecord } from '../vsl/types.js'
import { compileCompact } from './compact.js'
import { compileFormat, NCSA_FORMAT } from './format.js'
import { renderJson, writeJson } from './json.js'
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

/** Writes a shown record into the output buffer. */
export type RecordWriter = (rec: ClientRecord, out: OutputBuffer) => void

/** The writer of a renderer's records: JSON's writes its bytes itself (src/render/json.ts), any other's text is
 *  pushed with its encoding. */
export function compileWriter(render: (rec: ClientRecord) => string, encoding: TextEncoding): RecordWriter {
  if (render === renderJson) return writeJson
  return (rec, out) => out.push(render(rec), encoding)
}
