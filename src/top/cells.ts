// Owns fitting --top's lines to the terminal: a line is a list of cells (text, and the paint of its role), cut to
// a width in terminal columns before it is painted, so that a cut never splits an escape sequence and no line
// wraps. Client text must be escaped (render/escape.ts) before it becomes a cell: here it is only measured.

type Paint = (s: string) => string

/** A cell: text, painted or not. */
export type Cell = string | readonly [text: string, paint: Paint]

/** Columns a character takes: 0 for combining marks, 2 for East Asian wide and fullwidth characters and most
 *  emoji, 1 otherwise (the ranges of wcwidth that matter for URLs and header values). */
export function charWidth(cp: number): number {
  if (cp < 0x300) return 1
  if (
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x1dc0 && cp <= 0x1dff) ||
    (cp >= 0x20d0 && cp <= 0x20ff) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xfe20 && cp <= 0xfe2f)
  ) {
    return 0
  }
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2
  }
  return 1
}

/** Columns the text takes on a terminal. */
export function displayWidth(s: string): number {
  let w = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x300) w++
    else {
      const cp = s.codePointAt(i)!
      if (cp > 0xffff) i++
      w += charWidth(cp)
    }
  }
  return w
}

/** The text cut to at most `width` columns, ending in `…` when it was cut. */
export function fit(s: string, width: number): string {
  if (width <= 0) return ''
  if (s.length <= width && displayWidth(s) <= width) return s
  let w = 0
  let i = 0
  for (; i < s.length; i++) {
    const cp = s.codePointAt(i)!
    const cw = charWidth(cp)
    if (w + cw > width - 1) break
    w += cw
    if (cp > 0xffff) i++
  }
  return s.slice(0, i) + '…'
}

/** Text padded with spaces to `width` columns on the left (right-aligned) or right. */
export function pad(s: string, width: number, left = false): string {
  const n = width - displayWidth(s)
  if (n <= 0) return s
  return left ? ' '.repeat(n) + s : s + ' '.repeat(n)
}

/** The cells of a line, cut to `width` columns and painted. */
export function fitLine(cells: readonly Cell[], width: number): string {
  let out = ''
  let left = width
  for (const cell of cells) {
    if (left <= 0) break
    const text = typeof cell === 'string' ? cell : cell[0]
    if (text === '') continue
    const w = displayWidth(text)
    // The last cell that does not fit is cut, with its `…`.
    const shown = w <= left ? text : fit(text, left)
    left -= w <= left ? w : displayWidth(shown)
    out += typeof cell === 'string' ? shown : cell[1](shown)
  }
  return out
}
