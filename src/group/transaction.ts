// Owns making a new, empty Transaction, and the -T rule both groupers share (both start and time them the same way).

import type { Transaction, TxType } from '../vsl/types.js'

/** An open transaction first seen at log time `now` (epoch seconds; 0 when none is known yet). */
export function newTransaction(vxid: number, type: TxType, now: number, legacy = false, seen = 0): Transaction {
  const tx: Transaction = {
    vxid,
    type,
    parent: -1,
    reason: '',
    tags: [],
    data: [],
    links: [],
    linkReasons: [],
    linkSeen: [],
    seen,
    children: [],
    state: 0,
    forced: null,
    t0: now,
    stamped: false,
    slowest: -1,
    sessionAddr: null,
    stored: -1,
    storedLast: -1,
  }
  if (legacy) tx.legacy = true
  return tx
}

/** Log time steps from `now` to `t` (epoch seconds): at ten times or more, the log time read so far was none (a
 *  Timestamp, or a Varnish 3 ReqEnd, cut short at the start of the input set it: a line loses digits, never gains
 *  them, and epoch times never grow tenfold). What is pending is then as if first seen at t, not 56 years before it
 *  (timed out by the next step, where a block that read it whole evicts nothing). */
export function noLogTimeBefore(now: number, t: number, pending: Iterable<Transaction>): void {
  if (now > 0 && t >= 10 * now) for (const tx of pending) tx.t0 = Math.max(tx.t0, t)
}
