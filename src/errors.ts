// Owns the typed errors that end a run with exit code 2 and a one-line message (no stack trace): `vlogdump: …`.

export class VlogdumpError extends Error {
  override name = 'VlogdumpError'
  readonly exitCode = 2
}

/** A bad option or argument. */
export class UsageError extends VlogdumpError {
  override name = 'UsageError'
}

/** A query (-q) that does not parse: points at the column, as varnishlog's vxp_ErrWhere does. */
export class QueryError extends VlogdumpError {
  override name = 'QueryError'
  constructor(
    readonly reason: string,
    readonly query: string,
    readonly offset: number,
  ) {
    super(`query: ${reason} at column ${offset + 1}\n  ${query.replace(/[\r\n\t]/g, ' ')}\n  ${' '.repeat(offset)}^`)
  }
}

/** A format (-F) that varnishncsa would refuse: points at the column of the specifier, as QueryError does. */
export class FormatError extends VlogdumpError {
  override name = 'FormatError'
  constructor(
    readonly reason: string,
    readonly format: string,
    readonly offset: number,
  ) {
    super(`format: ${reason} at column ${offset + 1}\n  ${format.replace(/[\r\n\t]/g, ' ')}\n  ${' '.repeat(offset)}^`)
  }
}
