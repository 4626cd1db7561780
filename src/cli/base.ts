/**
 * The base of every keyward command: global flags, colour rules, and one error path that
 * prints one line (or {"error":{code,message}} under --json) with the error's own exit code.
 */
import {Command, Flags} from '@oclif/core'

import {KeywardError, isKeywardError} from '../errors/index.js'
import {guardStdout, stderrLine, writeStdout} from './output.js'
import {setColor} from './style.js'

export abstract class KeywardCommand extends Command {
  static override baseFlags = {
    vault: Flags.string({
      description: 'Vault file. Default: $KEYWARD_VAULT, else $XDG_DATA_HOME/keyward/vault.json.',
      helpGroup: 'GLOBAL',
    }),
    'key-file': Flags.string({
      description: 'Key file that unlocks the vault. Beats $KEYWARD_KEY_FILE and $KEYWARD_PASSPHRASE.',
      helpGroup: 'GLOBAL',
    }),
    'passphrase-file': Flags.string({
      description: 'File whose first line is the vault passphrase (mode 0600, or a pipe). Beats $KEYWARD_KEY_FILE and $KEYWARD_PASSPHRASE.',
      helpGroup: 'GLOBAL',
    }),
    redis: Flags.string({
      description: 'Redis of a cluster of keyward serve replicas (redis:// or rediss://, no password): serve shares rate limits there, and a change to the vault is published there. Beats $KEYWARD_REDIS_URL and the vault’s redis.url.',
      helpGroup: 'GLOBAL',
    }),
    'audit-log': Flags.string({
      description: 'The audit log: where admin actions and serve write, and what audit verify and audit tail read. Beats $KEYWARD_AUDIT_LOG and the vault’s audit.path. Default: $XDG_STATE_HOME/keyward/audit/<vault id>.jsonl.',
      helpGroup: 'GLOBAL',
    }),
    'no-color': Flags.boolean({description: 'Print without colour (also: NO_COLOR, --json, or a non-TTY stdout).', helpGroup: 'GLOBAL'}),
  }

  override async init(): Promise<void> {
    guardStdout()
    await super.init()
    const off =
      'NO_COLOR' in process.env || this.argv.includes('--no-color') || this.jsonEnabled() || !process.stdout.isTTY
    setColor(!off)
  }

  override logJson(json: unknown): void {
    // A command that streamed its JSON already (audit tail --follow) returns nothing more.
    if (json === undefined) return
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  /**
   * Prints what must not be lost, such as a key shown once: resolves only when stdout took it,
   * and throws OUTPUT_FAILED (after running `undo`) when it did not, so that nothing the user
   * never saw stays behind.
   */
  protected async deliver(text: string, undo: () => Promise<unknown>): Promise<void> {
    try {
      await writeStdout(text)
    } catch (err) {
      await undo()
      throw err
    }
  }

  override async catch(err: Error & {oclif?: {exit?: number}; code?: string}): Promise<void> {
    const error = toKeywardError(err)
    process.exitCode = error.exit
    if (this.jsonEnabled() && error.code !== 'OUTPUT_FAILED') {
      this.logJson({error: {code: error.code, message: error.message}})
    } else {
      // A message may quote an upstream (its error): its control sequences would act on the terminal.
      stderrLine(error.message)
    }
    if (process.env.DEBUG) process.stderr.write(`${err.stack ?? err}\n`)
  }
}

/** oclif's parse errors, by what they carry. */
interface OclifError extends Error {
  oclif?: {exit?: number}
  code?: string
  args?: {name: string}[]
}

/** Maps anything thrown into a KeywardError whose message is safe to print: unknown errors keep only their type. */
export function toKeywardError(err: OclifError): KeywardError {
  if (isKeywardError(err)) return err
  if (err?.name === 'ExitPromptError' || err?.name === 'AbortPromptError') return new KeywardError('CANCELLED', 'cancelled; nothing was changed')
  // oclif's own errors (bad flags, missing arguments) carry an oclif exit code.
  if (err?.oclif?.exit !== undefined) {
    // oclif quotes stray arguments back; a stray argument may be a secret pasted on the command line.
    if (/^Unexpected arguments?:/.test(err.message)) {
      return new KeywardError('INVALID_INPUT', 'unexpected argument (not shown); keyward never reads secret values from the command line, see --help')
    }
    if (/^Missing \d+ required arg/.test(err.message) && Array.isArray(err.args)) {
      return new KeywardError('INVALID_INPUT', `missing ${err.args.map((a) => a.name.toUpperCase()).join(' and ')}; see --help`)
    }
    const notFound = /^command (\S+) not found/.exec(err.message)
    if (notFound) {
      const shown = /^[a-z][a-z0-9:-]{0,40}$/.test(notFound[1]) ? ` ${notFound[1].replace(/:/g, ' ')}` : ' (not shown)'
      return new KeywardError('INVALID_INPUT', `unknown command${shown}; see \`keyward --help\``)
    }
    const first = (err.message ?? 'invalid arguments').split('\n')[0].trim()
    return new KeywardError('INVALID_INPUT', `${first}; see --help`)
  }
  // The message of an unexpected error could quote data we hold, so it is shown only under DEBUG.
  const kind = [err?.name, err?.code].filter(Boolean).join(' ')
  return new KeywardError('UNEXPECTED', `unexpected internal error (${kind || 'unknown'}); rerun with DEBUG=1 for details and report it`)
}

/**
 * Errors that reach bin/run.js without a command to catch them (an unknown command), printed
 * by the same rules as a command's own.
 */
export function reportTopLevelError(err: OclifError, argv: readonly string[]): void {
  if (err?.code === 'EEXIT' && err.oclif?.exit !== undefined) {
    process.exitCode = err.oclif.exit
    return
  }
  const error = toKeywardError(err)
  process.exitCode = error.exit
  if (argv.includes('--json')) process.stdout.write(JSON.stringify({error: {code: error.code, message: error.message}}, null, 2) + '\n')
  else stderrLine(error.message)
  if (process.env.DEBUG) process.stderr.write(`${err?.stack ?? err}\n`)
}
