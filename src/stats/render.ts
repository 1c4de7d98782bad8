// Owns how --stats looks: a StatsReport in, text out — a terminal summary (renderStats: totals, hit ratio,
// handling and status counts, percentiles, top URLs, a varnishhist-like latency histogram), or one JSON object
// (statsJson, never colored). Times are milliseconds with 3 decimals in text, seconds in JSON, like the records.

import { escapeJsonText, escapeText } from '../render/escape.js'
import type { Palette } from '../render/palette.js'
import {
  HANDLINGS,
  INCOMPLETE_REASONS,
  METRICS,
  STATUS_CLASSES,
  TIMING_GROUPS,
  type LatencyHistogram,
  type Percentiles,
  type StatsReport,
} from './stats.js'

/** Bar rows of the histogram, like a small varnishhist. */
export const HIST_ROWS = 16

export function renderStats(report: StatsReport, p: Palette, width = 80): string {
  return [totals(report, p), counts(report, p), timingTable(report, p), topUrls(report, p, width), histogram(report.histogram, p, width)].join('\n')
}

/** The report as one JSON object and a newline; keys in the order of StatsReport, durations in seconds rounded
 *  to the nanosecond (the estimates are good to 1%; max is exact to the log's microsecond). */
export function statsJson(report: StatsReport): string {
  // URLs come from clients: escaped for a terminal, as --json is.
  return escapeJsonText(JSON.stringify(report, roundSeconds)) + '\n'
}

const DURATION_KEYS = new Set(['p50', 'p90', 'p99', 'max'])

function roundSeconds(key: string, value: unknown): unknown {
  return typeof value === 'number' && DURATION_KEYS.has(key) ? Math.round(value * 1e9) / 1e9 : value
}

function totals(r: StatsReport, p: Palette): string {
  const rec = r.records
  let out = p.heading('Records') + '\n'
  let line = `${rec.read} read, ${rec.shown} shown`
  if (rec.backend_only > 0) line += `, ${rec.backend_only} backend-only (not in the figures below)`
  out += row(p, 'records', line)
  const inc = INCOMPLETE_REASONS.filter((k) => r.incomplete[k] > 0)
  const incTotal = inc.reduce((n, k) => n + r.incomplete[k], 0)
  out += row(p, 'incomplete', incTotal === 0 ? '0' : p.warn(`${incTotal}`) + ` (${inc.map((k) => `${r.incomplete[k]} ${k}`).join(', ')})`)
  const withHandling = HANDLINGS.reduce((n, h) => (h === 'none' ? n : n + r.handling[h]), 0)
  out += row(
    p,
    'hit ratio',
    r.hit_ratio === null ? '-' : `${percent(r.hit_ratio)} (${r.handling.hit} hits of ${withHandling} records with a handling)`,
  )
  return out
}

function row(p: Palette, label: string, text: string): string {
  return '  ' + p.label(label.padEnd(12)) + text + '\n'
}

/** Handling and status class counts, side by side. */
function counts(r: StatsReport, p: Palette): string {
  const clients = r.records.shown - r.records.backend_only
  const share = (n: number): string => (clients === 0 ? '-' : percent(n / clients)).padStart(7)
  const left = HANDLINGS.map((h) => '  ' + p.handling[h](h.padEnd(9)) + String(r.handling[h]).padStart(9) + share(r.handling[h]))
  const right = STATUS_CLASSES.map(
    (s) => p.status(statusOf(s))(s.padEnd(9)) + String(r.status[s]).padStart(9) + share(r.status[s]),
  )
  const head = (name: string, w: number): string => name.padEnd(w) + 'count'.padStart(9) + '%'.padStart(7)
  let out = p.heading(head('Handling', 11) + '    ' + head('Status', 9)) + '\n'
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    out += (left[i] ?? ' '.repeat(2 + 9 + 9 + 7)) + (right[i] === undefined ? '' : '    ' + right[i]) + '\n'
  }
  return out
}

function statusOf(s: string): number | null {
  return s === 'none' || s === 'other' ? null : Number(s[0]) * 100
}

function timingTable(r: StatsReport, p: Palette): string {
  // 71 columns: values up to 100 s (99999.999 ms) keep a space between them.
  const num = (s: string): string => s.padStart(11)
  let out = p.heading('Time (ms)'.padEnd(18) + 'n'.padStart(9) + num('p50') + num('p90') + num('p99') + num('max')) + '\n'
  for (const m of METRICS) {
    let first = true
    for (const g of TIMING_GROUPS) {
      const t = r.timing[m][g]
      if (g !== 'all' && t.n === 0) continue
      const name = first ? m : ''
      const group = g === 'all' ? 'all' : p.handling[g](g)
      out += '  ' + p.label(name.padEnd(8)) + group + ' '.repeat(8 - g.length) + String(t.n).padStart(9) + quantiles(t, num) + '\n'
      first = false
    }
  }
  return out + p.label(`  percentiles within ${percent(r.quantile_error.timing, 0)} of the exact value; max exact`) + '\n'
}

function quantiles(t: Percentiles, num: (s: string) => string): string {
  return num(ms(t.p50)) + num(ms(t.p90)) + num(ms(t.p99)) + num(ms(t.max))
}

function topUrls(r: StatsReport, p: Palette, width: number): string {
  const u = r.urls
  const clients = r.records.shown - r.records.backend_only
  const urlWidth = (used: number): number => Math.max(10, width - used)
  let out = p.heading('Top URLs by count') + p.label(' (path, without the query string)') + '\n'
  if (u.by_count.length === 0) out += '  -\n'
  else {
    out += p.label('count'.padStart(10) + '%'.padStart(8) + 'p99 ms'.padStart(12) + '  url') + '\n'
    for (const e of u.by_count) {
      out +=
        String(e.count).padStart(10) +
        (clients === 0 ? '-' : percent(e.count / clients)).padStart(8) +
        ms(e.p99).padStart(12) +
        '  ' +
        fit(e.url, urlWidth(32)) +
        '\n'
    }
  }
  const over = u.by_count.reduce((m, e) => Math.max(m, e.overcount), 0)
  if (u.evictions > 0) {
    out += p.label(`  table full (${u.tracked} paths, ${u.evictions} evicted):\n  counts are upper bounds, over by ${over} at most`) + '\n'
  }
  out += '\n' + p.heading('Top URLs by p99 of total time') + '\n'
  if (u.by_p99.length === 0) out += '  -\n'
  else {
    out += p.label('p99 ms'.padStart(12) + 'n'.padStart(12) + 'max ms'.padStart(12) + '  url') + '\n'
    for (const e of u.by_p99) {
      out += ms(e.p99).padStart(12) + String(e.n).padStart(12) + ms(e.max).padStart(12) + '  ' + fit(e.url, urlWidth(38)) + '\n'
    }
    out += p.label(`  p99 within ${percent(r.quantile_error.urls, 0)}, since the path entered the table`) + '\n'
  }
  return out
}

/** Escaped for the terminal, cut to `max` characters with `…`. */
function fit(url: string, max: number): string {
  const s = escapeText(url)
  return s.length <= max ? s : s.slice(0, max - 1) + '…'
}

const DECADE_LABELS = ['1µs', '10µs', '100µs', '1ms', '10ms', '100ms', '1s', '10s', '100s', '1000s', '10000s']

/** varnishhist's picture: log10 time on the x axis, misses `#` stacked under hits `|`, scaled to the tallest
 *  column, `rows` high. Columns per decade are the most that fit and divide the report's bins evenly (no
 *  sawtooth). --top draws it too, as tall as its screen allows. */
export function histogram(h: LatencyHistogram, p: Palette, width: number, rows = HIST_ROWS): string {
  const title = p.heading('Histogram of total time') + ': ' + p.handling.hit('|') + ' hit, ' + p.handling.miss('#') + ' miss (any other handling)'
  const anything = h.hits.some((n) => n > 0) || h.misses.some((n) => n > 0)
  let out = title + '\n'
  if (!anything) out += '  -\n'
  else {
    // Columns first with a provisional margin, then the margin from the tallest column.
    const perDecadeFor = (margin: number): number => {
      const avail = width - margin - 1 - DECADE_LABELS[h.decades].length
      let k = 1
      for (let d = 1; d <= h.bins_per_decade; d++) if (h.bins_per_decade % d === 0 && d * h.decades <= avail) k = d
      return k
    }
    let k = perDecadeFor(8)
    let cols = columns(h, k)
    let top = Math.max(...cols.map((c) => c.hits + c.misses))
    const margin = String(top).length + 1
    if (perDecadeFor(margin) !== k) {
      k = perDecadeFor(margin)
      cols = columns(h, k)
      top = Math.max(...cols.map((c) => c.hits + c.misses))
    }
    const labelWidth = margin - 1
    const scale = top / rows
    // As varnishhist: a column of count c reaches row j while j < c / scale, so any count shows.
    const missH = cols.map((c) => Math.ceil(c.misses / scale))
    const allH = cols.map((c) => Math.ceil((c.hits + c.misses) / scale))
    for (let j = rows - 1; j >= 0; j--) {
      const label = j === rows - 1 ? String(top) : ''
      let line = ''
      for (let c = 0; c < cols.length; c++) line += j < missH[c] ? '#' : j < allH[c] ? '|' : ' '
      line = line.trimEnd()
      out += p.label(label.padStart(labelWidth) + ' |') + paintBars(line, p) + '\n'
    }
    // Tick d sits just left of decade d's first column.
    let axis = ''
    for (let c = 0; c <= cols.length; c++) axis += c % k === 0 ? '+' : '-'
    out += p.label('0'.padStart(labelWidth) + ' ' + axis) + '\n'
    // Labels at their decade's tick, skipped where the previous one has not ended.
    let labels = ' '.repeat(margin)
    for (let d = 0; d <= h.decades; d++) {
      const at = margin + d * k
      if (labels.length > at) continue
      labels += ' '.repeat(at - labels.length) + DECADE_LABELS[d] + ' '
    }
    out += p.label(labels.trimEnd()) + '\n'
    out += p.label(`  ${k} column${k === 1 ? '' : 's'} per decade; the top row is ${top} requests`) + '\n'
  }
  const outside = (what: string, x: { hits: number; misses: number }): string =>
    x.hits + x.misses === 0 ? '' : `${what}: ${x.hits} hit${x.hits === 1 ? '' : 's'}, ${x.misses} miss${x.misses === 1 ? '' : 'es'}`
  const notes = [outside(`under ${DECADE_LABELS[0]}`, h.below), outside(`${DECADE_LABELS[h.decades]} or more`, h.above)].filter((s) => s !== '')
  if (notes.length > 0) out += p.label('  ' + notes.join('; ')) + '\n'
  return out
}

function columns(h: LatencyHistogram, perDecade: number): Array<{ hits: number; misses: number }> {
  const per = h.bins_per_decade / perDecade
  const out: Array<{ hits: number; misses: number }> = []
  for (let c = 0; c < h.decades * perDecade; c++) {
    let hits = 0
    let misses = 0
    for (let b = c * per; b < (c + 1) * per; b++) {
      hits += h.hits[b]
      misses += h.misses[b]
    }
    out.push({ hits, misses })
  }
  return out
}

function paintBars(line: string, p: Palette): string {
  // Runs of the same character get one color each (fewer escape codes).
  return line.replace(/\|+/g, (s) => p.handling.hit(s)).replace(/#+/g, (s) => p.handling.miss(s))
}

function ms(v: number | null): string {
  return v === null ? '-' : (v * 1000).toFixed(3)
}

function percent(x: number, digits = 1): string {
  return (x * 100).toFixed(digits) + '%'
}
