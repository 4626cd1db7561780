/**
 * The steps every vault command repeats: find the vault, pick its unlock secret, open it, and
 * check it against the rollback ledger. Writers then call `session.update()`: unlocking first
 * means a wrong secret fails before the write lock is taken, and the KDF result is cached for
 * the write.
 */
import {
  GenerationLedger,
  headerOf,
  type KeyMaterial,
  openVault,
  readWithLedger,
  resolveVaultPath,
  updateVaultDetailed,
  type UpdateOptions,
  type UpdateResult,
  type Vault,
} from '../vault/index.js'
import {resolveUnlock, type UnlockFlags} from './unlock.js'

export interface VaultFlags extends UnlockFlags {
  vault?: string
}

export interface Session {
  file: string
  material: KeyMaterial
  vault: Vault
  ledger: GenerationLedger
  /** updateVault() on this session's vault, checked against the ledger. */
  update<T>(change: (vault: Vault) => Promise<T> | T): Promise<T>
  updateDetailed<T>(change: (vault: Vault) => Promise<T> | T, options?: Omit<UpdateOptions, 'ledger'>): Promise<UpdateResult<T>>
}

export async function openSession(flags: VaultFlags, options: {allowPrompt?: boolean} = {}): Promise<Session> {
  const file = resolveVaultPath(flags.vault)
  const ledger = new GenerationLedger()
  const read = await readWithLedger(file, ledger)
  const material = await resolveUnlock(headerOf(read.envelope), file, flags, options)
  const vault = await openVault(file, material, {read, ledger})
  const updateDetailed = <T>(change: (vault: Vault) => Promise<T> | T, more: Omit<UpdateOptions, 'ledger'> = {}) =>
    updateVaultDetailed(file, material, change, {...more, ledger})
  return {
    file,
    material,
    vault,
    ledger,
    updateDetailed,
    update: async (change) => (await updateDetailed(change)).result,
  }
}
