// Owns the terminal while --top runs full screen: the alternate screen (the shell's screen comes back as it was),
// a hidden cursor, no autowrap, keys read raw, redraws on resize, and giving all of it back on every way out —
// leave() is idempotent and synchronous, so cli.ts can also call it from an 'exit' or 'uncaughtException'
// handler. stderr is held while the screen is ours (a message would scroll it) and written after it. Plain ANSI
// (ECMA-48 and xterm's private modes, which every terminal emulator in use and tmux and screen understand): a
// terminal library would add a dependency and a terminfo lookup for the eight sequences used here.

import { Writable } from 'node:stream'
import type { ReadStream, WriteStream } from 'node:tty'

const ENTER = '\x1b[?1049h' + '\x1b[?25l' + '\x1b[?7l' + '\x1b[H\x1b[2J' // alternate screen, hide cursor, no autowrap, clear
const LEAVE = '\x1b[0m' + '\x1b[?7h' + '\x1b[?25h' + '\x1b[?1049l' // plain text, autowrap, cursor, main screen

/** What --top needs of a terminal (tests give a fake one). */
export interface TopTerminal {
  readonly columns: number
  readonly rows: number
  /** A keyboard was found (/dev/tty, or stdin when it is a terminal not read as the log). */
  readonly keyboard: boolean
  /** Takes the screen and the keyboard; `onKeys` gets raw input, `onResize` is called when the size changes. */
  enter(onKeys: (input: string) => void, onResize: () => void): void
  /** Replaces the screen's lines (each already fitted to the width). */
  draw(lines: string[]): void
  /** Gives everything back, and writes the held stderr. Idempotent, synchronous. */
  leave(): void
  /** The latest line written to the held stderr while the screen was ours (for the status row), or null. */
  readonly notice: string | null
  /** Where messages go while the screen is ours: held, then written to the real stderr. */
  readonly stderr: Writable
}

export class Terminal implements TopTerminal {
  private entered = false
  private left = false
  private held: Buffer[] = []
  private lastNotice: string | null = null
  private noticeRepeats = 0
  private onResize: (() => void) | null = null
  readonly stderr: Writable

  /** `write` writes synchronously to the terminal (fs.writeSync on stdout's fd: it must also work in an 'exit'
   *  handler); `writeStderr` to the real stderr. */
  constructor(
    private readonly out: WriteStream,
    private readonly keys: ReadStream | null,
    private readonly write: (s: string) => void,
    private readonly writeStderr: (b: Buffer) => void,
  ) {
    this.stderr = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        this.hold(Buffer.from(chunk))
        cb()
      },
    })
  }

  get columns(): number {
    return this.out.columns || 80
  }

  get rows(): number {
    return this.out.rows || 24
  }

  get keyboard(): boolean {
    return this.keys !== null
  }

  get notice(): string | null {
    return this.lastNotice === null ? null : this.noticeRepeats > 1 ? `${this.lastNotice} (×${this.noticeRepeats})` : this.lastNotice
  }

  enter(onKeys: (input: string) => void, onResize: () => void): void {
    if (this.entered) return
    this.entered = true
    this.write(ENTER)
    this.onResize = onResize
    this.out.on('resize', onResize)
    if (this.keys !== null) {
      this.keys.setRawMode(true)
      this.keys.setEncoding('utf8')
      this.keys.on('data', onKeys)
      this.keys.resume()
    }
  }

  draw(lines: string[]): void {
    if (!this.entered || this.left) return
    // Every row rewritten in place (no clear first: no flicker), with what is right of it and below erased.
    let s = ''
    for (let i = 0; i < lines.length; i++) s += `\x1b[${i + 1};1H${lines[i]}\x1b[0m\x1b[K`
    // Below the last line, when the screen has more rows (on the last row this would erase the row itself).
    if (lines.length < this.rows) s += `\x1b[${lines.length + 1};1H\x1b[J`
    this.write(s)
  }

  leave(): void {
    if (!this.entered || this.left) return
    this.left = true
    if (this.onResize !== null) this.out.off('resize', this.onResize)
    if (this.keys !== null) {
      try {
        this.keys.setRawMode(false)
      } catch {
        // The terminal is gone (hung up): nothing to give back.
      }
      this.keys.removeAllListeners('data')
      this.keys.pause()
      this.keys.destroy()
    }
    try {
      this.write(LEAVE)
    } catch {
      // As above.
    }
    for (const b of this.held) this.writeStderr(b)
    this.held = []
  }

  private hold(b: Buffer): void {
    if (!this.entered || this.left) {
      this.writeStderr(b)
      return
    }
    this.held.push(b)
    // Keep what is held bounded: a chatty varnishlog must not grow memory (its last 64 messages are written).
    if (this.held.length > 64) this.held.shift()
    const text = b.toString('utf8').trim().split('\n').pop()?.trim() ?? ''
    if (text === '') return
    if (text === this.lastNotice) this.noticeRepeats++
    else {
      this.lastNotice = text
      this.noticeRepeats = 1
    }
  }
}
