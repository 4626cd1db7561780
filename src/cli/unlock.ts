/**
 * Where the secret that unlocks a vault comes from, in this order:
 * --key-file / KEYWARD_KEY_FILE, then --passphrase-file, then KEYWARD_PASSPHRASE, then the
 * default key file if it opens this vault, then a hidden prompt on a terminal.
 * A passphrase is never read from argv: only from a file, the environment or a prompt.
 */
import {KeywardError} from '../errors/index.js'
import {checkNewPassphrase, defaultKeyFilePath, exists, type Header, KeyMaterial, loadKeyFile, readPrivateFile} from '../vault/index.js'
import {askNewSecret, askSecret} from './prompt.js'

export interface UnlockFlags {
  'key-file'?: string
  'passphrase-file'?: string
}

export interface UnlockOptions {
  /** serve over stdio cannot prompt: stdin carries the protocol. */
  allowPrompt?: boolean
}

const HOW = 'pass --key-file or --passphrase-file, or set KEYWARD_KEY_FILE or KEYWARD_PASSPHRASE'

/** A passphrase file: its first line, from a file other users cannot read. */
export async function readPassphraseFile(file: string): Promise<string> {
  const text = (await readPrivateFile(file, 'passphrase file')).toString('utf8')
  const passphrase = text.split(/\r?\n/)[0]
  if (!passphrase) throw new KeywardError('INVALID_INPUT', `passphrase file ${file} is empty`)
  return passphrase
}

function passphraseMaterial(passphrase: string, origin: string): KeyMaterial {
  return new KeyMaterial({kind: 'passphrase', passphrase, origin})
}

/** The unlock secret the user named explicitly (flag or environment), if any. */
export async function explicitMaterial(flags: UnlockFlags, env = process.env): Promise<KeyMaterial | undefined> {
  const keyFile = flags['key-file'] || env.KEYWARD_KEY_FILE
  if (keyFile) return loadKeyFile(keyFile)
  const passphraseFile = flags['passphrase-file']
  if (passphraseFile) return passphraseMaterial(await readPassphraseFile(passphraseFile), passphraseFile)
  if (env.KEYWARD_PASSPHRASE) return passphraseMaterial(env.KEYWARD_PASSPHRASE, 'KEYWARD_PASSPHRASE')
  return undefined
}

export async function resolveUnlock(header: Header, vaultFile: string, flags: UnlockFlags, options: UnlockOptions = {}): Promise<KeyMaterial> {
  const explicit = await explicitMaterial(flags)
  if (explicit) return explicit
  const fallback = defaultKeyFilePath()
  if (await exists(fallback)) {
    const material = await loadKeyFile(fallback)
    if (material.opens(header)) return material
  }
  if (!header.slots.some((s) => s.type === 'passphrase')) {
    throw new KeywardError('INPUT_REQUIRED', `vault ${vaultFile} opens with a key file only; pass --key-file or set KEYWARD_KEY_FILE`)
  }
  if (options.allowPrompt === false) {
    throw new KeywardError('INPUT_REQUIRED', `vault ${vaultFile} is locked and this mode cannot prompt; ${HOW}`)
  }
  return passphraseMaterial(await askSecret('Vault passphrase:', HOW), 'prompt')
}

/** A new passphrase: from a file, else the environment variable, else asked twice on a terminal. */
export async function newPassphrase(source: {file?: string; env: string}, alternative: string): Promise<KeyMaterial> {
  const [value, origin] = source.file
    ? [await readPassphraseFile(source.file), source.file]
    : [process.env[source.env], source.env]
  if (value) {
    const problem = checkNewPassphrase(value)
    if (problem !== true) throw new KeywardError('INVALID_INPUT', `${origin}: ${problem}`)
    return passphraseMaterial(value, origin)
  }
  return passphraseMaterial(await askNewSecret('New vault passphrase:', alternative, checkNewPassphrase), 'prompt')
}
