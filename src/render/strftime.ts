// Owns strftime(3) as glibc 2.36 does it in the C locale, for varnishncsa's %t and %{…}t: a time format in, a
// function from a broken-down local time to text out, compiled once. Flags `_ - 0 ^ #`, field widths and the E/O
// modifiers behave as in glibc's __strftime_internal (a bad conversion is copied as written); local time follows
// TZ, as localtime_r does. Only %Z can differ: ICU's short zone names ("GMT+1" where glibc says "CET").

/** The fields of C's struct tm that strftime reads, for one second of local time. */
export interface BrokenTime {
  /** Seconds since the epoch (%s). */
  epoch: number
  year: number
  /** 0-11 */
  mon: number
  mday: number
  hour: number
  min: number
  sec: number
  /** 0 = Sunday */
  wday: number
  /** 0-365 */
  yday: number
  /** Seconds east of UTC. */
  gmtoff: number
}

/** localtime_r: the broken-down local time (TZ) of whole seconds since the epoch. One zone lookup (the offset);
 *  the fields come from UTC arithmetic, which is cheap. */
export function localTime(epoch: number): BrokenTime {
  const gmtoff = -new Date(epoch * 1000).getTimezoneOffset() * 60
  const d = new Date((epoch + gmtoff) * 1000)
  const year = d.getUTCFullYear()
  const mon = d.getUTCMonth()
  const mday = d.getUTCDate()
  return {
    epoch,
    year,
    mon,
    mday,
    hour: d.getUTCHours(),
    min: d.getUTCMinutes(),
    sec: d.getUTCSeconds(),
    wday: d.getUTCDay(),
    yday: Math.round((Date.UTC(year, mon, mday) - Date.UTC(year, 0, 1)) / 86400000),
    gmtoff,
  }
}

type Piece = (tm: BrokenTime) => string

/** Compiles a strftime format; the returned function formats one time. */
export function compileStrftime(fmt: string): (tm: BrokenTime) => string {
  const pieces = parse(fmt)
  if (pieces.length === 1) return pieces[0]
  return (tm) => {
    let out = ''
    for (const p of pieces) out += p(tm)
    return out
  }
}

const A_WKDAY = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const F_WKDAY = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const A_MONTH = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const F_MONTH = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

/** The C locale's composite conversions (d_t_fmt, d_fmt, t_fmt, t_fmt_ampm and the fixed ones). */
const SUBFORMATS: Record<string, string> = {
  c: '%a %b %e %H:%M:%S %Y',
  D: '%m/%d/%y',
  F: '%Y-%m-%d',
  r: '%I:%M:%S %p',
  R: '%H:%M',
  T: '%H:%M:%S',
  x: '%m/%d/%y',
  X: '%H:%M:%S',
}

/** A field width beyond this is cut to it: glibc would fill up to the caller's buffer (varnishncsa's is 64). */
const MAX_WIDTH = 1024

interface Spec {
  /** The pad flag: 0 (none), '_', '-' or '0'; the last one given wins. */
  pad: string
  upcase: boolean
  changeCase: boolean
  /** -1 when no width was given. */
  width: number
}

function parse(fmt: string): Piece[] {
  const out: Piece[] = []
  let lit = ''
  const flush = (): void => {
    if (lit !== '') {
      const s = lit
      out.push(() => s)
      lit = ''
    }
  }
  let i = 0
  while (i < fmt.length) {
    const c = fmt[i]
    if (c !== '%') {
      lit += c
      i++
      continue
    }
    const start = i
    const spec: Spec = { pad: '', upcase: false, changeCase: false, width: -1 }
    i++
    for (; i < fmt.length; i++) {
      const f = fmt[i]
      if (f === '_' || f === '-' || f === '0') spec.pad = f
      else if (f === '^') spec.upcase = true
      else if (f === '#') spec.changeCase = true
      else break
    }
    if (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') {
      let w = 0
      while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') {
        w = Math.min(w * 10 + (fmt.charCodeAt(i) - 48), MAX_WIDTH)
        i++
      }
      spec.width = w
    }
    let modifier = ''
    if (fmt[i] === 'E' || fmt[i] === 'O') modifier = fmt[i++]
    // `%` at the end of the format (after its flags) is copied as written, like any bad conversion.
    const conv = i < fmt.length ? fmt[i] : ''
    const piece = conversion(conv, modifier, spec, fmt.slice(start, conv === '' ? i : i + 1))
    i = conv === '' ? i : i + 1
    if (typeof piece === 'string') lit += piece
    else {
      flush()
      out.push(piece)
    }
  }
  flush()
  if (out.length === 0) out.push(() => '')
  return out
}

/** One conversion: a constant (string) when it does not depend on the time, else a piece. */
function conversion(conv: string, modifier: string, spec: Spec, written: string): Piece | string {
  const bad = (): string => cpy(spec, written)
  switch (conv) {
    case '%':
      // Also with a modifier: glibc's bad_format copies back to the nearest '%', which is this one.
      return add(spec, '%')
    case 'n':
      return add(spec, '\n')
    case 't':
      return add(spec, '\t')
    case 'a':
    case 'A': {
      if (modifier !== '') return bad()
      const names = conv === 'a' ? A_WKDAY : F_WKDAY
      const s = textSpec(spec)
      return (tm) => cpy(s, names[tm.wday])
    }
    case 'b':
    case 'h':
    case 'B': {
      if (modifier === 'E') return bad()
      const names = conv === 'B' ? F_MONTH : A_MONTH
      const s = textSpec(spec)
      return (tm) => cpy(s, names[tm.mon])
    }
    case 'p':
    case 'P': {
      const lower = conv === 'P' || spec.changeCase
      const s: Spec = { ...spec, upcase: lower ? false : spec.upcase }
      return (tm) => cpy(s, lower ? (tm.hour > 11 ? 'pm' : 'am') : tm.hour > 11 ? 'PM' : 'AM')
    }
    case 'c':
    case 'x':
    case 'X':
      if (modifier === 'O') return bad()
      return subformat(spec, SUBFORMATS[conv])
    case 'D':
    case 'F':
      if (modifier !== '') return bad()
      return subformat(spec, SUBFORMATS[conv])
    case 'r':
    case 'R':
    case 'T':
      return subformat(spec, SUBFORMATS[conv])
    case 'C':
      if (modifier === 'O') return bad()
      return (tm) => num(spec, 2, Math.floor(tm.year / 100))
    case 'd':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, tm.mday)
    case 'e':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, tm.mday, true)
    case 'H':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, tm.hour)
    case 'I':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, hour12(tm))
    case 'k':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, tm.hour, true)
    case 'l':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, hour12(tm), true)
    case 'j':
      return modifier === 'E' ? bad() : (tm) => num(spec, 3, tm.yday + 1)
    case 'M':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, tm.min)
    case 'm':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, tm.mon + 1)
    case 'S':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, tm.sec)
    case 's':
      return (tm) => num(spec, 1, tm.epoch)
    case 'u':
      return (tm) => num(spec, 1, ((tm.wday + 6) % 7) + 1)
    case 'w':
      return modifier === 'E' ? bad() : (tm) => num(spec, 1, tm.wday)
    case 'U':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, Math.floor((tm.yday - tm.wday + 7) / 7))
    case 'W':
      return modifier === 'E' ? bad() : (tm) => num(spec, 2, Math.floor((tm.yday - ((tm.wday + 6) % 7) + 7) / 7))
    case 'V':
    case 'g':
    case 'G':
      if (modifier === 'E') return bad()
      return (tm) => {
        const [year, days] = isoWeek(tm)
        if (conv === 'g') return num(spec, 2, ((year % 100) + 100) % 100)
        if (conv === 'G') return num(spec, 1, year)
        return num(spec, 2, Math.floor(days / 7) + 1)
      }
    case 'Y':
      return modifier === 'O' ? bad() : (tm) => num(spec, 1, tm.year)
    case 'y':
      return (tm) => num(spec, 2, ((tm.year % 100) + 100) % 100)
    case 'z':
      return (tm) => {
        let diff = tm.gmtoff
        const sign = add(spec, diff < 0 ? '-' : '+')
        diff = Math.trunc(Math.abs(diff) / 60)
        return sign + num(spec, 4, Math.trunc(diff / 60) * 100 + (diff % 60))
      }
    case 'Z': {
      const s: Spec = spec.changeCase ? { ...spec, upcase: false } : spec
      return (tm) => {
        const z = zoneName(tm.epoch)
        return cpy(s, spec.changeCase ? z.toLowerCase() : z)
      }
    }
    default:
      return bad()
  }
}

/** `#` turns weekday and month names to upper case. */
function textSpec(spec: Spec): Spec {
  return spec.changeCase ? { ...spec, upcase: true } : spec
}

function hour12(tm: BrokenTime): number {
  const h = tm.hour % 12
  return h === 0 ? 12 : h
}

/** glibc's `add`: text padded on the left to the field width, with zeros under the `0` flag, else spaces. */
function add(spec: Spec, s: string): string {
  if (spec.width <= s.length) return s
  return (spec.pad === '0' ? '0' : ' ').repeat(spec.width - s.length) + s
}

/** glibc's `cpy`: `add`, upper-cased under `^`. */
function cpy(spec: Spec, s: string): string {
  return add(spec, spec.upcase ? s.toUpperCase() : s)
}

/** glibc's DO_NUMBER (and DO_NUMBER_SPACEPAD with `spacepad`): at least `digits` digits (or the width), padded
 *  with zeros, or spaces under `_`, or not at all under `-`; then padded to what is left of the width. */
function num(spec: Spec, d: number, value: number, spacepad = false): string {
  let pad = spec.pad
  if (spacepad && pad !== '0' && pad !== '-') pad = '_'
  const digits = d > spec.width ? d : spec.width
  let width = spec.width
  const negative = value < 0
  let body = String(Math.abs(value))
  let lead = ''
  if (pad !== '-') {
    const padding = digits - body.length - (negative ? 1 : 0)
    if (padding > 0) {
      lead = pad === '_' ? ' '.repeat(padding) + (negative ? '-' : '') : (negative ? '-' : '') + '0'.repeat(padding)
      width = width > padding ? width - padding : 0
      return lead + add({ ...spec, pad, width }, body)
    }
  }
  if (negative) body = '-' + body
  return add({ ...spec, pad, width }, body)
}

/** A composite conversion (%c, %T, …): formatted with no flags, then padded and upper-cased as a whole. */
function subformat(spec: Spec, fmt: string): Piece {
  const inner = compileStrftime(fmt)
  return (tm) => cpy(spec, inner(tm))
}

/** ISO 8601 week-based year and days since the start of its week 1 (glibc's iso_week_days). */
function isoWeek(tm: BrokenTime): [number, number] {
  const weekDays = (yday: number, wday: number): number => yday - ((yday - wday + 4 + 378) % 7) + 3
  let year = tm.year
  let days = weekDays(tm.yday, tm.wday)
  if (days < 0) {
    year--
    days = weekDays(tm.yday + (isLeap(year) ? 366 : 365), tm.wday)
  } else {
    const next = weekDays(tm.yday - (isLeap(year) ? 366 : 365), tm.wday)
    if (next >= 0) {
      year++
      days = next
    }
  }
  return [year, days]
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
}

// The zone's abbreviation; one Intl formatter per TZ value (Node rereads TZ when process.env.TZ is set).
let zoneTz: string | undefined = '\0'
let zoneFormat: Intl.DateTimeFormat | null = null

function zoneName(epoch: number): string {
  const tz = process.env.TZ
  if (zoneFormat === null || tz !== zoneTz) {
    zoneFormat = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
    zoneTz = tz
  }
  for (const p of zoneFormat.formatToParts(epoch * 1000)) if (p.type === 'timeZoneName') return p.value
  return ''
}
