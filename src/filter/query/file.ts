// Owns the -Q file format (varnishlog's): one query per line, ORed; `#` starts a comment line; a `\` at the end
// of a line continues the query on the next line.

export function queriesFromFile(text: string): string[] {
  const out: string[] = []
  let cur = ''
  for (const raw of text.split(/\r?\n/)) {
    const line = cur === '' && raw.trimStart().startsWith('#') ? '' : raw
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' '
      continue
    }
    cur += line
    if (cur.trim() !== '') out.push(cur.trim())
    cur = ''
  }
  if (cur.trim() !== '') out.push(cur.trim())
  return out
}
