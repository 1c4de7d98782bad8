// Owns --top's keyboard: raw terminal input in, keys out (keysOf), and what a key does to the view's state (press):
// pure, so that every key is tested without a terminal. The terminal driver reads the bytes, the sink applies the
// effects.

export const SORTS = ['count', 'p99', 'errors'] as const
export type SortKey = (typeof SORTS)[number]

/** What the person at the keyboard chose. */
export interface TopUi {
  /** Order of the URL and backend tables. */
  sort: SortKey
  /** The tables (URLs, backends, slowest, histogram) show the window or the whole run. */
  scope: 'window' | 'total'
  /** The hit/miss histogram instead of the tables. */
  histogram: boolean
  /** The screen is frozen (records are still counted). */
  paused: boolean
  /** The URL filter being typed after `/`; null when not typing. */
  editing: string | null
  /** The URL filter in force (as typed), or null. */
  filter: string | null
  /** One line for the status row (an invalid filter), cleared by the next key. */
  message: string | null
}

export const INITIAL_UI: TopUi = { sort: 'count', scope: 'window', histogram: false, paused: false, editing: null, filter: null, message: null }

/** A key: one printable character, or a name. */
export type Key = string

/** What the sink does after a key: nothing more than redraw, stop (q: exit 0; Ctrl-C: as SIGINT, exit 130), or
 *  apply the filter now in ui.filter. */
export type Effect = 'redraw' | 'quit' | 'interrupt' | 'filter' | 'none'

/** Splits raw terminal input into keys: printable characters, `enter`, `escape`, `backspace`, `ctrl-c`, `ctrl-u`;
 *  escape sequences (arrows, function keys, a paste's brackets) become `other` and are ignored. */
export function keysOf(input: string): Key[] {
  const keys: Key[] = []
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (c === 0x1b) {
      // ESC alone is a key; ESC [ … final byte, ESC O x and ESC x are sequences.
      if (i + 1 >= input.length) {
        keys.push('escape')
        continue
      }
      const next = input[i + 1]
      if (next === '[') {
        let j = i + 2
        while (j < input.length && !(input.charCodeAt(j) >= 0x40 && input.charCodeAt(j) <= 0x7e)) j++
        i = j
      } else i += next === 'O' && i + 2 < input.length ? 2 : 1 // ESC O P: F1-F4 in xterm and tmux
      keys.push('other')
      continue
    }
    if (c === 3) keys.push('ctrl-c')
    else if (c === 0x15) keys.push('ctrl-u')
    else if (c === 13 || c === 10) keys.push('enter')
    else if (c === 0x7f || c === 8) keys.push('backspace')
    else if (c < 0x20 || (c >= 0x80 && c < 0xa0)) keys.push('other')
    else {
      const cp = input.codePointAt(i)!
      if (cp > 0xffff) i++
      keys.push(String.fromCodePoint(cp))
    }
  }
  return keys
}

/** The state after a key, and what to do. */
export function press(ui: TopUi, key: Key): { ui: TopUi; effect: Effect } {
  if (key === 'ctrl-c') return { ui, effect: 'interrupt' }
  const u = ui.message === null ? ui : { ...ui, message: null }
  if (u.editing !== null) return edit(u, key)
  switch (key) {
    case 'q':
    case 'Q':
      return { ui: u, effect: 'quit' }
    case 'p':
      return { ui: { ...u, paused: !u.paused }, effect: 'redraw' }
    case 's':
      return { ui: { ...u, sort: SORTS[(SORTS.indexOf(u.sort) + 1) % SORTS.length] }, effect: 'redraw' }
    case 'h':
      return { ui: { ...u, histogram: !u.histogram }, effect: 'redraw' }
    case 'w':
      return { ui: { ...u, scope: u.scope === 'window' ? 'total' : 'window' }, effect: 'redraw' }
    case '/':
      return { ui: { ...u, editing: u.filter ?? '' }, effect: 'redraw' }
    default:
      return { ui: u, effect: u === ui ? 'none' : 'redraw' }
  }
}

/** Typing the URL filter: Enter applies it (empty clears it), Escape leaves it as it was. */
function edit(ui: TopUi, key: Key): { ui: TopUi; effect: Effect } {
  const text = ui.editing!
  switch (key) {
    case 'enter':
      return { ui: { ...ui, editing: null, filter: text === '' ? null : text }, effect: 'filter' }
    case 'escape':
      return { ui: { ...ui, editing: null }, effect: 'redraw' }
    case 'backspace':
      return { ui: { ...ui, editing: [...text].slice(0, -1).join('') }, effect: 'redraw' }
    case 'ctrl-u':
      return { ui: { ...ui, editing: '' }, effect: 'redraw' }
    case 'other':
      return { ui, effect: 'none' }
    default:
      // Printable characters only (keysOf names every other key); a filter is one line, of bounded length.
      if ([...key].length !== 1 || text.length >= 200) return { ui, effect: 'none' }
      return { ui: { ...ui, editing: text + key }, effect: 'redraw' }
  }
}
