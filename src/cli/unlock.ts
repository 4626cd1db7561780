/**
 * Where the secret that unlocks a vault comes from, in this order: the flags (--key-file, then
 * --passphrase-file), then the environment (KEYWARD_KEY_FILE, then KEYWARD_PASSPHRASE), then
 * the default key file if it opens this vault, then a hidden prompt on a terminal. Any flag
 * beats any environment variable: what is typed for this one command wins over what is set for
 * every command. A passphrase is never read from argv: only from a file, the environment or a
 * prompt.
 */
import {KeywardError} from '../errors/index.js'
import {checkNewPassphrase, defaultKeyFilePath, exists, type Header, KeyMaterial, loadKeyFile, readPrivateFile} from '../vault/index.js'
import {askNewSecret, askSecret, canPrompt} from './prompt.js'

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
  if (flags['key-file']) return loadKeyFile(flags['key-file'])
  const passphraseFile = flags['passphrase-file']
  if (passphraseFile) return passphraseMaterial(await readPassphraseFile(passphraseFile), passphraseFile)
  if (env.KEYWARD_KEY_FILE) return loadKeyFile(env.KEYWARD_KEY_FILE)
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

/** A new passphrase: from a file, else the environment variable named, else asked twice on a terminal. */
export async function newPassphrase(source: {file?: string; env?: string}, alternative: string): Promise<KeyMaterial> {
  const [value, origin] = source.file
    ? [await readPassphraseFile(source.file), source.file]
    : [source.env ? process.env[source.env] : undefined, source.env ?? 'prompt']
  if (value) {
    const problem = checkNewPassphrase(value)
    if (problem !== true) throw new KeywardError('INVALID_INPUT', `${origin}: ${problem}`)
    return passphraseMaterial(value, origin)
  }
  return passphraseMaterial(await askNewSecret('New vault passphrase:', alternative, checkNewPassphrase), 'prompt')
}

/**
 * Every unlock secret the user gave, by any route, for re-wrapping slots under a new data key:
 * the one that opened the vault, the unlock flags and variables, the default key file, and
 * --other-key-file. A passphrase slot that must stay and has no passphrase yet is asked for on
 * a terminal.
 */
export async function slotSecrets(
  opened: KeyMaterial,
  header: Header,
  flags: UnlockFlags & {'other-key-file'?: string[]},
  options: {keepPassphrase: boolean},
): Promise<KeyMaterial[]> {
  const found: KeyMaterial[] = [opened]
  const add = (m: KeyMaterial) => {
    if (m.opens(header) && !found.some((f) => f.slotId === m.slotId)) found.push(m)
  }
  if (flags['key-file']) add(await loadKeyFile(flags['key-file']))
  if (flags['passphrase-file']) add(passphraseMaterial(await readPassphraseFile(flags['passphrase-file']), flags['passphrase-file']))
  if (process.env.KEYWARD_KEY_FILE) add(await loadKeyFile(process.env.KEYWARD_KEY_FILE))
  if (process.env.KEYWARD_PASSPHRASE) add(passphraseMaterial(process.env.KEYWARD_PASSPHRASE, 'KEYWARD_PASSPHRASE'))
  const fallback = defaultKeyFilePath()
  if (await exists(fallback)) add(await loadKeyFile(fallback))
  for (const file of flags['other-key-file'] ?? []) {
    const m = await loadKeyFile(file)
    if (!m.opens(header)) throw new KeywardError('WRONG_SECRET', `--other-key-file ${file} does not unlock this vault`)
    add(m)
  }
  const passphraseSlot = header.slots.some((s) => s.type === 'passphrase')
  if (options.keepPassphrase && passphraseSlot && !found.some((m) => m.kind === 'passphrase') && canPrompt()) {
    add(passphraseMaterial(await askSecret('Vault passphrase (to keep the passphrase slot):', HOW), 'prompt'))
  }
  return found
}
