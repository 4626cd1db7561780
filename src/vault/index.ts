/**
 * The vault: one AES-256-GCM encrypted file holding secrets, API-key records and settings.
 * Reads need no lock (writes are atomic renames); every write goes through updateVault().
 */
import {KeywardError} from '../errors/index.js'
import {acquireWriteLock, exists, keepTimestampedBackup, readVaultBytes, replaceFile, type WriteLock} from './file.js'
import {generationOf, headerOf, parseEnvelope, type Envelope} from './format.js'
import type {GenerationLedger, LedgerSnapshot} from './ledger.js'
import type {VaultData} from './payload.js'
import {KeyMaterial} from './slots.js'
import {Vault} from './vault.js'

export {describeSlot, type SlotInfo} from './describe.js'
export {acquireWriteLock, checkDirectoryChain, createPrivateFile, ensurePrivateDir, exists, fsyncDir, isSymlink, readPrivateFile, readVaultBytes, replaceOtherFile, reserveNewFile, resolveRealPath, stageReplacement, type ReservedFile, type StagedFile, type WriteLock} from './file.js'
export {generationOf, headerOf, parseEnvelope as parseVault} from './format.js'
export {GenerationLedger, LedgerSnapshot} from './ledger.js'
export {defaultKeyFilePath, defaultStateDir, defaultVaultPath, resolveVaultPath} from './paths.js'
export {createKeyFile, loadKeyFile} from './keyfile.js'
export {checkNewPassphrase, KeyMaterial, keyFileSlotId, PASSPHRASE_SLOT_ID} from './slots.js'
export type {Envelope, Header, Slot} from './format.js'
export {tableOf, type SecretRecord, type VaultData} from './payload.js'
export {payloadKey, type PayloadKey} from './payload-key.js'
export {Vault, type RekeyOptions, type RekeyResult} from './vault.js'

/** Reads and validates the envelope without unlocking it: enough to see which slots exist. */
export async function readVault(file: string): Promise<Envelope> {
  return parseEnvelope(await readVaultBytes(file), file)
}

export interface OpenOptions {
  /** Refuse a generation older than one seen before, and remember this one. */
  ledger?: GenerationLedger
  /** The envelope, when the caller has read it already, and the ledger as it was before that read. */
  read?: {envelope: Envelope; seen?: LedgerSnapshot}
}

/** Reads the envelope, and the ledger just before it (see LedgerSnapshot). */
export async function readWithLedger(file: string, ledger?: GenerationLedger): Promise<{envelope: Envelope; seen?: LedgerSnapshot}> {
  const seen = ledger?.snapshot()
  return {envelope: await readVault(file), seen}
}

export async function openVault(file: string, material: KeyMaterial, options: OpenOptions = {}): Promise<Vault> {
  const {envelope, seen} = options.read ?? (await readWithLedger(file, options.ledger))
  const header = headerOf(envelope)
  seen?.check(header.vault_id, generationOf(header), file)
  const vault = await Vault.unlock(file, envelope, material)
  // Only an authenticated generation is remembered: a forged header never unlocks. When the
  // ledger read just before already holds it (every open but the first after a write), it is
  // not read and parsed a second time to find nothing to change.
  if (!seen?.holds(header.vault_id, vault.generation)) options.ledger?.record(header.vault_id, vault.generation, file)
  return vault
}

export interface UpdateOptions {
  ledger?: GenerationLedger
  /**
   * Also keep the version being replaced as `<vault>.<time>.bak`, for changes after which the
   * rolling `.bak` is not enough: new unlock secrets, a restore.
   */
  timestampedBackup?: boolean
}

export interface UpdateResult<T> {
  result: T
  /** False when the change changed nothing, and the file was left as it was. */
  written: boolean
  backup?: string
}

/**
 * Runs `change` on the current vault under the cross-process write lock and saves the result.
 * If `change` throws, or anything fails before the rename, the file is left byte-for-byte as it
 * was; a change that changes nothing writes nothing (so `.bak` keeps the real previous version).
 * Callers unlock once before (see cli/session.ts), so the KDF result is cached and the lock is held briefly.
 */
export async function updateVaultDetailed<T>(file: string, material: KeyMaterial, change: (vault: Vault) => Promise<T> | T, options: UpdateOptions = {}): Promise<UpdateResult<T>> {
  const lock = await acquireWriteLock(file)
  try {
    const vault = await openVault(file, material, {ledger: options.ledger})
    const before = vault.contentFingerprint()
    const result = await change(vault)
    if (vault.contentFingerprint() === before) return {result, written: false}
    const read = vault.generation
    const bytes = vault.serialize()
    const unchanged = () => unchangedSince(file, read, lock)
    const backup = options.timestampedBackup ? (await unchanged(), await keepTimestampedBackup(file)) : undefined
    await replaceFile(file, bytes, unchanged)
    options.ledger?.record(vault.header.vault_id, vault.generation, file)
    return {result, written: true, backup}
  } finally {
    await lock.release()
  }
}

/**
 * Before a change replaces the vault: the lock is still held, and the file is still the
 * generation the change was made on. The lock is what keeps writers apart; this is for when it
 * did not (two processes that each judged the other's lock stale: a step of the wall clock, a
 * holder stalled past the stale time), so that a change is refused rather than one lost.
 */
async function unchangedSince(file: string, generation: number, lock: WriteLock): Promise<void> {
  lock.assertHeld()
  if (generationOf(headerOf(await readVault(file))) !== generation) {
    throw new KeywardError('VAULT_BUSY', `vault ${file} was written by another process while this change was made; nothing was written, retry`)
  }
}

export async function updateVault<T>(file: string, material: KeyMaterial, change: (vault: Vault) => Promise<T> | T, options: UpdateOptions = {}): Promise<T> {
  return (await updateVaultDetailed(file, material, change, options)).result
}

/**
 * Creates a vault with one slot per material. An existing vault is replaced only with `force`,
 * and then kept under a timestamped name: it is another vault, and the rolling `.bak` would
 * lose it at the second save.
 */
export async function createVault(
  file: string,
  materials: KeyMaterial[],
  options: {force: boolean; ledger?: GenerationLedger; initialize?: (data: VaultData) => void},
): Promise<{vault: Vault; backup?: string}> {
  const lock = await acquireWriteLock(file)
  try {
    if (await exists(file)) {
      if (!options.force) {
        throw new KeywardError('ALREADY_EXISTS', `a vault already exists at ${file}; pass --force to replace it (the old one is kept as a timestamped backup)`)
      }
    }
    const vault = await Vault.create(file, materials)
    options.initialize?.(vault.data)
    const bytes = vault.serialize()
    const backup = options.force ? await keepTimestampedBackup(file) : undefined
    await replaceFile(file, bytes, () => lock.assertHeld())
    options.ledger?.record(vault.header.vault_id, vault.generation, file)
    return {vault, backup}
  } finally {
    await lock.release()
  }
}

/**
 * Puts `source` (a backup, or the vault file itself after a deliberate copy) in place as the
 * live vault, with a generation above every one seen, so the ledger and running servers accept
 * it as the newest. The version it replaces is kept as a timestamped backup.
 */
export async function restoreVault(
  file: string,
  source: string,
  material: KeyMaterial,
  ledger: GenerationLedger,
  /** What the restored data takes over from the live vault (its `.bak` when the copy is already in place), when that opens with `material`: keys made after the backup. */
  keep?: (live: VaultData, restored: VaultData) => void,
): Promise<{vault: Vault; backup?: string; from: number; to: number}> {
  const lock = await acquireWriteLock(file)
  try {
    const restored = await openVault(source, material)
    if (keep) {
      // Accepting a copy already in place: what the vault was before it is its rolling backup.
      const current = await openVault(source !== file ? file : `${file}.bak`, material).catch(() => undefined)
      if (current) keep(current.data, restored.data)
    }
    let live = 0
    if (await exists(file)) {
      try {
        live = generationOf(headerOf(await readVault(file)))
      } catch {
        // A damaged live file has no generation to beat.
      }
    }
    const from = restored.generation
    const to = Math.max(from, live, ledger.snapshot().seen(restored.header.vault_id)?.generation ?? 0) + 1
    const bytes = restored.serialize(to)
    const backup = await keepTimestampedBackup(file)
    await replaceFile(file, bytes, () => lock.assertHeld())
    ledger.record(restored.header.vault_id, to, file)
    return {vault: restored, backup, from, to}
  } finally {
    await lock.release()
  }
}

/**
 * Puts `bytes`, a copy of this vault from elsewhere, in place of the file if it is newer. The
 * copy must open with `material` (so a forged or damaged copy never replaces a good file), be
 * the same vault, and carry a higher generation than the file has under the lock.
 */
export async function adoptNewerCopy(file: string, bytes: Buffer, material: KeyMaterial): Promise<'adopted' | 'not-newer'> {
  const envelope = parseEnvelope(bytes, `${file} (copy)`)
  const copy = await Vault.unlock(file, envelope, material)
  const lock = await acquireWriteLock(file)
  try {
    const current = headerOf(await readVault(file))
    if (current.vault_id !== copy.header.vault_id) {
      throw new KeywardError('VAULT_DAMAGED', `the copy is of another vault (${copy.header.vault_id}, not ${current.vault_id})`)
    }
    if (copy.generation <= generationOf(current)) return 'not-newer'
    await replaceFile(file, bytes, () => lock.assertHeld())
    return 'adopted'
  } finally {
    await lock.release()
  }
}
