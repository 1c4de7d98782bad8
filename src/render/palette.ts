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
  }
}
