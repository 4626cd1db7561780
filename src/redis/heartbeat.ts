/**
 * Liveness: each replica writes a signed record every 2 s (a MAC with the cluster key over the
 * record, its time included), kept 60 s, under a key named after its id. A record whose MAC fails
 * is not a replica: a Redis writer cannot add one, nor change what one says. A genuine record
 * copied under another name is not a replica either (the name must be its own id's), and a
 * copied record keeps its old time, so a replica that stopped beating shows as silent, whoever
 * re-wrote its record.
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

export const replicaKey = (vaultId: string, id: string) => `keyward:replica:${vaultId}:${id}`
export const HEARTBEAT_MS = 2000
/** Kept long enough for `keyward status` to show a replica that stopped beating, as silent. */
const TTL_SECONDS = 60
/** A replica not heard from for longer (three beats) is silent: not counted, and shown as a warning. */
export const SILENT_MS = 3 * HEARTBEAT_MS

const fields = (info: ReplicaInfo) => [canonicalJson(info)]

export async function beat(redis: Redis, clusterKey: Buffer, info: ReplicaInfo): Promise<void> {
  // Signed as it will be read back: through JSON, which drops fields left undefined.
  const record = JSON.parse(JSON.stringify(info)) as ReplicaInfo
  await redis.set(replicaKey(info.vaultId, info.id), JSON.stringify({...record, mac: sign(clusterKey, 'heartbeat', fields(record))}), 'EX', TTL_SECONDS)
}

export async function forget(redis: Redis, info: Pick<ReplicaInfo, 'vaultId' | 'id'>): Promise<void> {
  await redis.del(replicaKey(info.vaultId, info.id))
}

export interface Heard {
  /** Authentic records of this vault's replicas, one per replica id, oldest start first. */
  replicas: (ReplicaInfo & {ageMs: number})[]
  /**
   * Records under this vault's prefix that are not a replica's own: a MAC that fails, a record
   * under another replica's name (a genuine one copied), too large, or not a heartbeat's shape.
   */
  unauthenticated: number
  /** More than MAX_RECORDS keys under the prefix: the rest were not read. */
  truncated: boolean
}

/**
 * What one replica reads of Redis every 2 s is bounded whatever a Redis writer puts there: at
 * most MAX_RECORDS keys, and of each only a value of at most MAX_RECORD_BYTES (a heartbeat is
 * about 300 bytes), judged by its length in Redis before it is sent (SMALL_VALUES).
 */
export const MAX_RECORD_BYTES = 4096
const MAX_RECORDS = 1000

/** The values of KEYS that are strings of at most ARGV[1] bytes; 0 for one that is larger or not a string; false for one gone. */
const SMALL_VALUES = `
local out = {}
for i, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k).ok
  if t == 'none' then
    out[i] = false
  elseif t == 'string' and redis.call('STRLEN', k) <= tonumber(ARGV[1]) then
    out[i] = redis.call('GET', k)
  else
    out[i] = 0
  end
end
return out`

/** The replicas of one vault whose records verify with its cluster key, with how long ago each was written. */
export async function heardReplicas(redis: Redis, clusterKey: Buffer, vaultId: string, now = Date.now()): Promise<Heard> {
  const byId = new Map<string, ReplicaInfo & {ageMs: number}>()
  const heard: Heard = {replicas: [], unauthenticated: 0, truncated: false}
  let cursor = '0'
  let read = 0
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', replicaKey(vaultId, '*'), 'COUNT', 200)
    cursor = next
    const keys = found.slice(0, MAX_RECORDS - read)
    if (keys.length < found.length) heard.truncated = true
    if (keys.length === 0) continue
    read += keys.length
    const values = (await redis.eval(SMALL_VALUES, keys.length, ...keys, MAX_RECORD_BYTES)) as (string | number | null)[]
    for (const [i, name] of keys.entries()) {
      const value = values[i]
      if (value === null || value === undefined) continue // gone since the scan (a replica stopped)
      const info = typeof value === 'string' ? openHeartbeat(clusterKey, vaultId, name, value) : undefined
      // One record per replica id: the key must be that id's own, so copies under other names are not more replicas.
      if (info && !byId.has(info.id)) byId.set(info.id, {...info, ageMs: now - info.at})
      else heard.unauthenticated++
    }
  } while (cursor !== '0' && !heard.truncated)
  heard.replicas = [...byId.values()].sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1))
  return heard
}

/** The replicas heard from within SILENT_MS: how many share the rate limits. */
export async function liveReplicas(redis: Redis, clusterKey: Buffer, vaultId: string): Promise<ReplicaInfo[]> {
  return (await heardReplicas(redis, clusterKey, vaultId)).replicas.filter((r) => Math.abs(r.ageMs) <= SILENT_MS)
}

/** A heartbeat's fields, and the type each must have: nothing else is accepted (nor canonicalised). */
const FIELDS: Record<string, 'string' | 'integer'> = {
  id: 'string',
  vaultId: 'string',
  host: 'string',
  pid: 'integer',
  url: 'string',
  generation: 'integer',
  version: 'string',
  startedAt: 'string',
  uptimeSeconds: 'integer',
  redis: 'string',
  at: 'integer',
}
const OPTIONAL = new Set(['url'])
const MAX_TEXT = 1024

/**
 * The record under `name`, only if it is a heartbeat's shape (known fields, plain values, bounded),
 * stored under its own replica's key, and its MAC verifies. The shape is checked before anything
 * else: a hostile value (deeply nested JSON, say) never reaches canonicalJson.
 */
export function openHeartbeat(clusterKey: Buffer, vaultId: string, name: string, value: string): ReplicaInfo | undefined {
  if (value.length > MAX_RECORD_BYTES) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return undefined
  }
  if (!isHeartbeat(parsed)) return undefined
  const {mac, ...info} = parsed
  if (info.vaultId !== vaultId || name !== replicaKey(vaultId, info.id)) return undefined
  return verify(clusterKey, 'heartbeat', fields(info), mac) ? info : undefined
}

function isHeartbeat(value: unknown): value is ReplicaInfo & {mac: string} {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const record = value as Record<string, unknown>
  if (typeof record.mac !== 'string') return false
  for (const [field, type] of Object.entries(FIELDS)) {
    const v = record[field]
    if (v === undefined && OPTIONAL.has(field)) continue
    if (type === 'string' ? typeof v !== 'string' || v.length > MAX_TEXT : !Number.isSafeInteger(v)) return false
  }
  return Object.keys(record).every((field) => field === 'mac' || field in FIELDS)
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
