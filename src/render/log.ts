// Owns the log output (--output log): a record in, the varnishlog lines of its transactions out, in the layout of
// `varnishlog -g request` (4 and later) or of Varnish 2.1/3.0's grouped output, byte for byte as they were read (the text
// is latin1: one char per byte; it is written as such). vlogdump reads this output again into the same records,
// so it can stand as a smarter grep in front of other varnishlog readers.

import type { ClientRecord, Transaction } from '../vsl/types.js'

/** A tree is finite (the grouper detaches each transaction once); this bounds it whatever comes. */
const MAX_TRANSACTIONS = 100_000

const TYPE_NAMES: Record<string, string> = { req: 'Request', bereq: 'BeReq', sess: 'Session', raw: 'Record', unknown: 'Request' }

export function renderLog(rec: ClientRecord): string {
  const out: string[] = []
  if (rec.tree.legacy === true) legacy(rec.tree, out)
  else walk(rec.tree, out)
  out.push('\n')
  return out.join('')
}

/** `*   << Request  >> 5` then `-   Tag            data` per record, the tree breadth first as varnishlog prints
 *  it (vslq_callback): children one level deeper, restarts at their parent's level. */
function walk(root: Transaction, out: string[]): void {
  const queue: Transaction[] = [root]
  const levels: number[] = [1]
  for (let j = 0; j < queue.length && j < MAX_TRANSACTIONS; j++) {
    const tx = queue[j]
    const level = levels[j]
    const star = level <= 3 ? '*'.repeat(level) : `*${level}*`
    const dash = level <= 3 ? '-'.repeat(level) : `-${level}-`
    out.push(`${star.padEnd(3)} << ${(TYPE_NAMES[tx.type] ?? 'Request').padEnd(9)}>> ${String(tx.vxid).padEnd(10)}\n`)
    const prefix = dash.padEnd(3) + ' '
    for (let i = 0; i < tx.tags.length; i++) out.push(prefix + tx.tags[i].padEnd(14) + ' ' + tx.data[i] + '\n')
    for (const c of byFirstMention(tx)) {
      queue.push(c)
      levels.push(c.reason === 'restart' ? level : level + 1)
    }
  }
}

/** A transaction's children in the order varnishlog lists them: by when the child's Begin or the parent's Link
 *  naming it was read first (vtx_set_parent), as far as the input tells (raw input tells; grouped input lists
 *  them in that order already). */
function byFirstMention(tx: Transaction): Transaction[] {
  if (tx.children.length < 2) return tx.children
  const key = (c: Transaction): number => {
    const i = tx.links.indexOf(c.vxid)
    return i < 0 ? c.seen : Math.min(c.seen, tx.linkSeen[i])
  }
  return tx.children.map((c) => [key(c), c] as const).sort((a, b) => a[0] - b[0]).map((e) => e[1])
}

/** Varnish 2.1/3.0 grouped: the backend transactions first (as varnishlog prints them), then the request; the fd
 *  numbers are made up (10 for the client, 11 for the backend), since only their sameness matters to a reader. */
function legacy(tx: Transaction, out: string[]): void {
  const line = (fd: number, tag: string, side: string, data: string): void => {
    out.push(`${String(fd).padStart(5)} ${tag.padEnd(12)} ${side} ${data}\n`)
  }
  if (tx.type === 'bereq') {
    for (let i = 0; i < tx.tags.length; i++) line(11, tx.tags[i], 'b', tx.data[i])
    return
  }
  for (const b of tx.children) for (let i = 0; i < b.tags.length; i++) line(11, b.tags[i], 'b', b.data[i])
  for (let i = 0; i < tx.tags.length; i++) {
    // `Backend c <fd> <director> <backend>` names the backend fd: ours now.
    const d = tx.tags[i] === 'Backend' ? tx.data[i].replace(/^\S+/, '11') : tx.data[i]
    line(10, tx.tags[i], 'c', d)
  }
}
