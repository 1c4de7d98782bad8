// Owns the typed errors that end a run with exit code 2 and a one-line message (no stack trace): `vlogdump: …`.

export class VlogdumpError extends Error {
  override name = 'VlogdumpError'
  readonly exitCode = 2
}

/** A bad option or argument. */
export class UsageError extends VlogdumpError {
  override name = 'UsageError'
}

/** An error in a piece of text the user wrote: the message shows the text with a caret under the column, as
 *  varnishlog's vxp_ErrWhere does. */
class PositionedError extends VlogdumpError {
  constructor(what: string, reason: string, text: string, offset: number) {
    super(`${what}: ${reason} at column ${offset + 1}\n  ${text.replace(/[\r\n\t]/g, ' ')}\n  ${' '.repeat(offset)}^`)
  }
}

/** A query (-q) that does not parse. */
export class QueryError extends PositionedError {
  override name = 'QueryError'
  constructor(
    readonly reason: string,
    readonly query: string,
    readonly offset: number,
  ) {
    super('query', reason, query, offset)
  }
}

/** A format (-F) that varnishncsa would refuse, pointing at the specifier. */
export class FormatError extends PositionedError {
  override name = 'FormatError'
  constructor(
    readonly reason: string,
    readonly format: string,
    readonly offset: number,
  ) {
    super('format', reason, format, offset)
  }
}
