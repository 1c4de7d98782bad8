// Owns --top while a run lasts: a sink beside the renderers. Every shown record goes in (add: one sample, counted
// in the sliding window, and in the filtered one while `/` has set a URL filter); every interval the figures go
// out — drawn full screen on a terminal (terminal.ts; keys applied through keys.ts), or as a plain snapshot on a
// pipe. Time is the records' log time for replayed logs and the wall clock for live input (cli.ts decides; see
// README "Live view").

import type { TopOptions } from '../options.js'
import { parsePattern } from '../filter/flags.js'
import { matches, type Pattern } from '../filter/predicate.js'
import type { Palette } from '../render/palette.js'
import type { RunState } from '../run/state.js'
import type { ClientRecord } from '../vsl/types.js'
import { sampleOf } from './counts.js'
import { INITIAL_UI, keysOf, press, type TopUi } from './keys.js'
import { renderScreen, renderSnapshot, type TopStatus } from './screen.js'
import type { TopTerminal } from './terminal.js'
import { TopWindow, type TopView } from './window.js'

/** What the record stage feeds beside the renderers: every shown record, once (a record, where a sink of
 *  src/sink takes rendered rows). */
export interface RecordView {
  add(rec: ClientRecord): void
}

export interface TopIo {
  /** The terminal to take (full screen), or null: plain snapshots to stdout. */
  terminal: TopTerminal | null
  /** Writes a snapshot to stdout (through the run's Stdout: a closed pipe ends the run quietly); resolves when
   *  it is written or stdout failed. */
  write: (text: string) => Promise<void>
  /** Width of a snapshot. */
  columns: number
  /** Wall clock, epoch seconds (tests give a fixed one). */
  now?: () => number
}

interface Filter {
  pattern: Pattern
  window: TopWindow
  /** When it was set, in the time base's seconds. */
  since: number | null
}

export class TopSink implements RecordView {
  private readonly window: TopWindow
  private readonly clock: 'wall' | 'log'
  private readonly now: () => number
  private filter: Filter | null = null
  private ui: TopUi = INITIAL_UI
  /** The figures on screen (kept while paused, so keys redraw the same figures). */
  private frame: TopView | null = null
  private timer: NodeJS.Timeout | null = null
  private frames = 0
  /** A key changed the filter: the figures are taken again, even while paused. */
  private filterChanged = false

  constructor(
    private readonly opts: TopOptions,
    private readonly io: TopIo,
    private readonly palette: Palette,
  ) {
    this.clock = opts.clock === 'wall' ? 'wall' : 'log'
    this.now = io.now ?? (() => Date.now() / 1000)
    this.window = new TopWindow(opts.window, this.clock === 'wall' ? this.now() : null)
  }

  /** The per-record path: one sample, one or two windows. */
  add(rec: ClientRecord): void {
    const s = sampleOf(rec)
    const t = this.clock === 'wall' ? this.now() : logTime(rec, this.window.newest, this.now())
    if (t === null) {
      this.window.addToTotal(s)
      return
    }
    this.window.add(s, t)
    const f = this.filter
    if (f !== null && matches(f.pattern, rec.request.url)) f.window.add(s, t)
  }

  /** Takes the terminal (or starts the snapshots) and the refresh timer. `state` is told about q and Ctrl-C. */
  start(state: RunState): void {
    const { terminal } = this.io
    if (terminal !== null) {
      terminal.enter(
        (input) => this.onKeys(input, state),
        () => this.draw(),
      )
      this.refresh()
    }
    // The input keeps the run alive, not the refreshes.
    this.timer = setInterval(() => this.refresh(), this.opts.interval * 1000).unref()
  }

  /** The run is over: the terminal is given back; the last figures are printed on stdout when the input ended
   *  (not after q or Ctrl-C on a terminal, nor after stdout closed). */
  async stop(state: RunState): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    const { terminal } = this.io
    const ended = !state.interrupted
    terminal?.leave()
    if (state.stopped || (terminal !== null && !ended)) return
    await this.io.write(renderSnapshot(this.figures(), this.status(), this.io.columns, this.palette))
  }

  private refresh(): void {
    const { terminal } = this.io
    if (terminal === null) {
      void this.io.write(renderSnapshot(this.figures(), this.status(), this.io.columns, this.palette))
      return
    }
    if (this.opts.crashTest === true && ++this.frames > 1) throw new Error('--top crash test (VLOGDUMP_TOP_CRASH_TEST)')
    if (!this.ui.paused || this.frame === null) this.frame = this.figures()
    this.draw()
  }

  private draw(): void {
    const { terminal } = this.io
    if (terminal === null || this.frame === null) return
    terminal.draw(renderScreen(this.frame, this.ui, this.status(terminal.notice), terminal.columns, terminal.rows, this.palette))
  }

  private figures(): TopView {
    const f = this.filter
    const w = f === null ? this.window : f.window
    const now = this.clock === 'wall' ? this.now() : this.window.newest
    return w.view(now)
  }

  private status(notice: string | null = null): TopStatus {
    return { clock: this.clock, filtered: this.filter !== null, filterSince: this.filter?.since ?? null, notice }
  }

  private onKeys(input: string, state: RunState): void {
    for (const key of keysOf(input)) {
      const before = this.ui
      const { ui, effect } = press(before, key)
      this.ui = ui
      switch (effect) {
        case 'quit':
          state.interrupt(true)
          return
        case 'interrupt':
          state.interrupt()
          return
        case 'filter':
          this.setFilter(ui.filter, before.filter)
          break
        case 'none':
          continue
      }
    }
    // Paused or not, the figures on screen are drawn again with what the keys changed (a new filter: its own).
    if (this.frame === null || !this.ui.paused || this.filterChanged) this.frame = this.figures()
    this.filterChanged = false
    this.draw()
  }

  /** `/`: from now on the view counts only the records whose URL matches (as --url: a regex, `!` negates); the
   *  figures without it keep being counted and come back when the filter is cleared. */
  private setFilter(text: string | null, previous: string | null): void {
    this.filterChanged = true
    if (text === null) {
      this.filter = null
      return
    }
    let pattern: Pattern
    try {
      pattern = parsePattern('URL filter', text, this.opts.ignoreCase)
    } catch (err) {
      // The filter in force stays.
      this.ui = { ...this.ui, filter: previous, message: (err as Error).message }
      this.filterChanged = false
      return
    }
    const since = this.clock === 'wall' ? this.now() : this.window.newest
    this.filter = { pattern, window: new TopWindow(this.opts.window, since), since }
  }
}

/** A record's time for the window when time is log time: when it ended (its start and total time), else when it
 *  started, else the newest time seen (null when there is none yet: it counts since start only). */
function logTime(rec: ClientRecord, newest: number | null, wall: number): number | null {
  if (rec.startEpoch === null) return newest
  const t = rec.startEpoch + (rec.timing.total ?? 0)
  // Log text is input: a time before 1970 or later than tomorrow by this host's clock is no time a log was
  // written at (and one such record would move the window past every record after it): not the window's time.
  if (!(t >= 0 && t <= wall + MAX_AHEAD)) return newest
  return t
}

/** How far ahead of this host's clock a record's time may be (clocks of other hosts, time zones gone wrong). */
const MAX_AHEAD = 86400
