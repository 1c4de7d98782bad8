// Owns the V8 heap settings that keep peak memory flat (README, Performance: Memory, with the figures). The bin
// starts node with them on its command line (scripts/bundle.mjs writes its exec line from NODE_FLAGS). Started
// without them — `node dist/vlogdump.cjs`, as `npm start` runs it, or any launcher that skips the bin's shell
// line — V8 sizes the heaps from the machine's memory (young generations of two 16 MiB semi-spaces on 16 GB or
// more), and two threads peaked 40-60 MiB above the bin; with what boundHeap sets, 1-3 MiB above it.

import { setFlagsFromString } from 'node:v8'

/** node's flags in the bin: young generations of two 1 MiB semi-spaces; an old generation collected once it has
 *  grown by half of what was live after the last full collection; one thread for V8's background work; no baseline
 *  compiler (Sparkplug: its code and its own pages of the node binary, in every thread, for no speed a run of ours
 *  measured; see scripts/bundle.mjs). */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--heap-growing-percent=50', '--v8-pool-size=1', '--no-sparkplug'] as const

/** When node was started without the bin's flags, sets those V8 still reads (true). A worker thread's heap is sized
 *  when it starts, so --max-semi-space-size holds for the workers; the main thread's is sized already, and its
 *  young generation is kept at the size it starts with (1 MiB semi-spaces on 64-bit), as V8 reads
 *  --semi-space-growth-factor each time it would grow it. --heap-growing-percent is read at each full collection,
 *  --no-sparkplug each time a function would be compiled (what already was stays). --v8-pool-size (Node's) is too
 *  late. */
export function boundHeap(execArgv: readonly string[]): boolean {
  if (execArgv.includes(NODE_FLAGS[0])) return false
  for (const flag of NODE_FLAGS) if (!flag.startsWith('--v8-pool-size')) setFlagsFromString(flag)
  bounded = true
  keepYoung()
  return true
}

let bounded = false

/** When boundHeap set the flags, the main thread's young generation is kept from growing by a flag that V8 sets
 *  back to at least 2 each time it sizes a new thread's heap (Heap::ConfigureHeap), which let it grow to 16 MiB
 *  semi-spaces while worker threads started: the parallel reader calls this again once they run. */
export function keepYoung(): void {
  if (bounded) setFlagsFromString('--semi-space-growth-factor=1')
}
