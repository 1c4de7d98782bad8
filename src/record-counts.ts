// Owns the tally of emitted records (how many, shown, backend-only, incomplete by reason), kept the same way by
// the run and by each block of the parallel reader, and added up.

import type { ClientRecord, IncompleteReason, Transaction } from './vsl/types.js'

export interface RecordCounts {
  records: number
  shown: number
  backendOnly: number
  incomplete: Partial<Record<IncompleteReason, number>>
}

export function newRecordCounts(): RecordCounts {
  return { records: 0, shown: 0, backendOnly: 0, incomplete: {} }
}

/** Counts an emitted record (shown or not: the caller counts `shown`). */
export function countRecord(c: RecordCounts, rec: ClientRecord): void {
  count(c, rec.side === 'backend', rec.incomplete)
}

/** Counts the record of a tree that was not built (a filter could tell from the tree that it is not shown): a
 *  tree whose root is a backend transaction is a backend record, as buildRecord makes it. */
export function countTree(c: RecordCounts, root: Transaction, incomplete: IncompleteReason | null): void {
  count(c, root.type === 'bereq', incomplete)
}

function count(c: RecordCounts, backend: boolean, incomplete: IncompleteReason | null): void {
  c.records++
  if (backend) c.backendOnly++
  if (incomplete !== null) c.incomplete[incomplete] = (c.incomplete[incomplete] ?? 0) + 1
}

export function addRecordCounts(into: RecordCounts, from: RecordCounts): void {
  into.records += from.records
  into.shown += from.shown
  into.backendOnly += from.backendOnly
  for (const [k, v] of Object.entries(from.incomplete) as [IncompleteReason, number][]) into.incomplete[k] = (into.incomplete[k] ?? 0) + v
}
