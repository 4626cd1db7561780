/** A runtime as serve builds one, from settings and a vault's data, for stages tested alone. */
import {effectiveConfig} from '../../src/config/index.js'
import {KeyIndex} from '../../src/keys/index.js'
import type {VaultSnapshot} from '../../src/server/live-vault.js'
import {buildRuntime, type Runtime, type RuntimeEnv} from '../../src/server/runtime.js'
import {emptyData} from '../../src/vault/payload.js'
import type {VaultData} from '../../src/vault/index.js'

export function snapshotOf(data: VaultData, generation = 1): VaultSnapshot {
  return {data, keys: KeyIndex.fromVault(data), vaultId: 'test-vault', generation, loadedAt: Date.now()}
}

export function runtimeEnv(snapshot: () => VaultSnapshot, over: Partial<RuntimeEnv> = {}): RuntimeEnv {
  return {
    transport: 'http',
    host: '127.0.0.1',
    port: 8765,
    url: () => undefined,
    log: () => {},
    vault: {keys: () => snapshot().keys, data: () => snapshot().data},
    ...over,
  }
}

/** `secrets`: name and value, added to `data` (a new vault's, unless given). */
export function testRuntime(settings: Record<string, string> = {}, secrets: Record<string, string> = {}, data: VaultData = emptyData()): Runtime {
  for (const [name, value] of Object.entries(secrets)) data.secrets.set(name, {value: Buffer.from(value), created: '', updated: ''})
  const snapshot = snapshotOf(data)
  return buildRuntime(effectiveConfig(data, settings), snapshot, runtimeEnv(() => snapshot))
}
