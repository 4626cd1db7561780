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
