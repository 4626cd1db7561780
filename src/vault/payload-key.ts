/**
 * A 32-byte key kept in the vault's encrypted payload, under one table entry (the audit log's MAC
 * key, the key that seals requestState tokens): whoever can open the vault holds it, nobody else
 * does. Created the first time it is needed; the caller then saves the vault.
 */
import {randomBytes} from 'node:crypto'

import {tableOf, type VaultData} from './payload.js'

interface KeyEntry {
  key_b64: string
  created: string
}

export interface PayloadKey {
  /** The key, when the vault holds a well-formed one. */
  of(data: VaultData): Buffer | undefined
  /** The key, created in `data` when missing. */
  ensure(data: VaultData): Buffer
  /** Gives `to` the key `from` holds, when `to` has none (a backup restored from before the key was made). */
  adopt(from: VaultData, to: VaultData): void
}

export function payloadKey(table: string, name: string): PayloadKey {
  const of = (data: VaultData): Buffer | undefined => {
    const stored = data.tables.get(table)?.get(name) as KeyEntry | undefined
    if (!stored || typeof stored.key_b64 !== 'string') return undefined
    const key = Buffer.from(stored.key_b64, 'base64')
    return key.length === 32 ? key : undefined
  }
  const ensure = (data: VaultData): Buffer => {
    const existing = of(data)
    if (existing) return existing
    const key = randomBytes(32)
    tableOf<KeyEntry>(data, table).set(name, {key_b64: key.toString('base64'), created: new Date().toISOString()})
    return key
  }
  const adopt = (from: VaultData, to: VaultData): void => {
    const stored = from.tables.get(table)?.get(name)
    if (of(from) && !of(to)) tableOf<KeyEntry>(to, table).set(name, stored as KeyEntry)
  }
  return {of, ensure, adopt}
}
