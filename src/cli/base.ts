/**
 * The base of every keyward command: global flags, colour rules, and one error path that
 * prints one line (or {"error":{code,message}} under --json) with the error's own exit code.
 */
import {Command, Flags} from '@oclif/core'

import {KeywardError, isKeywardError} from '../errors/index.js'
import {setColor} from './style.js'

export abstract class KeywardCommand extends Command {
  static override baseFlags = {
    vault: Flags.string({
      description: 'Vault file. Default: $KEYWARD_VAULT, else $XDG_DATA_HOME/keyward/vault.json.',
      helpGroup: 'GLOBAL',
    }),
    'key-file': Flags.string({
      description: 'Key file that unlocks the vault. Default: $KEYWARD_KEY_FILE.',
      helpGroup: 'GLOBAL',
    }),
    'passphrase-file': Flags.string({
      description: 'File whose first line is the vault passphrase (mode 0600). Or: $KEYWARD_PASSPHRASE, or a prompt.',
      helpGroup: 'GLOBAL',
    }),
    'no-color': Flags.boolean({description: 'Print without colour (also: NO_COLOR, --json, or a non-TTY stdout).', helpGroup: 'GLOBAL'}),
  }

  override async init(): Promise<void> {
    await super.init()
    const off =
      'NO_COLOR' in process.env || this.argv.includes('--no-color') || this.jsonEnabled() || !process.stdout.isTTY
    setColor(!off)
  }

  override logJson(json: unknown): void {
    process.stdout.write(JSON.stringify(json, null, 2) + '\n')
  }

  override async catch(err: Error & {oclif?: {exit?: number}; code?: string}): Promise<void> {
    const error = toKeywardError(err)
    process.exitCode = error.exit
    if (this.jsonEnabled()) {
      this.logJson({error: {code: error.code, message: error.message}})
    } else {
      process.stderr.write(`keyward: ${error.message}\n`)
    }
    if (process.env.DEBUG) process.stderr.write(`${err.stack ?? err}\n`)
  }
}

/** Maps anything thrown into a KeywardError whose message is safe to print: unknown errors keep only their type. */
export function toKeywardError(err: Error & {oclif?: {exit?: number}; code?: string}): KeywardError {
  if (isKeywardError(err)) return err
  if (err?.name === 'ExitPromptError' || err?.name === 'AbortPromptError') return new KeywardError('CANCELLED', 'cancelled; nothing was changed')
  // oclif's own errors (bad flags, missing arguments) carry an oclif exit code.
  if (err?.oclif?.exit !== undefined) {
    // oclif quotes stray arguments back; a stray argument may be a secret pasted on the command line.
    if (/^Unexpected arguments?:/.test(err.message)) {
      return new KeywardError('INVALID_INPUT', 'unexpected argument (not shown); keyward never reads secret values from the command line, see --help')
    }
    const first = (err.message ?? 'invalid arguments').split('\n')[0].trim()
    return new KeywardError('INVALID_INPUT', `${first}; see --help`)
  }
  // The message of an unexpected error could quote data we hold, so it is shown only under DEBUG.
  const kind = [err?.name, err?.code].filter(Boolean).join(' ')
  return new KeywardError('UNEXPECTED', `unexpected internal error (${kind || 'unknown'}); rerun with DEBUG=1 for details and report it`)
}
