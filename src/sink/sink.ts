// Owns what a sink is: an output beside the renderers that takes the rendered rows of the records shown and
// delivers them elsewhere than stdout (src/sink/clickhouse). Types only. The run pushes rows synchronously, as it
// pushes rendered text to stdout; the sink's flush() is the run's per-chunk async boundary, where the sink may
// make the reader wait (bounded memory).

export interface SinkHooks {
  /** A message for stderr (`vlogdump: ` is added); the run goes on. */
  warn(message: string): void
  /** Delivery is over for good: the message is reported, reading stops, and the run exits 2. */
  fail(message: string): void
}

/** What a sink delivered, for the summary and the exit status. */
export interface SinkReport {
  name: string
  inserted: number
  dropped: number
  undelivered: number
}

export interface RecordSink {
  /** Called once by the run, before the first row. */
  start(hooks: SinkHooks): void
  /** One rendered row (a JSON line). */
  push(row: string): void
  /** Bytes of whole rows (rendered by the parallel reader's threads); resolves when the reader may go on. */
  write(bytes: Buffer): Promise<void>
  /** The end of a chunk of input: resolves when the reader may go on. */
  flush(): Promise<void>
  /** The end of the run: delivers what is held (or gives up), and says what became of the rows. */
  close(signal: AbortSignal | undefined): Promise<SinkReport>
}
