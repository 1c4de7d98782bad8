// Owns what log text may reach a terminal. URLs, headers and VCL_Log values come from HTTP clients, so control
// characters (C0, DEL, C1 — ESC starts every terminal escape sequence) and the invisible bidi/format characters
// that reorder or hide text are shown escaped: `\x1b`, `\t`, `\u{202e}`. Printable text is left alone. JSON output
// gets the same characters as JSON escapes (`\u001b`), so that it is inert on a terminal too.

/** DEL, C1, and the bidi/format characters: ALM, zero-width and direction marks, separators, embeddings and
 *  overrides, invisible operators and isolates, BOM. */
const UNSAFE_ABOVE_C0 = '\\x7f-\\x9f\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff'
const UNSAFE = new RegExp(`[\\x00-\\x1f${UNSAFE_ABOVE_C0}]`, 'g')
const UNSAFE_IN_JSON = new RegExp(`[${UNSAFE_ABOVE_C0}]`, 'g')

export function escapeText(s: string): string {
  UNSAFE.lastIndex = 0
  if (!UNSAFE.test(s)) return s
  UNSAFE.lastIndex = 0
  return s.replace(UNSAFE, escapeChar)
}

function escapeChar(c: string): string {
  const code = c.charCodeAt(0)
  switch (code) {
    case 9:
      return '\\t'
    case 10:
      return '\\n'
    case 13:
      return '\\r'
  }
  if (code < 0x100) return '\\x' + code.toString(16).padStart(2, '0')
  return '\\u{' + code.toString(16) + '}'
}

/** JSON text with the unsafe characters that JSON.stringify leaves raw (all but C0) written as \uXXXX: the same
 *  value for a JSON parser, inert on a terminal. They can only occur inside strings, never in an escape sequence
 *  (those are ASCII), so the replacement is safe anywhere in the text. */
export function escapeJsonText(json: string): string {
  UNSAFE_IN_JSON.lastIndex = 0
  if (!UNSAFE_IN_JSON.test(json)) return json
  UNSAFE_IN_JSON.lastIndex = 0
  return json.replace(UNSAFE_IN_JSON, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
}

/** Whether escapeJsonText would leave a JSON text alone, read off its UTF-8 bytes buf[start, start + n) (written
 *  from `units` UTF-16 units): as many bytes as units means all ASCII, where DEL is the one character it escapes.
 *  False for any other text (it may hold none, but then escapeJsonText tells). */
export function jsonBytesSafe(buf: Uint8Array, start: number, n: number, units: number): boolean {
  return n === units && buf.subarray(start, start + n).indexOf(0x7f) < 0
}
