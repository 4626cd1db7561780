/** Liveness: each replica keeps a record with a short TTL; `keyward status` lists the live ones. */
import type {Redis} from './client.js'

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
}

const key = (vaultId: string, id: string) => `keyward:replica:${vaultId}:${id}`
export const HEARTBEAT_MS = 2000
const TTL_SECONDS = 6

export async function beat(redis: Redis, info: ReplicaInfo): Promise<void> {
  await redis.set(key(info.vaultId, info.id), JSON.stringify(info), 'EX', TTL_SECONDS)
}

export async function forget(redis: Redis, info: ReplicaInfo): Promise<void> {
  await redis.del(key(info.vaultId, info.id))
}

/** The live replicas (of one vault, or of all). */
export async function liveReplicas(redis: Redis, vaultId = '*'): Promise<ReplicaInfo[]> {
  const out: ReplicaInfo[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', key(vaultId, '*'), 'COUNT', 200)
    cursor = next
    if (keys.length === 0) continue
    for (const value of await redis.mget(...keys)) {
      if (!value) continue
      try {
        out.push(JSON.parse(value) as ReplicaInfo)
      } catch {
        // Not ours; ignored.
      }
    }
  } while (cursor !== '0')
  return out.sort((a, b) => (a.startedAt < b.startedAt ? -1 : 1))
}
