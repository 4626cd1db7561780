import os from 'node:os'
import path from 'node:path'

import {resolveRealPath} from './file.js'

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

/** The vault's real path: a symlink is followed once, so writes and watches go to the real file. */
export function resolveVaultPath(flag: string | undefined, env = process.env): string {
  return resolveRealPath(flag || env.KEYWARD_VAULT || defaultVaultPath(env))
}

/** Per-user state that is neither data nor configuration: the rollback ledger, the audit log. */
export function defaultStateDir(env = process.env): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state')
  return path.join(base, 'keyward')
}
