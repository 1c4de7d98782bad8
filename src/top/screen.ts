// Owns how --top looks: a TopView (the figures), the keyboard's choices and a status in, lines out — the full
// screen (renderScreen: exactly fitted to a width and height, sections given rows by priority) or a plain
// snapshot for a pipe (renderSnapshot). Pure: no terminal here. Client text (URLs, the typed filter) is escaped
// before it is measured, so no control character reaches the terminal raw; every line is cut to the width
// before it is painted.

import { escapeText } from '../render/escape.js'
import { createPalette, type Palette } from '../render/palette.js'
import { histogram } from '../stats/render.js'
import { HANDLINGS, type HandlingKey, type Percentiles } from '../stats/stats.js'
import { fitLine, pad, type Cell } from './cells.js'
import type { SlowRequest } from './counts.js'
import type { SortKey, TopUi } from './keys.js'
import type { BackendRow, SpanView, TopView, UrlRow } from './window.js'

/** What the screen says besides the figures. */
export interface TopStatus {
  /** The time base: the records' log time (replayed logs) or the wall clock (live input). */
  clock: 'wall' | 'log'
  /** A URL filter is in force (the figures are its own, since it was set), and when it was set, in the time
   *  base's seconds (null before any record had a time). */
  filtered: boolean
  filterSince: number | null
  /** A notice for the status row (varnishlog's messages on stderr, warnings), or null. */
  notice: string | null
}

type Line = Cell[]

const PLAIN = createPalette(false)
/** Rows a table gets on the screen at most, besides URLs (which take what is left). */
const BACKEND_ROWS = 5
const SLOW_ROWS = 6
/** Rows of each table in a snapshot. */
const SNAPSHOT_ROWS = 10

/** The full screen: at most `height` lines of at most `width` columns each. */
export function renderScreen(view: TopView, ui: TopUi, status: TopStatus, width: number, height: number, p: Palette): string[] {
  if (height <= 0 || width <= 0) return []
  const narrow = width < NARROW
  const top: Line[] = [title(view, status, ui.paused, p), statusRow(ui.filter, ui.message, status, p), [], ...summary(view, status, narrow, p), [], ...timing(view, status, narrow, p)]
  const footer = ui.editing !== null ? prompt(ui.editing, width, p) : keysHelp(ui, p)
  const room = height - 1 - top.length
  const lines: Line[] = top.slice(0, height - 1)
  if (room > 2) {
    const span = ui.scope === 'window' ? view.last : view.total
    const scope = scopeName(view, ui.scope)
    lines.push(...(ui.histogram ? histogramLines(span, scope, width, room, p) : tables(span, scope, ui.sort, room, narrow, p)))
  }
  while (lines.length < height - 1) lines.push([])
  lines.push(footer)
  return lines.map((l) => fitLine(l, width))
}

/** A plain snapshot (for a pipe or a log): the same figures, every table with up to ten rows, URLs by count and by
 *  p99. Ends with a blank line. */
export function renderSnapshot(view: TopView, status: TopStatus, width: number, p: Palette = PLAIN): string {
  const scope = scopeName(view, 'window')
  const span = view.last
  const lines: Line[] = [
    title(view, status, false, p),
    ...(status.notice !== null ? [statusRow(null, null, status, p)] : []),
    [],
    ...summary(view, status, false, p),
    [],
    ...timing(view, status, false, p),
    [],
    ...urlTable(span, scope, 'count', SNAPSHOT_ROWS, false, p),
    [],
    ...urlTable(span, scope, 'p99', SNAPSHOT_ROWS, false, p),
    [],
    ...backendTable(span, scope, 'count', SNAPSHOT_ROWS, false, p),
    [],
    ...slowTable(span, scope, SNAPSHOT_ROWS, false, p),
  ]
  return lines.map((l) => fitLine(l, width).trimEnd()).join('\n') + '\n\n'
}

// ---- the top of the screen -----------------------------------------------------------------------------------

function title(view: TopView, status: TopStatus, paused: boolean, p: Palette): Line {
  const line: Line = [['vlogdump --top', p.heading]]
  // PAUSED first: a narrow screen cuts the end of the line.
  if (paused) line.push('  ', ['PAUSED', p.warn])
  line.push('  ', view.now === null ? 'waiting for records' : clockText(view.now, status.clock))
  line.push(`  window ${duration(view.window)}`, ['  ' + (status.clock === 'log' ? 'log time' : 'wall clock'), p.label])
  return line
}

/** `19:20:18Z` (UTC, as the records' start times); log time names the day too (a replay may be of any day). */
function clockText(t: number, clock: 'wall' | 'log'): string {
  const d = new Date(Math.floor(t) * 1000)
  if (Number.isNaN(d.getTime())) return '-' // a time no Date holds (the window keeps none: logTime)
  const iso = d.toISOString()
  return clock === 'log' ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : `${iso.slice(11, 19)}Z`
}

function statusRow(filter: string | null, message: string | null, status: TopStatus, p: Palette): Line {
  const line: Line = []
  if (message !== null) line.push([escapeText(message), p.warn])
  else if (filter !== null) {
    line.push(['URL filter ', p.label], [escapeText(filter), p.heading])
    if (status.filterSince !== null) line.push(['  since ' + clockText(status.filterSince, status.clock), p.label])
  }
  if (status.notice !== null) line.push(line.length > 0 ? '   ' : '', [escapeText(status.notice), p.warn])
  return line
}

/** Below this width tables drop their less needed columns (3xx, since start's percentiles, req/s of a URL…). */
export const NARROW = 80

/** A table column: right-aligned in `width` columns, or with width 0 the text column that ends a row (left-aligned,
 *  after two spaces, cut where the screen ends). `wide`: shown only on a screen of NARROW columns or more. */
interface Column<T> {
  head: string | Cell
  width: number
  cell: (row: T) => Cell
  wide?: boolean
}

function columns<T>(cols: Column<T>[], narrow: boolean): Column<T>[] {
  return narrow ? cols.filter((c) => c.wide !== true) : cols
}

function headRow<T>(cols: Column<T>[], p: Palette): Line {
  return cols.map((c): Cell => {
    const [text, paint] = typeof c.head === 'string' ? [c.head, p.label] : c.head
    return [c.width === 0 ? '  ' + text : pad(text, c.width, true), paint]
  })
}

function bodyRow<T>(cols: Column<T>[], row: T): Line {
  return cols.map((c): Cell => {
    const cell = c.cell(row)
    const text = typeof cell === 'string' ? cell : cell[0]
    const shown = c.width === 0 ? '  ' + text : pad(text, c.width, true)
    return typeof cell === 'string' ? shown : [shown, cell[1]]
  })
}

const plain = (s: string): string => s

const STATUS_COLUMNS = ['2xx', '3xx', '4xx', '5xx'] as const

/** The run's figures, or, while a URL filter is set, the figures since it was. */
function totalName(status: TopStatus): string {
  return status.filtered ? 'since filter' : 'since start'
}

function summary(view: TopView, status: TopStatus, narrow: boolean, p: Palette): Line[] {
  type Row = { label: string; span: SpanView }
  const cols = columns<Row>(
    [
      { head: '', width: 12, cell: (r) => [r.label.padEnd(12), p.label] },
      { head: 'req/s', width: 9, cell: (r) => (r.span.rate === null ? '-' : rate(r.span.rate)) },
      { head: 'hit', width: 8, cell: (r) => (r.span.hitRatio === null ? '-' : percent(r.span.hitRatio)) },
      { head: 'requests', width: 10, cell: (r) => count(r.span.requests) },
      ...STATUS_COLUMNS.map(
        (k): Column<Row> => ({ head: [k, p.status(Number(k[0]) * 100)], width: 8, cell: (r) => count(r.span.status[k]), wide: k === '2xx' || k === '3xx' }),
      ),
      { head: 'other', width: 8, cell: (r) => count(r.span.status['1xx'] + r.span.status.other + r.span.status.none), wide: true },
    ],
    narrow,
  )
  return [headRow(cols, p), bodyRow(cols, { label: `last ${duration(view.window)}`, span: view.last }), bodyRow(cols, { label: totalName(status), span: view.total })]
}

function timing(view: TopView, status: TopStatus, narrow: boolean, p: Palette): Line[] {
  const group = (name: string): string => pad(name, 32, true)
  const cols = pad('n', 8, true) + pad('p50', 8, true) + pad('p90', 8, true) + pad('p99', 8, true)
  // A narrow screen shows the window only.
  const head1: Line = [[pad('total ms', 10) + group(`last ${duration(view.window)}`) + (narrow ? '' : '  ' + group(totalName(status))), p.label]]
  const head2: Line = [[pad('handling', 10) + cols + (narrow ? '' : '  ' + cols), p.label]]
  const rows: Line[] = []
  for (const h of ['all', ...HANDLINGS] as const) {
    const a = view.last.timing[h]
    const b = view.total.timing[h]
    if (h !== 'all' && a.n === 0 && (narrow || b.n === 0)) continue
    const name: Cell = h === 'all' ? pad('all', 10) : [pad(h, 10), p.handling[h as HandlingKey]]
    rows.push(narrow ? [name, quantiles(a)] : [name, quantiles(a), '  ', quantiles(b)])
  }
  return [head1, head2, ...rows]
}

function quantiles(t: Percentiles): string {
  return pad(count(t.n), 8, true) + pad(ms(t.p50), 8, true) + pad(ms(t.p90), 8, true) + pad(ms(t.p99), 8, true)
}

// ---- the tables ------------------------------------------------------------------------------------------------

/** URLs, backends and the slowest requests in `room` rows: each table gets its heading and a few rows in order of
 *  importance (what does not fit is left out from the last), backends and the slowest requests then up to 5 and 6
 *  rows, and URLs take what is left. */
function tables(span: SpanView, scope: string, sort: SortKey, room: number, narrow: boolean, p: Palette): Line[] {
  const want = [Math.max(1, span.urls.length), Math.max(1, Math.min(BACKEND_ROWS, span.backends.length)), Math.max(1, Math.min(SLOW_ROWS, span.slowest.length))]
  const least = [Math.min(want[0], 3), Math.min(want[1], 2), Math.min(want[2], 2)]
  // Each table costs a blank line, its heading and its column names besides its rows.
  const cost = 3
  const rows = [0, 0, 0]
  let left = room
  for (let i = 0; i < 3; i++) {
    if (left >= cost + least[i]) {
      rows[i] = least[i]
      left -= cost + least[i]
    } else if (i === 0 && left >= cost + 1) {
      rows[0] = left - cost
      left = 0
    }
  }
  // What is left: backends and the slowest requests up to their few rows, then URLs all the rest.
  for (const i of [1, 2, 0]) {
    if (rows[i] === 0) continue
    const more = Math.min(left, want[i] - rows[i])
    if (more > 0) {
      rows[i] += more
      left -= more
    }
  }
  const out: Line[] = []
  if (rows[0] > 0) out.push([], ...urlTable(span, scope, sort, rows[0], narrow, p))
  if (rows[1] > 0) out.push([], ...backendTable(span, scope, sort, rows[1], narrow, p))
  if (rows[2] > 0) out.push([], ...slowTable(span, scope, rows[2], narrow, p))
  return out
}

const SORT_TEXT: Record<SortKey, string> = { count: 'by count', p99: 'by p99 of total time', errors: 'by 5xx' }

function urlTable(span: SpanView, scope: string, sort: SortKey, rows: number, narrow: boolean, p: Palette): Line[] {
  const cols = columns<UrlRow>(
    [
      { head: span.urlsEvicted ? '~count' : 'count', width: 8, cell: (u) => count(u.count) },
      { head: 'req/s', width: 8, cell: (u) => (span.seconds > 0 ? rate(u.count / Math.max(span.seconds, 1)) : '-'), wide: true },
      { head: '5xx', width: 7, cell: (u) => (u.errors > 0 ? [count(u.errors), p.status(500)] : '0') },
      { head: 'p50 ms', width: 9, cell: (u) => ms(u.p50), wide: true },
      { head: 'p99 ms', width: 9, cell: (u) => ms(u.p99) },
      { head: 'url', width: 0, cell: (u) => escapeText(u.url) },
    ],
    narrow,
  )
  const list = sortUrls(span.urls, sort).slice(0, rows)
  const out: Line[] = [[['URLs', p.heading], [`, ${scope}, ${SORT_TEXT[sort]}`, p.heading], [' (path, without the query string)', p.label]], headRow(cols, p)]
  if (list.length === 0) out.push(['  -'])
  for (const u of list) out.push(bodyRow(cols, u))
  return out
}

export function sortUrls(urls: UrlRow[], sort: SortKey): UrlRow[] {
  const byUrl = (a: UrlRow, b: UrlRow): number => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0)
  const copy = urls.slice()
  if (sort === 'count') copy.sort((a, b) => b.count - a.count || byUrl(a, b))
  else if (sort === 'p99') copy.sort((a, b) => (b.p99 ?? -1) - (a.p99 ?? -1) || b.count - a.count || byUrl(a, b))
  else copy.sort((a, b) => b.errors - a.errors || b.count - a.count || byUrl(a, b))
  return copy
}

export function sortBackends(backends: BackendRow[], sort: SortKey): BackendRow[] {
  const byName = (a: BackendRow, b: BackendRow): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  const copy = backends.slice()
  if (sort === 'count') copy.sort((a, b) => b.fetches - a.fetches || byName(a, b))
  else if (sort === 'p99') copy.sort((a, b) => (b.p99 ?? -1) - (a.p99 ?? -1) || b.fetches - a.fetches || byName(a, b))
  else copy.sort((a, b) => b.failed + b.s5xx - (a.failed + a.s5xx) || b.fetches - a.fetches || byName(a, b))
  return copy
}

function backendTable(span: SpanView, scope: string, sort: SortKey, rows: number, narrow: boolean, p: Palette): Line[] {
  const cols = columns<BackendRow>(
    [
      { head: 'fetches', width: 8, cell: (b) => count(b.fetches) },
      { head: 'failed', width: 8, cell: (b) => (b.failed > 0 ? [count(b.failed), p.warn] : '0') },
      { head: '5xx', width: 7, cell: (b) => (b.s5xx > 0 ? [count(b.s5xx), p.status(500)] : '0') },
      { head: 'p50 ms', width: 9, cell: (b) => ms(b.p50), wide: true },
      { head: 'p99 ms', width: 9, cell: (b) => ms(b.p99) },
      { head: 'backend', width: 0, cell: (b) => escapeText(b.name) },
    ],
    narrow,
  )
  const list = sortBackends(span.backends, sort).slice(0, rows)
  const out: Line[] = [[['Backends', p.heading], [`, ${scope}, fetch times`, p.heading]], headRow(cols, p)]
  if (list.length === 0) out.push(['  -'])
  for (const b of list) out.push(bodyRow(cols, b))
  return out
}

function slowTable(span: SpanView, scope: string, rows: number, narrow: boolean, p: Palette): Line[] {
  const cols = columns<SlowRequest>(
    [
      { head: 'total ms', width: 10, cell: (r) => [ms(r.total), r.total >= 1 ? p.slow : plain] },
      { head: 'status', width: 8, cell: (r) => [r.code === null ? '-' : String(r.code), p.status(r.code)] },
      { head: 'handling', width: 10, cell: (r) => [r.handling, p.handling[r.handling]] },
      { head: 'vxid', width: 11, cell: (r) => String(r.vxid), wide: true },
      { head: 'url', width: 0, cell: (r) => (r.url === null ? '-' : escapeText(r.url)) },
    ],
    narrow,
  )
  const list = span.slowest.slice(0, rows)
  const out: Line[] = [[['Slowest requests', p.heading], [`, ${scope}`, p.heading]], headRow(cols, p)]
  if (list.length === 0) out.push(['  -'])
  for (const r of list) out.push(bodyRow(cols, r))
  return out
}

function histogramLines(span: SpanView, scope: string, width: number, room: number, p: Palette): Line[] {
  // Drawn plain (stats/render.ts, as --stats does), then cut to the width and painted here: `|` hit, `#` miss.
  const barRows = Math.max(2, room - 6)
  const text = histogram(span.histogram, PLAIN, width, barRows).trimEnd().split('\n')
  const out: Line[] = [[], [['Histogram of total time', p.heading], [`, ${scope}: `, p.heading], ['|', p.handling.hit], ' hit  ', ['#', p.handling.miss], ' miss']]
  for (const line of text.slice(1)) {
    const bar = /^(\s*\d* \|)(.*)$/.exec(line)
    if (bar === null) out.push([[line, p.label]])
    else {
      const cells: Line = [[bar[1], p.label]]
      for (const run of bar[2].match(/\|+|#+| +/g) ?? []) cells.push(run[0] === '|' ? [run, p.handling.hit] : run[0] === '#' ? [run, p.handling.miss] : run)
      out.push(cells)
    }
  }
  return out.slice(0, room)
}

// ---- the bottom row --------------------------------------------------------------------------------------------

function keysHelp(ui: TopUi, p: Palette): Line {
  const key = (k: string, what: string): Cell[] => [[k, p.heading], [` ${what}  `, p.label]]
  return [
    ...key('q', 'quit'),
    ...key('p', ui.paused ? 'resume' : 'pause'),
    ...key('s', `sort (${ui.sort})`),
    ...key('/', 'URL filter'),
    ...key('h', ui.histogram ? 'tables' : 'histogram'),
    ...key('w', ui.scope === 'window' ? 'since start' : 'window'),
  ]
}

/** The filter being typed, its end in view when it is longer than the row. */
function prompt(text: string, width: number, p: Palette): Line {
  const label = 'URL filter (regex, ! negates; Enter applies, empty clears, Esc cancels): '
  const shortLabel = 'URL filter: '
  const lead = label.length + 12 <= width ? label : shortLabel
  const shown = escapeText(text)
  const room = Math.max(1, width - lead.length - 1)
  const chars = [...shown]
  const tail = chars.length <= room ? shown : '…' + chars.slice(chars.length - room + 1).join('')
  return [[lead, p.label], [tail, p.heading], ['_', p.dim]]
}

// ---- numbers ---------------------------------------------------------------------------------------------------

function scopeName(view: TopView, scope: 'window' | 'total'): string {
  return scope === 'window' ? `last ${duration(view.window)}` : 'since start'
}

/** Milliseconds from seconds, in at most 7 characters: 0.123, 12.34, 123.4, 12345. */
export function ms(v: number | null): string {
  if (v === null) return '-'
  const x = v * 1000
  if (x < 10) return x.toFixed(3)
  if (x < 100) return x.toFixed(2)
  if (x < 1000) return x.toFixed(1)
  return x.toFixed(0)
}

export function count(n: number): string {
  if (n < 1e6) return String(n)
  if (n < 1e9) return (n / 1e6).toFixed(n < 1e7 ? 2 : 1) + 'M'
  return (n / 1e9).toFixed(1) + 'G'
}

function rate(r: number): string {
  return r < 100 ? r.toFixed(1) : r.toFixed(0)
}

function percent(x: number): string {
  return (x * 100).toFixed(1) + '%'
}

/** 60s, 90s, 5m, 2h (seconds up to two minutes, and when they are not whole minutes). */
export function duration(s: number): string {
  if (s < 120) return `${s}s`
  if (s % 3600 === 0) return `${s / 3600}h`
  if (s % 60 === 0) return `${s / 60}m`
  return `${s}s`
}
