// Owns how query text splits into queries, as varnishlog does for its -q and -Q texts joined with newlines: each
// line is one query (the queries are ORed); `#` starts a comment that runs to the end of the line; a `\` at the
// end of a line continues the query on the next line, except inside a comment or a quoted string.

export function queriesFromFile(text: string): string[] {
  const out: string[] = []
  let cur = ''
  let quote = ''
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text[i]
    if (quote !== '') {
      if (c === '\n' || c === '\r') {
        // A string cannot span lines: end the query here; the lexer reports the unterminated string.
        quote = ''
        push()
        continue
      }
      cur += c
      if (c === '\\' && i + 1 < n && text[i + 1] !== '\n') cur += text[++i]
      else if (c === quote) quote = ''
      continue
    }
    if (c === '"' || c === "'") {
      quote = c
      cur += c
    } else if (c === '#') {
      while (i + 1 < n && text[i + 1] !== '\n') i++
    } else if (c === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'))) {
      i += text[i + 1] === '\r' ? 2 : 1
      cur += ' '
    } else if (c === '\n' || c === '\r') {
      push()
    } else cur += c
  }
  push()
  return out

  function push(): void {
    if (cur.trim() !== '') out.push(cur.trim())
    cur = ''
  }
}
