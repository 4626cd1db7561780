/**
 * Whatever crosses Redis is authenticated with a key only the vault's holders have: the cluster
 * key. It is derived (HKDF-SHA256, its own label, the vault id as salt) from the audit log's MAC
 * key, which is born with the vault (`keyward init`, `keyward up`) or made by the first admin
 * command of an older one: the moments when every replica's copy gets it too, so a cluster key
 * needs no birth of its own and no extra vault write. HKDF with a distinct label makes it
 * independent of the audit key: a MAC made for one never verifies for the other.
 *
 * Each MAC names its purpose (a notice, the stored copy, a heartbeat), so that one kind of
 * message can never be replayed as another.
 */
import {createHmac, timingSafeEqual} from 'node:crypto'

import {auditKeyOf} from '../audit/key.js'
import {deriveSubkey} from '../vault/crypto.js'
import type {VaultData} from '../vault/index.js'

export type Purpose = 'notice' | 'copy' | 'heartbeat'

const LABEL = 'keyward cluster v1'
const MAC_BYTES = 32

/** The cluster key of this vault, or undefined while the vault has no audit key yet. */
export function clusterKeyOf(data: VaultData, vaultId: string): Buffer | undefined {
  const auditKey = auditKeyOf(data)
  return auditKey && deriveSubkey(auditKey, Buffer.from(vaultId, 'utf8'), LABEL)
}

/** The fields go through JSON as an array, so that no two lists of fields encode alike. */
function digest(key: Buffer, purpose: Purpose, fields: readonly (string | number)[]): Buffer {
  return createHmac('sha256', key).update(JSON.stringify([LABEL, purpose, ...fields])).digest()
}

export function sign(key: Buffer, purpose: Purpose, fields: readonly (string | number)[]): string {
  return digest(key, purpose, fields).toString('base64url')
}

/** True only for a MAC made with this key, for this purpose, over exactly these fields. */
export function verify(key: Buffer | undefined, purpose: Purpose, fields: readonly (string | number)[], mac: unknown): boolean {
  if (!key || typeof mac !== 'string' || mac.length > 64) return false
  const given = Buffer.from(mac, 'base64url')
  return given.length === MAC_BYTES && timingSafeEqual(given, digest(key, purpose, fields))
}
