import {promises as fs} from 'node:fs'

import {fileError, KeywardError} from '../errors/index.js'
import {checkSecretValue, dropLineEnding, MAX_SECRET_BYTES} from '../secrets/index.js'
import {askSecret, canPrompt} from './prompt.js'
import {readStdin} from './stdin.js'

export interface SecretSource {
  /** Read the value from this file, byte for byte. */
  fromFile?: string
  /** Keep even the line ending of a one-line piped value. */
  raw?: boolean
}

/**
 * A secret value from --from-file (byte for byte), else a hidden prompt on a terminal, else piped
 * stdin (byte for byte, but for the line ending of a one-line text value). Never argv.
 */
export async function readSecretValue(name: string, source: SecretSource): Promise<Buffer> {
  if (source.fromFile) {
    let bytes: Buffer
    try {
      const stat = await fs.stat(source.fromFile)
      if (stat.isFile() && stat.size > MAX_SECRET_BYTES) return checkSecretValue(Buffer.alloc(MAX_SECRET_BYTES + 1), source.fromFile)
      bytes = await fs.readFile(source.fromFile)
    } catch (err) {
      if (err instanceof KeywardError) throw err
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeywardError('INVALID_INPUT', `--from-file ${source.fromFile} does not exist`)
      throw fileError(err, 'file', source.fromFile)
    }
    return checkSecretValue(bytes, source.fromFile)
  }
  if (canPrompt()) {
    const value = await askSecret(`Value for ${name} (hidden):`, 'pipe it on stdin or use --from-file')
    return checkSecretValue(Buffer.from(value, 'utf8'), 'the prompt')
  }
  if (process.stdin.isTTY) {
    throw new KeywardError('INPUT_REQUIRED', 'no value given: pipe it on stdin or use --from-file')
  }
  const bytes = await readStdin(MAX_SECRET_BYTES)
  return checkSecretValue(source.raw ? bytes : dropLineEnding(bytes), 'stdin')
}

/** True when the user confirmed, via --yes or a prompt; throws when neither is possible. */
export async function confirmed(yes: boolean, question: string): Promise<boolean> {
  if (yes) return true
  if (!canPrompt()) throw new KeywardError('INPUT_REQUIRED', 'this needs confirmation and there is no terminal to ask on; pass --yes')
  const {askConfirm} = await import('./prompt.js')
  return askConfirm(question, 'pass --yes')
}
