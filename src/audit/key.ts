/**
 * The audit log's MAC key: 32 random bytes in the vault's encrypted payload, created the first
 * time anything is audited. Whoever can open the vault can verify, and forge, the log; nobody
 * else can do either.
 */
import {randomBytes} from 'node:crypto'

import {tableOf, type VaultData} from '../vault/index.js'

interface KeyEntry {
  key_b64: string
  created: string
}

const TABLE = 'audit'
const ENTRY = 'hmac_key'

export function auditKeyOf(data: VaultData): Buffer | undefined {
  const entry = data.tables.get(TABLE)?.get(ENTRY) as KeyEntry | undefined
  if (!entry || typeof entry.key_b64 !== 'string') return undefined
  const key = Buffer.from(entry.key_b64, 'base64')
  return key.length === 32 ? key : undefined
}

/** The key, created in `data` when missing (the caller then saves the vault). */
export function ensureAuditKey(data: VaultData): Buffer {
  const existing = auditKeyOf(data)
  if (existing) return existing
  const key = randomBytes(32)
  tableOf<KeyEntry>(data, TABLE).set(ENTRY, {key_b64: key.toString('base64'), created: new Date().toISOString()})
  return key
}
