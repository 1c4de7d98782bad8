#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli.js, from tsc) and its runtime dependencies into one CommonJS file,
// dist/lib/vlogdump.cjs, behind a small bin, dist/vlogdump.cjs, that answers `--version` without loading it.
// - A bundle loads faster than the ~60 modules of yargs and ours (measured: --version 0.24 s -> 0.19 s, against
//   0.10 s for `node -e 0`).
// - CommonJS, not an ES module: Node's ES module loader costs every start-up about 10 ms more (an empty .mjs
//   file against an empty .cjs: 119 vs 108 ms; the bin and bundle as .cjs: a 10-line run 164 -> 153 ms,
//   --version 129 -> 119 ms, 20 runs each, interleaved). esbuild turns yargs (ESM-only) into CommonJS too; it is
//   initialised only when a command line has options (the dynamic import of args.js), as in the ES module build
//   where it was a chunk of its own.
// - The version is inlined. The worker of the parallel reader (src/parallel/worker.ts) is bundled beside it as
//   dist/lib/worker.js (an ES module, started with new Worker(URL)): the same relative URL finds it from the tsc
//   output and from the bundle, where import.meta.url is the bundle's own URL.

import { build } from 'esbuild'
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).pathname
// The bin's node flags (src/heap.ts, which sets what it can of them when node is started without them).
const { NODE_FLAGS } = await import(new URL('../dist/src/heap.js', import.meta.url).href)

/** string-width (three copies, under yargs' help layout) builds an Intl.Segmenter and Unicode-property regexes
 *  when its module loads: 45 ms of every start-up (measured with --cpu-prof), for a function that only runs for
 *  --help and usage errors. This moves the module's body into a function run on the first call; the code itself
 *  is unchanged. */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8')
      const lines = src.split('\n')
      const imports = lines.filter((l) => l.startsWith('import '))
      const body = lines.filter((l) => !l.startsWith('import ')).join('\n')
      if (!/^export default function stringWidth\(/m.test(body)) throw new Error(`${args.path}: unexpected shape; update lazyStringWidth`)
      const fn = body.replace(/^export default function stringWidth\(/m, 'function stringWidth(')
      return {
        contents: `${imports.join('\n')}\nlet loaded;\nfunction load() {\n${fn}\nreturn stringWidth;\n}\nexport default function lazyStringWidth(...args) {\n  return (loaded ??= load())(...args);\n}\n`,
        loader: 'js',
        resolveDir: args.path.replace(/[\\/][^\\/]*$/, ''),
      }
    })
  },
}

/** Whitespace and syntax minified (names kept): V8 keeps each bundle's source text in the heap of every thread that
 *  loads it, and less text is less memory. --json of 1 GB of binary VSL, two threads, 4 runs each interleaved: peak
 *  RSS 98.5 -> 95.8 MiB (median), 100.1 -> 96.3 (max), time within noise (7.22 -> 7.30 s median). A stack trace
 *  points into the minified text; the linked source map (dist/lib/*.map) maps it back with node
 *  --enable-source-maps. */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [lazyStringWidth],
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
}
rmSync(dist('lib'), { recursive: true, force: true }) // nothing of an earlier build
rmSync(dist('vlogdump.mjs'), { force: true }) // the bin of the ES module build
await build({
  ...common,
  format: 'cjs',
  entryPoints: [dist('src/cli.js')],
  outfile: dist('lib/vlogdump.cjs'),
  define: { VLOGDUMP_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__vlogdumpUrl' },
  banner: { js: "const __vlogdumpUrl = require('node:url').pathToFileURL(__filename).href;" },
})
await build({
  ...common,
  format: 'esm',
  entryPoints: [dist('src/parallel/worker.js')],
  outfile: dist('lib/worker.js'),
  define: { VLOGDUMP_VERSION: JSON.stringify(pkg.version) },
  // picocolors calls require(); give the ES module one.
  banner: { js: "import { createRequire as __vlogdumpRequire } from 'node:module'; const require = __vlogdumpRequire(import.meta.url);" },
})

// The bin, with V8's flags (NODE_FLAGS; process-wide: the worker threads' heaps get them too, whatever their
// resourceLimits say):
// - a small young generation (1 MiB semi-spaces): V8's default lets it grow to 16 MiB semi-spaces, which only
//   raised peak RSS (115 -> 88 MiB on --json of 200 MB with 2 MiB, same speed; 2 -> 1 MiB: another 4-6 MiB
//   less on 1 GB, CPU seconds within this VM's noise in three A/B runs, -16% to +9%);
// - an old generation that grows by half of what is live after a full GC, not up to 4x: V8's default let each
//   thread's heap fill with promoted garbage to about 4x its 5 MiB live set before collecting it. Measured on
//   1 GB, median of 3, with 2 MiB semi-spaces: peak RSS 105 -> 96 MiB (--json), 107 -> 91 MiB (-g raw --misses
//   --slow 200), CPU seconds within noise. (V8 still lets the limit grow by at least 8 MiB a step.)
// Both together, against the bin before them: --json of 1 GB 99-101 -> 91-93 MiB.
// And one thread in V8's pool (Node's --v8-pool-size, default 4) for its background work (concurrent marking and
// compiling): with two cores and two threads of ours busy reading, more threads of V8 only compete with them, and
// each keeps a malloc arena of its own. --json of 1 GB of binary VSL, two threads, 3 runs each interleaved: peak
// RSS 106.2 -> 101.4 MiB (median), 6.98 / 7.21 -> 6.95 / 7.01 s (min / median); GC 1.2 + 1.6 -> 0.9 + 1.0 s in the
// two threads' CPU profiles.
// And no baseline compiler (--no-sparkplug; V8's Sparkplug compiles a function to unoptimised machine code before
// TurboFan optimises it): its code (the main thread's code space peaked at 0.5 MiB instead of 1.0, the worker's
// likewise) and the pages of node's binary it runs from, for speed our runs do not show. Interleaved, 1 GB of
// binary VSL, two threads: --json 94.6 -> 92.2 MiB median of 6 (96.7 -> 92.8 max), 8.67 -> 8.81 s, and
// 95.1 -> 92.2 MiB median of 5, 8.15 -> 8.38 s; --misses --slow 200 92.0 -> 89.0 MiB, 3.03 -> 3.10 s; -q
// 92.7 -> 89.4 MiB, 2.89 -> 2.86 s (5 each). Text, one run of 200 MB 1.76 -> 1.77 s, 10 MB 0.30 -> 0.29 s, the lab
// capture 0.15 s both (6 each); 1 GB 5.64 -> 5.85 s (5). Time within this VM's noise, at most 4% more.
// And glibc's malloc returns the free memory at the top of its heap once it exceeds 64 KiB (MALLOC_TRIM_THRESHOLD_).
// By default that threshold, and the size from which an allocation is mapped on its own (128 KiB), grow with every
// large buffer freed, to tens of MiB: the freed buffers of earlier blocks stayed resident. Setting it fixes both. --json of 1 GB of binary VSL, two threads, 5 runs each interleaved, twice: peak RSS 94.3 ->
// 92.9 MiB and 94.1 -> 92.7 MiB (median), 95.5 -> 93.9 MiB (max), time and CPU seconds within noise; one thread,
// 200 MB: the same time (3.00 / 2.99 s). (Fixing the mmap threshold at 64 KiB instead saved as much but cost one
// thread 20%: each block's large buffers were mapped and unmapped.) Ignored where malloc is not glibc's.
//
// The bin is a shell script first and JavaScript after: `#!/usr/bin/env -S …` passes flags and a variable too, but
// BusyBox's env has no -S (Alpine, the official varnish:*-alpine images: the bin did not start at all there). To
// sh, line 2 is `:` and then the exec of node with the flags on this same file (an exec: the same process); to
// node, which skips line 1, it is a string and a comment. test/bin.test.ts runs it under dash, bash and BusyBox's sh.
const bin = dist('vlogdump.cjs')
writeFileSync(
  bin,
  `#!/bin/sh
":" //; export MALLOC_TRIM_THRESHOLD_=65536; exec node ${NODE_FLAGS.join(' ')} "$0" "$@"
// vlogdump's bin: \`--version\` alone is answered here, before the bundle is even compiled (start-up time).
const argv = process.argv.slice(2)
if (argv.length === 1 && argv[0] === '--version') process.stdout.write(${JSON.stringify(pkg.version + '\n')})
else require('./lib/vlogdump.cjs')
`,
)
chmodSync(bin, 0o755)
