// Owns the run's side of stdout: rendered text goes into OutputTurns' current buffer and is written chunk by
// chunk; a write error ends reading (EPIPE quietly, like grep; anything else is reported).

import type { Writable } from 'node:stream'
import { type OutputBuffer, OutputTurns } from '../output.js'
import type { RunState } from './state.js'

export class Stdout {
  private readonly turns = new OutputTurns()

  constructor(
    private readonly stdout: Writable,
    private readonly signal: AbortSignal | undefined,
    private readonly state: RunState,
  ) {
    stdout.on('error', this.onError)
  }

  /** Where rendered text is pushed. */
  get buffer(): OutputBuffer {
    return this.turns.current
  }

  /** Writes bytes to stdout; resolves when they are written (their buffer may then be reused) or stdout failed.
   *  After Ctrl-C or SIGTERM what is decided is still written, but not waited for: a stuck reader must not keep
   *  vlogdump waiting, and no buffer is reused after an interrupt. */
  readonly write = (bytes: Buffer): Promise<void> =>
    new Promise<void>((resolve) => {
      if (this.state.stopped) return resolve()
      const done = (): void => {
        this.signal?.removeEventListener('abort', done)
        resolve()
      }
      this.signal?.addEventListener('abort', done)
      this.stdout.write(bytes, done)
      if (this.state.interrupted) done()
    })

  /** Writes what the current buffer holds (dropped after stdout closed). */
  async flush(): Promise<void> {
    if (this.state.stopped) this.turns.current.discard()
    else await this.turns.flush(this.write, () => this.state.interrupted)
  }

  /** Stops listening for errors: the run is over. */
  close(): void {
    this.stdout.off('error', this.onError)
  }

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.state.stopped = true
    if (err.code !== 'EPIPE') {
      this.state.fail(`cannot write output: ${err.message}`)
    }
  }
}
