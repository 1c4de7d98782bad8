// Owns color roles. Built once from createColors(enabled): with color off every role is the identity, so the
// renderers are the same code either way. Never picocolors' default export, which reads argv/env/tty itself.

import pc from 'picocolors'
import type { Handling } from '../vsl/types.js'

type Paint = (s: string) => string

export interface Palette {
  handling: Record<Handling | 'none', Paint>
  status: (status: number | null) => Paint
  slow: Paint
  dim: Paint
  warn: Paint
  label: Paint
  /** Section titles (--stats). */
  heading: Paint
}

export function createPalette(enabled: boolean): Palette {
  const c = pc.createColors(enabled)
  return {
    handling: {
      hit: c.green,
      miss: c.yellow,
      pass: c.magenta,
      pipe: c.cyan,
      synth: c.blue,
      hitmiss: (s) => c.bold(c.yellow(s)),
      hitpass: (s) => c.bold(c.magenta(s)),
      none: c.dim,
    },
    status: (status) => {
      if (status === null) return c.dim
      if (status >= 500) return c.red
      if (status >= 400) return c.yellow
      if (status >= 300) return c.cyan
      return c.green
    },
    slow: (s) => c.bold(c.red(s)),
    dim: c.dim,
    warn: c.red,
    label: c.dim,
    heading: c.bold,
  }
}

/** --color: `auto` means stdout is a terminal, NO_COLOR is not set and TERM is not dumb; FORCE_COLOR (other than
 *  0/false) turns auto on. `always` and `never` are what they say. */
export function colorEnabled(mode: 'auto' | 'always' | 'never', isTTY: boolean, env: Record<string, string | undefined>): boolean {
  if (mode === 'always') return true
  if (mode === 'never') return false
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true
  return isTTY && !('NO_COLOR' in env) && env.TERM !== 'dumb'
}
