// Owns the typed errors that end a run with exit code 2 and a one-line message (no stack trace): `vlogdump: …`.

export class VlogdumpError extends Error {
  override name = 'VlogdumpError'
  readonly exitCode = 2
}

/** A bad option or argument. */
export class UsageError extends VlogdumpError {
  override name = 'UsageError'
}
