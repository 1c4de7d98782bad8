#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli.js, from tsc) and its runtime dependencies into dist/lib/vlogdump.mjs
// (yargs in a chunk of its own, loaded only for a command line with options), behind a small bin,
// dist/vlogdump.mjs, that answers `--version` without loading it. A bundle loads faster than the ~60 modules of
// yargs and ours (measured: --version 0.24 s -> 0.19 s, against 0.10 s for `node -e 0`). The version is inlined. The worker of the parallel reader (src/parallel/worker.ts) is
// bundled beside it as dist/lib/worker.js: the same relative URL finds it from the tsc output and from the bundle.

import { build } from 'esbuild'
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).pathname

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

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  define: { VLOGDUMP_VERSION: JSON.stringify(pkg.version) },
  // picocolors and yargs' CommonJS parts call require(); give the ES module one.
  banner: { js: "import { createRequire as __vlogdumpRequire } from 'node:module'; const require = __vlogdumpRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [lazyStringWidth],
}
rmSync(dist('lib'), { recursive: true, force: true }) // no chunks of an earlier build
// Code split: yargs (with the option table and help) is its own chunk, compiled only when a command line has
// options (a command line of files only never loads it).
await build({
  ...common,
  entryPoints: { vlogdump: dist('src/cli.js') },
  outdir: dist('lib'),
  splitting: true,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
})
await build({ ...common, entryPoints: [dist('src/parallel/worker.js')], outfile: dist('lib/worker.js') })

// The bin, with two V8 heap flags (process-wide: the worker threads' heaps get them too, whatever their
// resourceLimits say):
// - a small young generation (1 MiB semi-spaces): V8's default lets it grow to 16 MiB semi-spaces, which only
//   raised peak RSS (115 -> 88 MiB on --json of 200 MB with 2 MiB, same speed; 2 -> 1 MiB: another 4-6 MiB
//   less on 1 GB, CPU seconds within this VM's noise in three A/B runs, -16% to +9%);
// - an old generation that grows by half of what is live after a full GC, not up to 4x: V8's default let each
//   thread's heap fill with promoted garbage to about 4x its 5 MiB live set before collecting it. Measured on
//   1 GB, median of 3: peak RSS 105 -> 96 MiB (--json), 107 -> 91 MiB (-g raw --misses --slow 200), CPU
//   seconds within noise. (V8 still lets the limit grow by at least 8 MiB a step.)
const bin = dist('vlogdump.mjs')
writeFileSync(
  bin,
  `#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=50
// vlogdump's bin: \`--version\` alone is answered here, before the bundle is even compiled (start-up time).
const argv = process.argv.slice(2)
if (argv.length === 1 && argv[0] === '--version') process.stdout.write(${JSON.stringify(pkg.version + '\n')})
else await import('./lib/vlogdump.mjs')
`,
)
chmodSync(bin, 0o755)
