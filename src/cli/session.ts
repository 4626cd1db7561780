/**
 * The steps every vault command repeats: find the vault, pick its unlock secret, open it.
 * Writers then call updateVault() with the session's file and material: unlocking first means a
 * wrong secret fails before the write lock is taken, and the KDF result is cached for the write.
 */
import {headerOf, type KeyMaterial, openVault, readVault, resolveVaultPath, type Vault} from '../vault/index.js'
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
