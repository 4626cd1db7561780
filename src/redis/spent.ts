/**
 * Spent `requestState` tokens, remembered across replicas: `SET key 1 NX PX ttl` on each token's
 * id (hashed: Redis never holds even the id), so that a token spent on one replica is refused on
 * every other until it expires. A Redis writer can delete the entries, and a replay then meets
 * only each replica's own guard, as without Redis; it cannot spend a token it has not seen, as
 * the ids are random and travel only inside sealed tokens.
 */
import {createHash} from 'node:crypto'

import type {Redis} from './client.js'

export const spentKey = (vaultId: string, id: string) => `keyward:spent:${vaultId}:${createHash('sha256').update(id).digest('base64url')}`

/** True when this is the first spending of `key` within `ttlMs`; throws when Redis fails. */
export async function spendOnce(redis: Redis, key: string, ttlMs: number): Promise<boolean> {
  return (await redis.set(key, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK'
}
