import {promises as fs} from 'node:fs'

import {fileError, KeywardError} from '../errors/index.js'
import {MAX_SECRET_BYTES, secretValueFromBytes} from '../secrets/index.js'
import {askSecret, canPrompt} from './prompt.js'
import {readStdin} from './stdin.js'

/** A secret value from --from-file, else a hidden prompt on a terminal, else piped stdin. Never argv. */
export async function readSecretValue(name: string, fromFile: string | undefined): Promise<string> {
  if (fromFile) {
    let bytes: Buffer
    try {
      bytes = await fs.readFile(fromFile)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeywardError('INVALID_INPUT', `--from-file ${fromFile} does not exist`)
      throw fileError(err, 'file', fromFile)
    }
    return secretValueFromBytes(bytes, fromFile)
  }
  if (canPrompt()) {
    const value = await askSecret(`Value for ${name} (hidden):`, 'pipe it on stdin or use --from-file')
    return secretValueFromBytes(Buffer.from(value, 'utf8'), 'the prompt')
  }
  if (process.stdin.isTTY) {
    throw new KeywardError('INPUT_REQUIRED', 'no value given: pipe it on stdin or use --from-file')
  }
  return secretValueFromBytes(await readStdin(MAX_SECRET_BYTES), 'stdin')
}

/** True when the user confirmed, via --yes or a prompt; throws when neither is possible. */
export async function confirmed(yes: boolean, question: string): Promise<boolean> {
  if (yes) return true
  if (!canPrompt()) throw new KeywardError('INPUT_REQUIRED', 'this needs confirmation and there is no terminal to ask on; pass --yes')
  const {askConfirm} = await import('./prompt.js')
  return askConfirm(question, 'pass --yes')
}
