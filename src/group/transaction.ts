// Owns making a new, empty Transaction (both groupers start them the same way).

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
