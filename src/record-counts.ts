// Owns the tally of emitted records (how many, shown, backend-only, incomplete by reason), kept the same way by
// the run and by each block of the parallel reader, and added up.

import type { ClientRecord, IncompleteReason } from './vsl/types.js'

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
  c.records++
  if (rec.side === 'backend') c.backendOnly++
  if (rec.incomplete !== null) c.incomplete[rec.incomplete] = (c.incomplete[rec.incomplete] ?? 0) + 1
}

export function addRecordCounts(into: RecordCounts, from: RecordCounts): void {
  into.records += from.records
  into.shown += from.shown
  into.backendOnly += from.backendOnly
  for (const [k, v] of Object.entries(from.incomplete) as [IncompleteReason, number][]) into.incomplete[k] = (into.incomplete[k] ?? 0) + v
}
