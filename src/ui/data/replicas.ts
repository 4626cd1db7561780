/**
 * The replicas of `keyward serve` for this vault and how they are: those on this machine from
 * the serve registry, each asked for its /healthz, and, when Redis is configured, those whose
 * heartbeats are live there and verify (read through src/redis, as `keyward status` reads them).
 */
import {redisTargetOf} from '../../cli/replicas.js'
import {announcedServes} from '../../cli/serve-registry.js'
import type {Redis} from '../../redis/client.js'
import type {RedisTarget} from '../../redis/url.js'
import type {VaultData} from '../../vault/index.js'

export interface LocalReplica {
  url: string
  pid: number
  version: string
  startedAt: string
  /** What /healthz said: ok, or down when it did not answer. */
  status: string
  redis?: string
  ms?: number
}

export interface RedisReplica {
  host: string
  pid: number
  url?: string
  generation: number
  version: string
  uptimeSeconds: number
  redis: string
}

export interface Replicas {
  local: LocalReplica[]
  redis?: {target: string; reachable: boolean; replicas: RedisReplica[]}
}

const HEALTH_TIMEOUT_MS = 1500

async function health(url: string): Promise<{status: string; redis?: string; ms?: number}> {
  const started = performance.now()
  try {
    const res = await fetch(new URL('/healthz', url), {signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS), redirect: 'error'})
    const body = (await res.json()) as {status?: unknown; redis?: unknown}
    const ms = Math.round(performance.now() - started)
    return {status: res.ok && typeof body.status === 'string' ? body.status : `HTTP ${res.status}`, ...(typeof body.redis === 'string' ? {redis: body.redis} : {}), ms}
  } catch {
    return {status: 'down'}
  }
}

export class ReplicaWatch {
  private client?: {target: string; redis: Redis}

  constructor(private readonly redisFlag: string | undefined) {}

  async replicas(data: VaultData, vaultId: string): Promise<Replicas> {
    const announced = await announcedServes(vaultId)
    const local = await Promise.all(announced.map(async (s) => ({...s, ...(await health(s.url))})))
    const target = redisTargetOf(data, this.redisFlag)
    return {local, ...(target ? {redis: await this.fromRedis(target, data, vaultId)} : {})}
  }

  /** The replicas whose heartbeats verify with the vault's cluster key (as `keyward status` checks them). */
  private async fromRedis(target: RedisTarget, data: VaultData, vaultId: string): Promise<NonNullable<Replicas['redis']>> {
    const [{connectRedis, connectWithin}, {liveReplicas}, {clusterKeyOf}] = await Promise.all([import('../../redis/client.js'), import('../../redis/heartbeat.js'), import('../../redis/signing.js')])
    const key = clusterKeyOf(data, vaultId)
    if (!key) return {target: target.display, reachable: true, replicas: []}
    if (this.client?.target !== target.display) {
      this.client?.redis.disconnect()
      this.client = {target: target.display, redis: await connectRedis(target, {name: 'keyward-ui'})}
    }
    const {redis} = this.client
    if (!(await connectWithin(redis, 1500))) return {target: target.display, reachable: false, replicas: []}
    try {
      const live = await liveReplicas(redis, key, vaultId)
      return {target: target.display, reachable: true, replicas: live.map((r) => ({host: r.host, pid: r.pid, url: r.url, generation: r.generation, version: r.version, uptimeSeconds: r.uptimeSeconds, redis: r.redis}))}
    } catch {
      return {target: target.display, reachable: false, replicas: []}
    }
  }

  close(): void {
    this.client?.redis.disconnect()
    this.client = undefined
  }
}
