import os from 'node:os'
import path from 'node:path'

/**
 * The vault (data) and its default key file (a credential) live in different trees, so that
 * copying or backing up the vault's directory does not carry the key that opens it.
 */
export function defaultVaultPath(env = process.env): string {
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share')
  return path.join(base, 'keyward', 'vault.json')
}

export function defaultKeyFilePath(env = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config')
  return path.join(base, 'keyward', 'vault.key')
}

export function resolveVaultPath(flag: string | undefined, env = process.env): string {
  return path.resolve(flag || env.KEYWARD_VAULT || defaultVaultPath(env))
}
