/** A real vault in a fresh temporary directory, with XDG paths pointed inside it, for the console's unit tests. */
import {mkdtempSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {ensureAuditKey} from '../../../src/audit/key.js'
import {createKeyFile, createVault, headerOf, readVault, type KeyMaterial} from '../../../src/vault/index.js'

export interface TempVault {
  dir: string
  file: string
  keyFile: string
  material: KeyMaterial
  vaultId: string
  env: Record<string, string>
  cleanup(): void
}

export async function tempVault(): Promise<TempVault> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-unit-ui-'))
  const file = path.join(dir, 'data', 'vault.json')
  const keyFile = path.join(dir, 'vault.key')
  const material = await createKeyFile(keyFile)
  await createVault(file, [material], {force: false, initialize: ensureAuditKey})
  const vaultId = headerOf(await readVault(file)).vault_id
  const env = {XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config')}
  return {dir, file, keyFile, material, vaultId, env, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** Runs `fn` with the process environment extended by `env`, restored afterwards. */
export async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]))
  Object.assign(process.env, env)
  try {
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
