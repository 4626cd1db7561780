/**
 * The vault: one AES-256-GCM encrypted file holding secrets and API-key records.
 * Reads need no lock (writes are atomic renames); every write goes through updateVault().
 */
import {KeywardError} from '../errors/index.js'
import {acquireWriteLock, exists, readVaultBytes, replaceFile} from './file.js'
import {parseEnvelope, type Envelope} from './format.js'
import {KeyMaterial} from './slots.js'
import {Vault} from './vault.js'

export {describeSlot, type SlotInfo} from './describe.js'
export {exists, readPrivateFile, readVaultBytes} from './file.js'
export {headerOf, parseEnvelope as parseVault} from './format.js'
export {defaultKeyFilePath, defaultVaultPath, resolveVaultPath} from './paths.js'
export {createKeyFile, loadKeyFile} from './keyfile.js'
export {checkNewPassphrase, KeyMaterial, keyFileSlotId, PASSPHRASE_SLOT_ID} from './slots.js'
export type {Envelope, Header, Slot} from './format.js'
export type {SecretRecord, VaultData} from './payload.js'
export {Vault} from './vault.js'

/** Reads and validates the envelope without unlocking it: enough to see which slots exist. */
export async function readVault(file: string): Promise<Envelope> {
  return parseEnvelope(await readVaultBytes(file), file)
}

export async function openVault(file: string, material: KeyMaterial, envelope?: Envelope): Promise<Vault> {
  return Vault.unlock(file, envelope ?? (await readVault(file)), material)
}

/**
 * Runs `change` on the current vault under the cross-process write lock and saves the result.
 * If `change` throws, or anything fails before the rename, the file is left byte-for-byte as it was.
 * Callers unlock once before (see cli/session.ts), so the KDF result is cached and the lock is held briefly.
 */
export async function updateVault<T>(file: string, material: KeyMaterial, change: (vault: Vault) => Promise<T> | T): Promise<T> {
  const lock = await acquireWriteLock(file)
  try {
    const vault = await openVault(file, material)
    const result = await change(vault)
    await replaceFile(file, vault.serialize(), () => lock.assertHeld())
    return result
  } finally {
    await lock.release()
  }
}

/** Creates a vault with one slot per material. An existing vault is replaced only with `force` (and kept as .bak). */
export async function createVault(file: string, materials: KeyMaterial[], options: {force: boolean}): Promise<Vault> {
  const lock = await acquireWriteLock(file)
  try {
    if (!options.force && (await exists(file))) {
      throw new KeywardError('ALREADY_EXISTS', `a vault already exists at ${file}; pass --force to replace it (the old one is kept as ${file}.bak)`)
    }
    const vault = await Vault.create(file, materials)
    await replaceFile(file, vault.serialize(), () => lock.assertHeld())
    return vault
  } finally {
    await lock.release()
  }
}
