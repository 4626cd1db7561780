/** The steps every vault command repeats: find the vault, pick its unlock secret, open or update it. */
import {headerOf} from '../vault/format.js'
import {openVault, readVault, resolveVaultPath, updateVault, type KeyMaterial, type Vault} from '../vault/index.js'
import {resolveUnlock, type UnlockFlags} from './unlock.js'

export interface VaultFlags extends UnlockFlags {
  vault?: string
}

export interface Session {
  file: string
  material: KeyMaterial
  vault: Vault
}

export async function openSession(flags: VaultFlags, options: {allowPrompt?: boolean} = {}): Promise<Session> {
  const file = resolveVaultPath(flags.vault)
  const envelope = await readVault(file)
  const material = await resolveUnlock(headerOf(envelope), file, flags, options)
  const vault = await openVault(file, material, envelope)
  return {file, material, vault}
}

/** Opens the vault (so a wrong secret fails before the lock), then applies `change` under the write lock and saves. */
export async function changeVault<T>(flags: VaultFlags, change: (vault: Vault) => Promise<T> | T): Promise<T> {
  const {file, material} = await openSession(flags)
  return updateVault(file, material, change)
}
