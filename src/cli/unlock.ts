/**
 * Where the secret that unlocks a vault comes from, in this order:
 * --key-file / KEYWARD_KEY_FILE, then KEYWARD_PASSPHRASE, then the default key file if it opens
 * this vault, then a hidden prompt on a terminal. A passphrase is never read from argv.
 */
import {KeywardError} from '../errors/index.js'
import {exists} from '../vault/file.js'
import {defaultKeyFilePath, KeyMaterial, loadKeyFile, type Header} from '../vault/index.js'
import {checkNewPassphrase} from '../vault/slots.js'
import {askNewSecret, askSecret} from './prompt.js'

export interface UnlockOptions {
  keyFile?: string
  /** serve over stdio cannot prompt: stdin carries the protocol. */
  allowPrompt?: boolean
}

const HOW = 'pass --key-file, set KEYWARD_KEY_FILE or KEYWARD_PASSPHRASE'

export async function explicitMaterial(keyFile: string | undefined, env = process.env): Promise<KeyMaterial | undefined> {
  const file = keyFile || env.KEYWARD_KEY_FILE
  if (file) return loadKeyFile(file)
  if (env.KEYWARD_PASSPHRASE) return new KeyMaterial({kind: 'passphrase', passphrase: env.KEYWARD_PASSPHRASE, origin: 'KEYWARD_PASSPHRASE'})
  return undefined
}

export async function resolveUnlock(header: Header, vaultFile: string, options: UnlockOptions): Promise<KeyMaterial> {
  const explicit = await explicitMaterial(options.keyFile)
  if (explicit) return explicit
  const fallback = defaultKeyFilePath()
  if (await exists(fallback)) {
    const material = await loadKeyFile(fallback)
    if (material.opens(header)) return material
  }
  const hasPassphrase = header.slots.some((s) => s.type === 'passphrase')
  if (!hasPassphrase) {
    throw new KeywardError('INPUT_REQUIRED', `vault ${vaultFile} opens with a key file only; pass --key-file or set KEYWARD_KEY_FILE`)
  }
  if (options.allowPrompt === false) {
    throw new KeywardError('INPUT_REQUIRED', `vault ${vaultFile} is locked and this mode cannot prompt; ${HOW}`)
  }
  const passphrase = await askSecret('Vault passphrase:', HOW)
  return new KeyMaterial({kind: 'passphrase', passphrase, origin: 'prompt'})
}

/** A new passphrase: from `envName` when set, else asked twice on a terminal. */
export async function newPassphrase(envName: string, alternative: string): Promise<KeyMaterial> {
  const fromEnv = process.env[envName]
  if (fromEnv !== undefined && fromEnv !== '') {
    const problem = checkNewPassphrase(fromEnv)
    if (problem !== true) throw new KeywardError('INVALID_INPUT', `${envName}: ${problem}`)
    return new KeyMaterial({kind: 'passphrase', passphrase: fromEnv, origin: envName})
  }
  const passphrase = await askNewSecret('New vault passphrase:', alternative, checkNewPassphrase)
  return new KeyMaterial({kind: 'passphrase', passphrase, origin: 'prompt'})
}
