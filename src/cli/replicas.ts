/**
 * Telling the replicas of `keyward serve` on Redis about a change the CLI made: the vault's new
 * bytes (encrypted, as on disk) and generation, and the keys it revoked. A Redis that cannot be
 * reached does not fail the command: the change is made, and the replicas catch up by
 * generation once a later change reaches Redis, or when their own copy of the file changes.
 */
import {configOf} from '../config/index.js'
import {keysOf} from '../keys/index.js'
import {redisTarget} from '../config/redis.js'
import {isKeywardError} from '../errors/index.js'
import {generationOf, headerOf, parseVault, readVaultBytes, type VaultData} from '../vault/index.js'

export function revokedKeyIds(data: VaultData): Set<string> {
  const out = new Set<string>()
  for (const record of keysOf(data).values()) if (record.revoked) out.add(record.id)
  return out
}

/** Publishes the vault as it now is on disk, if a Redis is configured (flag, environment, or the vault's redis.url). */
export async function notifyReplicas(file: string, data: VaultData, revoked: string[], flag: string | undefined): Promise<void> {
  let target
  try {
    target = redisTarget(configOf(data), data, flag)
  } catch (err) {
    // The vault no longer holds the password's secret: the change stands, the replicas catch up later.
    if (!isKeywardError(err) || err.code !== 'NOT_FOUND') throw err
    process.stderr.write(`keyward: warning: the change was made, but the replicas were not told (${err.message})\n`)
    return
  }
  if (!target) return
  const {connectRedis, connectWithin} = await import('../redis/client.js')
  const {publishVault} = await import('../redis/vault-copy.js')
  const redis = await connectRedis(target, {name: 'keyward-cli'})
  try {
    if (!(await connectWithin(redis, 2000))) throw new Error('unreachable')
    const bytes = await readVaultBytes(file)
    const header = headerOf(parseVault(bytes, file))
    await publishVault(redis, {vaultId: header.vault_id, generation: generationOf(header), revoked}, bytes)
  } catch (err) {
    process.stderr.write(
      `keyward: warning: the change was made, but the replicas on ${target.display} were not told (${(err as Error).message}); they catch up with the next change published, or from their own copy of the vault\n`,
    )
  } finally {
    redis.disconnect()
  }
}
