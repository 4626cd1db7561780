/**
 * One replica among several on Redis: shared rate limits, the vault's changes from the other
 * hosts (a notice per change; the copy itself, encrypted, when the file here is older), key
 * revocations refused at once, a heartbeat, and how Redis is doing for /healthz. Redis being
 * away never stops the replica: rate limits fall back to this replica's share, and the vault
 * catches up by generation once Redis is back.
 */
import {randomBytes} from 'node:crypto'
import os from 'node:os'

import {connectRedis, connectWithin, type Redis} from '../redis/client.js'
import {beat, forget, HEARTBEAT_MS, liveReplicas, type ReplicaInfo} from '../redis/heartbeat.js'
import {redisLimiter} from '../redis/limiter.js'
import type {RedisTarget} from '../redis/url.js'
import {fetchVault, parseNotice, vaultChannel, type VaultNotice} from '../redis/vault-copy.js'
import type {RateLimits} from '../ratelimit/limits.js'
import {headerOf, parseVault, readVaultBytes} from '../vault/index.js'
import type {LiveVault} from './live-vault.js'
import type {Logger} from './log.js'
import type {AuditTrail} from './stages/audit-requests.js'

export type RedisState = 'ok' | 'degraded' | 'down'

export interface ClusterOptions {
  target: RedisTarget
  log: Logger
  version: string
}

export interface ClusterAttach {
  live: LiveVault
  limits: RateLimits
  audit: AuditTrail
  url: () => string | undefined
  /** Called when keys were revoked by a notice, to close their sessions. */
  onRevoked: () => void
}

/** How long start-up waits for Redis before serving without it. */
const CONNECT_MS = 2000

export class Cluster {
  /** Key ids revoked by a notice, refused before the vault that revokes them arrives. */
  readonly revoked = new Set<string>()
  private readonly id = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  private readonly startedAt = Date.now()
  private everReady = false
  private state: RedisState = 'down'
  private replicaCount = 1
  private timer?: NodeJS.Timeout
  private attached?: ClusterAttach
  private vaultId = ''

  private constructor(
    private readonly options: ClusterOptions,
    private readonly client: Redis,
    private readonly subscriber: Redis,
  ) {}

  /** Connects (waiting up to 2 s), and brings the vault file up to the copy in Redis when that one is newer. */
  static async start(options: ClusterOptions, vaultFile: string, adopt: (bytes: Buffer) => Promise<unknown>): Promise<Cluster> {
    const client = await connectRedis(options.target, {name: 'keyward-serve'})
    const subscriber = await connectRedis(options.target, {name: 'keyward-serve-notices', subscriber: true})
    const cluster = new Cluster(options, client, subscriber)
    cluster.vaultId = headerOf(parseVault(await readVaultBytes(vaultFile), vaultFile)).vault_id
    if (await connectWithin(client, CONNECT_MS)) {
      cluster.everReady = true
      cluster.state = 'ok'
      await cluster.catchUp(0, adopt).catch((err) => options.log('warn', `redis: could not check the vault copy in Redis (${(err as Error).message})`))
    } else {
      options.log('warn', `redis: ${options.target.display} is unreachable; serving with rate limits per replica until it is back`)
    }
    void connectWithin(subscriber, CONNECT_MS)
    return cluster
  }

  get status(): RedisState {
    return this.state
  }

  get replicas(): number {
    return this.replicaCount
  }

  /** Starts following notices, beating, and counting rate limits in Redis. */
  attach(attach: ClusterAttach): void {
    this.attached = attach
    const {live, limits, audit, log} = {...attach, log: this.options.log}
    limits.reset(redisLimiter(this.client, () => this.replicaCount))
    this.client.on('ready', () => {
      if (this.state !== 'ok') {
        if (this.everReady) {
          log('info', `redis: ${this.options.target.display} is back; rate limits are shared again`)
          audit.record({event: 'redis.restored', redis: this.options.target.display}).catch(() => {})
        }
        this.everReady = true
        this.state = 'ok'
      }
      // Whatever was published meanwhile is in the copy: catch up by generation.
      void this.catchUp(live.snapshot.generation, (bytes) => live.adopt(bytes)).catch(() => {})
    })
    this.client.on('close', () => {
      if (this.state !== 'ok' || this.closing) return
      this.state = 'degraded'
      log('warn', `redis: lost ${this.options.target.display}; rate limits fall back to this replica's share until it is back`)
      audit.record({event: 'redis.degraded', redis: this.options.target.display}).catch(() => {})
    })
    void this.subscriber.subscribe(vaultChannel(this.vaultId)).catch(() => {})
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== vaultChannel(this.vaultId)) return
      const notice = parseNotice(this.vaultId, message)
      if (notice) void this.onNotice(notice).catch((err) => log('error', `redis: a vault notice could not be applied (${(err as Error).message})`))
    })
    const tick = () => void this.heartbeat().catch(() => {})
    tick()
    this.timer = setInterval(tick, HEARTBEAT_MS)
    this.timer.unref()
  }

  private async onNotice(notice: VaultNotice): Promise<void> {
    const {live, onRevoked} = this.attached!
    const log = this.options.log
    const serving = live.snapshot.generation
    if (notice.generation < serving) {
      log('error', `redis: refused a notice of generation ${notice.generation}, older than the generation ${serving} being served (rollback)`)
      return
    }
    if (notice.revoked.length > 0) {
      for (const id of notice.revoked) this.revoked.add(id)
      log('info', `redis: key(s) ${notice.revoked.join(', ')} revoked (generation ${notice.generation})`)
      onRevoked()
    }
    if (notice.generation === serving) return
    // A file shared with the writer may have it already; otherwise the copy in Redis does.
    await live.reload()
    if (live.snapshot.generation < notice.generation) await this.catchUp(live.snapshot.generation, (bytes) => live.adopt(bytes))
  }

  /** Adopts the copy in Redis if it is newer than `generation`. */
  private async catchUp(generation: number, adopt: (bytes: Buffer) => Promise<unknown>): Promise<void> {
    const copy = await fetchVault(this.client, this.vaultId)
    if (!copy || copy.generation <= generation) return
    const outcome = await adopt(copy.bytes)
    this.options.log('info', `redis: ${outcome === 'not-newer' ? 'the vault file is as new as' : 'took'} the copy of generation ${copy.generation} from Redis`)
  }

  private info(): ReplicaInfo {
    const live = this.attached!.live
    return {
      id: this.id,
      vaultId: this.vaultId,
      host: os.hostname(),
      pid: process.pid,
      url: this.attached!.url(),
      generation: live.snapshot.generation,
      version: this.options.version,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      redis: this.state,
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.client.status !== 'ready') return
    await beat(this.client, this.info())
    const count = Math.max(1, (await liveReplicas(this.client, this.vaultId)).length)
    if (count !== this.replicaCount) {
      this.replicaCount = count
      // The insurance limiters hold this replica's share: remake them for the new count.
      this.attached!.limits.reset()
    }
  }

  private closing = false

  async close(): Promise<void> {
    this.closing = true
    clearInterval(this.timer)
    if (this.client.status === 'ready' && this.attached) await forget(this.client, this.info()).catch(() => {})
    this.subscriber.disconnect()
    this.client.disconnect()
  }
}
