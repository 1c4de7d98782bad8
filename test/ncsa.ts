// Reads the varnishncsa TSV oracles kept beside the captures (columns: fixtures/*/ncsa.columns.tsv).

import { readFileSync } from 'node:fs'
import { repoPath } from './support.js'

export type NcsaRow = Record<string, string>

export function readNcsa(tsv: string, columns: string): NcsaRow[] {
  const names = readFileSync(repoPath(columns), 'latin1').trim().split('\t')
  return readFileSync(repoPath(tsv), 'latin1')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const f = l.split('\t')
      const row: NcsaRow = {}
      names.forEach((n, i) => (row[n] = f[i] ?? ''))
      return row
    })
}

/** A JSON string field as varnishncsa prints it: bytes ≥ 0x80 and control characters as \xNN. */
export function ncsaText(s: string | null): string {
  if (s === null) return '-'
  let out = ''
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 9) out += '\\t'
    else if (b === 10) out += '\\n'
    else if (b === 13) out += '\\r'
    else if (b === 0x22) out += '\\"'
    else if (b === 0x5c) out += '\\\\'
    else if (b < 0x20 || b >= 0x7f) out += '\\x' + b.toString(16).padStart(2, '0')
    else out += String.fromCharCode(b)
  }
  return out
}
