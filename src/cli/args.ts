import {Args} from '@oclif/core'

/*
 * Positional arguments that only ever come from the command line. oclif's default reads a
 * missing argument from piped stdin, so `echo TOKEN | keyward secrets set` would take the
 * piped secret for the NAME (and print it back, or store it as a name).
 */

export function positional(description: string) {
  return Args.string({description, required: true, ignoreStdin: true})
}

export function optionalPositional(description: string) {
  return Args.string({description, required: false, ignoreStdin: true})
}

/**
 * The raw arguments before the first `--`, for oclif to parse, and everything after it, verbatim.
 * oclif's own argv for a non-strict command is not that: an argument equal to a positional's
 * value can be moved to the front (`upstream add zz -- x y zz` gave `zz x y`).
 */
export function splitAtDashDash(argv: readonly string[]): {own: string[]; rest: string[] | undefined} {
  const at = argv.indexOf('--')
  return at === -1 ? {own: [...argv], rest: undefined} : {own: argv.slice(0, at), rest: argv.slice(at + 1)}
}
