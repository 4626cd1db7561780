/**
 * A CLI change to a vault whose serve replicas share a Redis. Replicas write the vault too (to
 * keep upstream OAuth tokens they renew), each from its own copy, so every writer takes the
 * cluster's write lease and first adopts the newest authentic copy in Redis when it is newer than
 * its file: changes line up one after the other, and none is made from an old copy (which would
 * bring back a spent refresh token). See docs/scale-out.md, "Replicas that write the vault".
 *
 * When Redis cannot be reached the change is made all the same, and publishing it then reports
 * that the replicas were not told (exit 29), as before.
 */
import {KeywardError} from '../errors/index.js'
import {adoptNewerCopy, generationOf, headerOf, type KeyMaterial, readVault, type VaultData} from '../vault/index.js'
import {redisTargetOf} from './replicas.js'

const LEASE_TTL_MS = 30_000
const LEASE_WAIT_MS = 20_000

export async function underClusterLease<T>(file: string, material: KeyMaterial, data: VaultData, flag: string | undefined, work: () => Promise<T>): Promise<T> {
  const target = redisTargetOf(data, flag)
  if (!target) return work()
  const header = headerOf(await readVault(file))
  const [{clusterKeyOf}, {connectRedis, connectWithin}, {acquireLease, leaseKey}, {copyStamp, fetchVault}] = await Promise.all([
    import('../redis/signing.js'),
    import('../redis/client.js'),
    import('../redis/lease.js'),
    import('../redis/vault-copy.js'),
  ])
  const key = clusterKeyOf(data, header.vault_id)
  if (!key) return work()
  const redis = await connectRedis(target, {name: 'keyward-cli-write'})
  try {
    if (!(await connectWithin(redis, 2000))) return await work()
    const lease = await acquireLease(redis, leaseKey(header.vault_id, 'vault-write'), LEASE_TTL_MS, LEASE_WAIT_MS)
    if (!lease) throw new KeywardError('VAULT_BUSY', `another writer has held the vault's write lease on ${target.display} for ${LEASE_WAIT_MS / 1000}s (a replica renewing upstream tokens?); nothing was changed, retry`)
    try {
      const stamp = await copyStamp(redis, key, header.vault_id)
      if (stamp?.authentic && stamp.generation > generationOf(headerOf(await readVault(file)))) {
        const copy = await fetchVault(redis, key, header.vault_id)
        // A copy that does not open here (another vault's, damaged) is not taken; the change is
        // made on the file as it is, and publishing it then reports that Redis holds a newer copy.
        if (copy?.authentic) await adoptNewerCopy(file, copy.bytes, material).catch(() => undefined)
      }
      return await work()
    } finally {
      await lease.release()
    }
  } finally {
    redis.disconnect()
  }
}
