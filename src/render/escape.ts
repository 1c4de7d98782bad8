// Owns what log text may reach a terminal. URLs, headers and VCL_Log values come from HTTP clients, so control
// characters (C0, DEL, C1 — ESC starts every terminal escape sequence) and the invisible bidi/format characters
// that reorder or hide text are shown escaped: `\x1b`, `\t`, `\u{202e}`. Printable text is left alone.

const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g

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
