/**
 * Telling the replicas of `keyward serve` on Redis about a change the CLI made: the vault's new
 * bytes (encrypted, as on disk) and generation, stamped with the cluster key, and a signed
 * notice naming the keys it revoked. The change is made whatever Redis does; when the replicas
 * cannot be told, the command says so on stderr and exits REPLICAS_NOT_TOLD (29), after its
 * own output, so that a script notices a revocation that has not reached them.
 */
import {configOf} from '../config/index.js'
import {redisTarget} from '../config/redis.js'
import {isKeywardError, KeywardError} from '../errors/index.js'
import {keysOf} from '../keys/index.js'
import type {ReplicaInfo} from '../redis/heartbeat.js'
import type {RedisTarget} from '../redis/url.js'
import {generationOf, headerOf, parseVault, readVaultBytes, type VaultData} from '../vault/index.js'

export function revokedKeyIds(data: VaultData): Set<string> {
  const out = new Set<string>()
  for (const record of keysOf(data).values()) if (record.revoked) out.add(record.id)
  return out
}

/** The Redis named by the flag, the environment or the vault's redis.url, its password from redis.password (config/redis.ts resolves it). */
export function redisTargetOf(data: VaultData, flag: string | undefined): RedisTarget | undefined {
  return redisTarget(configOf(data), data, flag)
}

/** Publishes the vault as it now is on disk, if a Redis is configured; reports (exit 29) when the replicas were not told. */
export async function notifyReplicas(file: string, data: VaultData, revoked: string[], flag: string | undefined): Promise<void> {
  let target: RedisTarget | undefined
  try {
    target = redisTargetOf(data, flag)
  } catch (err) {
    // redis.password names a secret the vault no longer holds: the change stands, the replicas were not told.
    if (!isKeywardError(err) || err.code !== 'NOT_FOUND') throw err
    const error = new KeywardError('REPLICAS_NOT_TOLD', `the change was made, but the replicas were not told: ${err.message}`)
    process.exitCode = error.exit
    process.stderr.write(`keyward: ${error.message}\n`)
    return
  }
  if (!target) return
  try {
    await publishVaultFile(file, data, revoked, target)
  } catch (err) {
    const error = err instanceof KeywardError ? err : notTold(target, undefined, (err as Error).message)
    process.exitCode = error.exit
    process.stderr.write(`keyward: ${error.message}\n`)
  }
}

/**
 * Stores the vault file in Redis and publishes a notice of its generation with `revoked`.
 * Throws REPLICAS_NOT_TOLD when Redis cannot be reached, the vault has no cluster key, or
 * Redis holds an authentic copy this one must not replace (another writer's).
 */
export async function publishVaultFile(file: string, data: VaultData, revoked: string[], target: RedisTarget): Promise<{generation: number; stored: boolean}> {
  const bytes = await readVaultBytes(file)
  const header = headerOf(parseVault(bytes, file))
  const generation = generationOf(header)
  const {clusterKeyOf} = await import('../redis/signing.js')
  const key = clusterKeyOf(data, header.vault_id)
  if (!key) throw notTold(target, generation, 'the vault has no audit key yet, from which what crosses Redis is signed; run any admin command once (keyward config set audit.args false) to create it')
  const {connectRedis, connectWithin} = await import('../redis/client.js')
  const {publishVault} = await import('../redis/vault-copy.js')
  const redis = await connectRedis(target, {name: 'keyward-cli'})
  try {
    if (!(await connectWithin(redis, 2000))) throw notTold(target, generation, 'Redis is unreachable')
    const outcome = await publishVault(redis, key, {vaultId: header.vault_id, generation, revoked}, bytes)
    if (outcome.stored || outcome.same) return {generation, stored: outcome.stored}
    const why =
      outcome.held === undefined
        ? 'another writer kept replacing the copy in Redis'
        : `Redis holds generation ${outcome.held} of this vault, written elsewhere, which this one must not replace`
    throw notTold(target, generation, `${why}; the notice of the keys it revoked was published, but not the vault itself`)
  } catch (err) {
    if (err instanceof KeywardError) throw err
    throw notTold(target, generation, (err as Error).message)
  } finally {
    redis.disconnect()
  }
}

function notTold(target: RedisTarget, generation: number | undefined, why: string): KeywardError {
  return new KeywardError(
    'REPLICAS_NOT_TOLD',
    `the change was made${generation === undefined ? '' : ` (generation ${generation})`}, but the replicas on ${target.display} were not told: ${why}. Replicas that keep their own copy of the vault miss it until a later change reaches Redis; publish it with \`keyward status --publish\``,
  )
}

export interface ReplicaRow extends ReplicaInfo {
  /** Since the replica wrote its heartbeat, by this host's clock. */
  lastSeenSeconds: number
  state: 'ok' | 'warning'
  warnings: string[]
}

export interface StatusReport {
  redis: string
  vault: {id: string; generation: number; copy: {generation: number; authentic: boolean} | null}
  replicas: ReplicaRow[]
  /** How many replicas have warnings. */
  warnings: number
  /** Heartbeat records of this vault whose MAC failed: not listed. */
  unauthenticated: number
}

/** The replicas of this vault whose heartbeats verify, each judged against the newest authentic generation known. */
export async function statusReport(target: RedisTarget, vault: {id: string; generation: number; key: Buffer}): Promise<StatusReport> {
  const {connectRedis, connectWithin} = await import('../redis/client.js')
  const {heardReplicas, replicaWarnings} = await import('../redis/heartbeat.js')
  const {copyStamp} = await import('../redis/vault-copy.js')
  const redis = await connectRedis(target, {name: 'keyward-status'})
  try {
    if (!(await connectWithin(redis, 3000))) throw new KeywardError('UPSTREAM_FAILED', `cannot reach Redis at ${target.display}; check the URL, and that Redis runs`)
    const heard = await heardReplicas(redis, vault.key, vault.id)
    const copy = await copyStamp(redis, vault.key, vault.id)
    const current = Math.max(vault.generation, copy?.authentic ? copy.generation : 0)
    const replicas = heard.replicas.map(({ageMs, ...replica}): ReplicaRow => {
      const warnings = replicaWarnings({...replica, ageMs}, current)
      return {...replica, lastSeenSeconds: Math.round(ageMs / 100) / 10, state: warnings.length > 0 ? 'warning' : 'ok', warnings}
    })
    return {
      redis: target.display,
      vault: {id: vault.id, generation: vault.generation, copy: copy ? {generation: copy.generation, authentic: copy.authentic} : null},
      replicas,
      warnings: replicas.filter((r) => r.state === 'warning').length,
      unauthenticated: heard.unauthenticated,
    }
  } finally {
    redis.disconnect()
  }
}
