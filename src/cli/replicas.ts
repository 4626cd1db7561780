/**
 * Telling the replicas of `keyward serve` on Redis about a change the CLI made: the vault's new
 * bytes (encrypted, as on disk) and generation, stamped with the cluster key, and a signed
 * notice naming the keys it revoked. The change is made whatever Redis does; when the replicas
 * cannot be told, the command says so on stderr and exits REPLICAS_NOT_TOLD (29), after its
 * own output, so that a script notices a revocation that has not reached them.
 */
import {createHash} from 'node:crypto'

import {configOf} from '../config/index.js'
import {redisTarget} from '../config/redis.js'
import {isKeywardError, KeywardError} from '../errors/index.js'
import {keysOf} from '../keys/index.js'
import type {ReplicaInfo} from '../redis/heartbeat.js'
import type {RedisTarget} from '../redis/url.js'
import {generationOf, headerOf, parseVault, readVaultBytes, type VaultData} from '../vault/index.js'
import {stderrLine} from './output.js'

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
    stderrLine(error.message)
    return
  }
  if (!target) return
  try {
    await publishVaultFile(file, data, revoked, target)
  } catch (err) {
    const error = err instanceof KeywardError ? err : notTold(target, undefined, (err as Error).message)
    process.exitCode = error.exit
    stderrLine(error.message)
  }
}

/**
 * Stores the vault file in Redis and publishes a notice of its generation with `revoked`.
 * Throws REPLICAS_NOT_TOLD when Redis cannot be reached, the vault has no cluster key, or
 * Redis holds an authentic copy this one must not replace and that is not known to include it.
 *
 * Two CLIs sharing the vault file can race: A writes generation N, B writes N+1 (from A's file,
 * so with A's change) and stores it first. A then finds N+1 in Redis; it is told all the same
 * when that copy is byte for byte this file as it is now (its SHA-256 matches): a later version
 * of the very file A wrote, which the replicas take. A copy it cannot match (written from
 * another file of the same vault, or this file has moved on again) is reported, as it may not
 * include the change.
 */
export async function publishVaultFile(file: string, data: VaultData, revoked: string[], target: RedisTarget): Promise<{generation: number; stored: boolean}> {
  return publishVaultBytes(file, await readVaultBytes(file), data, revoked, target)
}

/** publishVaultFile for `bytes` read from `file` earlier: the file may have moved on since (another CLI's write). */
export async function publishVaultBytes(file: string, bytes: Buffer, data: VaultData, revoked: string[], target: RedisTarget): Promise<{generation: number; stored: boolean}> {
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
    const now = outcome.held !== undefined && outcome.held > generation ? await readVaultBytes(file) : undefined
    // Redis's copy is this very file as it is now, written after this change: it carries it.
    if (now && outcome.heldDigest === sha256(now)) return {generation, stored: false}
    const movedOn = now ? generationOf(headerOf(parseVault(now, file))) : generation
    if (outcome.held !== undefined && movedOn > outcome.held) {
      throw notTold(target, generation, `${heldWhy(outcome.held, generation, revoked)} (this vault file is at generation ${movedOn} now)`)
    }
    throw notTold(target, generation, heldWhy(outcome.held, generation, revoked), outcome.held === undefined ? undefined : DIVERGED)
  } catch (err) {
    if (err instanceof KeywardError) throw err
    throw notTold(target, generation, (err as Error).message)
  } finally {
    redis.disconnect()
  }
}

/**
 * Why a copy was not stored, and what became of the notice. A replica applies a notice's
 * revocations only while it serves an older generation than the notice's: one that already
 * serves that generation or a later one (another copy's) ignores them, so the message does not
 * say they took effect.
 */
function heldWhy(held: number | undefined, generation: number, revoked: string[]): string {
  const copy =
    held === undefined
      ? 'another writer kept replacing the copy in Redis'
      : held === generation
        ? `Redis holds another generation ${held} of this vault, written elsewhere from the same generation (two copies of the vault were changed apart)`
        : `Redis holds generation ${held} of this vault, written elsewhere, which this one must not replace, and which is not this vault file as it is now, so it may not include this change`
  const notice =
    revoked.length === 0
      ? 'the notice was published, but not the vault itself'
      : `the notice of the keys it revoked was published, but not the vault itself; replicas that serve generation ${generation} or later${held === undefined ? '' : ` (as Redis's copy, ${held})`} ignore its revocations, and accept those keys until they take a vault that revokes them`
  return `${copy}; ${notice}`
}

const DIVERGED = 'Make the change on the vault file that copy comes from (or publish this one with `keyward status --publish` once it is at a later generation than the copy in Redis)'

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function notTold(target: RedisTarget, generation: number | undefined, why: string, advice?: string): KeywardError {
  const next = advice ?? 'Replicas that keep their own copy of the vault miss it until a later change reaches Redis; publish it with `keyward status --publish`'
  return new KeywardError('REPLICAS_NOT_TOLD', `the change was made${generation === undefined ? '' : ` (generation ${generation})`}, but the replicas on ${target.display} were not told: ${why}. ${next}`)
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
  /** Heartbeat records of this vault that are not a replica's own (a failed MAC, a copy under another name, too large, not a heartbeat): not listed. */
  unauthenticated: number
  /** More records under this vault's heartbeat prefix than are read: replicas may be missing from the list. */
  truncated: boolean
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
      truncated: heard.truncated,
    }
  } finally {
    redis.disconnect()
  }
}
