/**
 * Liveness: each replica writes a signed record every 2 s (a MAC with the cluster key over the
 * record, its time included), kept 60 s. A record whose MAC fails is not a replica: a Redis
 * writer cannot add one, nor change what one says. A copied genuine record keeps its old time,
 * so a replica that stopped beating shows as silent, whoever re-wrote its record.
 */
import {canonicalJson} from '../vault/format.js'
import type {Redis} from './client.js'
import {sign, verify} from './signing.js'

export interface ReplicaInfo {
  id: string
  vaultId: string
  host: string
  pid: number
  url?: string
  generation: number
  version: string
  startedAt: string
  uptimeSeconds: number
  redis: string
  /** When this record was written, by the replica's clock (ms since the epoch). */
  at: number
}

const key = (vaultId: string, id: string) => `keyward:replica:${vaultId}:${id}`
export const HEARTBEAT_MS = 2000
/** Kept long enough for `keyward status` to show a replica that stopped beating, as silent. */
const TTL_SECONDS = 60
/** A replica not heard from for longer (three beats) is silent: not counted, and shown as a warning. */
export const SILENT_MS = 3 * HEARTBEAT_MS

const fields = (info: ReplicaInfo) => [canonicalJson(info)]

export async function beat(redis: Redis, clusterKey: Buffer, info: ReplicaInfo): Promise<void> {
  // Signed as it will be read back: through JSON, which drops fields left undefined.
  const record = JSON.parse(JSON.stringify(info)) as ReplicaInfo
  await redis.set(key(info.vaultId, info.id), JSON.stringify({...record, mac: sign(clusterKey, 'heartbeat', fields(record))}), 'EX', TTL_SECONDS)
}

export async function forget(redis: Redis, info: Pick<ReplicaInfo, 'vaultId' | 'id'>): Promise<void> {
  await redis.del(key(info.vaultId, info.id))
}

export interface Heard {
  /** Authentic records of this vault's replicas, oldest start first. */
  replicas: (ReplicaInfo & {ageMs: number})[]
  /** Records under this vault's prefix whose MAC failed: not replicas, but worth a warning. */
  unauthenticated: number
}

/** The replicas of one vault whose records verify with its cluster key, with how long ago each was written. */
export async function heardReplicas(redis: Redis, clusterKey: Buffer, vaultId: string, now = Date.now()): Promise<Heard> {
  const heard: Heard = {replicas: [], unauthenticated: 0}
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', key(vaultId, '*'), 'COUNT', 200)
    cursor = next
    if (keys.length === 0) continue
    for (const value of await redis.mget(...keys)) {
      if (!value) continue
      const info = authentic(clusterKey, vaultId, value)
      if (info) heard.replicas.push({...info, ageMs: now - info.at})
      else heard.unauthenticated++
    }
  } while (cursor !== '0')
  heard.replicas.sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1))
  return heard
}

/** The replicas heard from within SILENT_MS: how many share the rate limits. */
export async function liveReplicas(redis: Redis, clusterKey: Buffer, vaultId: string): Promise<ReplicaInfo[]> {
  return (await heardReplicas(redis, clusterKey, vaultId)).replicas.filter((r) => Math.abs(r.ageMs) <= SILENT_MS)
}

function authentic(clusterKey: Buffer, vaultId: string, value: string): ReplicaInfo | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const {mac, ...info} = parsed as ReplicaInfo & {mac?: unknown}
  if (info.vaultId !== vaultId || !Number.isSafeInteger(info.at) || !Number.isSafeInteger(info.generation)) return undefined
  return verify(clusterKey, 'heartbeat', fields(info), mac) ? info : undefined
}

/**
 * What is wrong with a replica, as `keyward status` shows it: it serves an older generation
 * than `current` (the newest authentic one known), or it has not been heard from within
 * SILENT_MS (or its clock is that far ahead). Empty when it is fine.
 */
export function replicaWarnings(replica: ReplicaInfo & {ageMs: number}, current: number): string[] {
  const warnings: string[] = []
  const behind = current - replica.generation
  if (behind > 0) warnings.push(`${behind} generation${behind === 1 ? '' : 's'} behind (serves ${replica.generation}, the vault is at ${current})`)
  if (replica.ageMs > SILENT_MS) warnings.push(`not heard from for ${Math.round(replica.ageMs / 1000)}s`)
  else if (replica.ageMs < -SILENT_MS) warnings.push(`its clock is ${Math.round(-replica.ageMs / 1000)}s ahead of this host's`)
  return warnings
}
