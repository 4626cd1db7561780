/**
 * The audit log's MAC key: 32 random bytes in the vault's encrypted payload, created the first
 * time anything is audited. Whoever can open the vault can verify, and forge, the log; nobody
 * else can do either.
 */
import {payloadKey, type VaultData} from '../vault/index.js'

const KEY = payloadKey('audit', 'hmac_key')

export function auditKeyOf(data: VaultData): Buffer | undefined {
  return KEY.of(data)
}

/** The key, created in `data` when missing (the caller then saves the vault). */
export function ensureAuditKey(data: VaultData): Buffer {
  return KEY.ensure(data)
}

/**
 * For `vault restore`: a backup from before the audit key was made takes the live vault's. With
 * none, the next record would be sealed under a new key, and verify would call the whole log
 * before it edited.
 */
export function keepAuditKey(live: VaultData, restored: VaultData): void {
  KEY.adopt(live, restored)
}
