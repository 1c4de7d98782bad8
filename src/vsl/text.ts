// Owns turning log bytes into text. Input is read as latin1 (one char per byte, which is fast); a field that is
// printed is decoded here as UTF-8. Bytes that are not valid UTF-8 become the four characters `\xNN` (as
// varnishncsa writes them), so nothing is dropped or silently replaced.

const NON_ASCII = /[\x80-\xff]/

/** True when `s` (latin1: bytes) is ASCII, so that decodeBytes would return it unchanged. */
export function isAscii(s: string): boolean {
  return !NON_ASCII.test(s)
}

/** Decodes a latin1 string (bytes) as UTF-8; invalid bytes are written as `\xNN`. */
export function decodeBytes(s: string): string {
  if (!NON_ASCII.test(s)) return s
  let out = ''
  let i = 0
  const n = s.length
  while (i < n) {
    const c = s.charCodeAt(i)
    if (c < 0x80) {
      out += s[i]
      i++
      continue
    }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0
    let cp = len === 2 ? c & 0x1f : len === 3 ? c & 0x0f : c & 0x07
    let ok = len > 0 && i + len <= n
    for (let k = 1; ok && k < len; k++) {
      const cc = s.charCodeAt(i + k)
      if ((cc & 0xc0) !== 0x80) ok = false
      else cp = (cp << 6) | (cc & 0x3f)
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if (ok && ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)))) {
      ok = false
    }
    if (ok) {
      out += String.fromCodePoint(cp)
      i += len
    } else {
      out += '\\x' + c.toString(16).padStart(2, '0')
      i++
    }
  }
  return out
}
