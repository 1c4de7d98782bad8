// Owns a block's records kept as positions (block mode, binary input, when a filter bounds trees before they are
// read: --slow, a query's Timestamp time). Most trees fail that bound, and their records were decoded into
// strings and kept in growing arrays for nothing: a third of a worker's time went to that and to collecting it.
// The grouper reads only the records it needs (Begin, Link, Timestamp, End, …: src/parse/binary.ts decodes those);
// every record of a transaction is kept here, as runs of records one after the other in the block (a
// transaction's records come in runs: the scanner hands on a run at once), chained in typed arrays reused from
// block to block, and decoded into the transaction's tags and data only when its tree passed the bound and is to
// be read.

import type { Transaction } from '../vsl/types.js'

/** Decodes the record at input position `pos` onto the end of tags and data (src/parse/binary.ts); returns its
 *  size in bytes (where the next record of a run starts). */
export type DecodeAt = (pos: number, tags: string[], data: string[]) => number
/** The tag name of the record at input position `pos`. */
export type TagAt = (pos: number) => string
/** The size in bytes of the record at input position `pos`. */
export type SizeAt = (pos: number) => number

export class RecordStore {
  /** Per run: where its first record is, how many records, the next run of its transaction (-1: none). */
  private pos = new Float64Array(0)
  private count = new Int32Array(0)
  private next = new Int32Array(0)
  private n = 0
  /** Set by the reader of each block: the block's records are decoded from its bytes. */
  decode: DecodeAt = () => 0
  tagAt: TagAt = () => ''
  sizeAt: SizeAt = () => 0

  /** Forgets every record (a new block). Transactions that kept some must be gone by then. */
  clear(): void {
    this.n = 0
  }

  /** Keeps the `count` records from `pos` on, one after the other in the block, as the last of tx's. */
  add(tx: Transaction, pos: number, count = 1): void {
    if (this.n === this.pos.length) this.grow()
    const i = this.n++
    this.pos[i] = pos
    this.count[i] = count
    this.next[i] = -1
    if (tx.stored < 0) tx.stored = i
    else this.next[tx.storedLast] = i
    tx.storedLast = i
  }

  /** Whether tx has records kept here. */
  holds(tx: Transaction): boolean {
    return tx.stored >= 0
  }

  /** Appends the positions of tx's kept records (a transaction still pending at the block's end: all of its). */
  positions(tx: Transaction, into: number[]): void {
    for (let i = tx.stored; i >= 0; i = this.next[i]) {
      let p = this.pos[i]
      for (let k = this.count[i]; k > 0; k--) {
        into.push(p)
        if (k > 1) p += this.sizeAt(p)
      }
    }
  }

  /** Whether the data of one of tx's records of this tag passes `test` (its kept ones decoded one at a time, in
   *  order, then those it holds). */
  some(tx: Transaction, tag: string, test: (data: string) => boolean): boolean {
    const tags: string[] = []
    const data: string[] = []
    for (let i = tx.stored; i >= 0; i = this.next[i]) {
      let p = this.pos[i]
      for (let k = this.count[i]; k > 0; k--) {
        if (this.tagAt(p) !== tag) {
          if (k > 1) p += this.sizeAt(p)
          continue
        }
        p += this.decode(p, tags, data)
        if (test(data[data.length - 1])) return true
      }
    }
    for (let k = 0; k < tx.tags.length; k++) if (tx.tags[k] === tag && test(tx.data[k])) return true
    return false
  }

  /** Decodes tx's kept records onto the end of its tags and data. */
  load(tx: Transaction): void {
    for (let i = tx.stored; i >= 0; i = this.next[i]) {
      let p = this.pos[i]
      for (let k = this.count[i]; k > 0; k--) p += this.decode(p, tx.tags, tx.data)
    }
    tx.stored = -1
    tx.storedLast = -1
  }

  /** load() for every transaction of a tree. */
  loadTree(tx: Transaction, depth = 0): void {
    if (tx.stored >= 0) this.load(tx)
    if (depth < 256) for (const c of tx.children) this.loadTree(c, depth + 1)
  }

  private grow(): void {
    const size = Math.max(16384, this.pos.length * 2)
    this.pos = grown(this.pos, new Float64Array(size))
    this.count = grown(this.count, new Int32Array(size))
    this.next = grown(this.next, new Int32Array(size))
  }
}

/** `to`, a larger array, with `from` copied to its start. */
export function grown<T extends Float64Array | Int32Array>(from: T, to: T): T {
  to.set(from)
  return to
}
