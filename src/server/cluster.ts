/**
 * One replica among several on Redis: shared rate limits, the vault's changes from the other
 * hosts (a notice per change; the copy itself, encrypted, when the file here is older), key
 * revocations refused at once, a heartbeat, and how Redis is doing for /healthz. Nothing from
 * Redis is believed unless it carries a MAC with the cluster key (see redis/signing.ts). Redis being
 * away never stops the replica: rate limits fall back to this replica's share, and the vault
 * catches up by generation once Redis is back.
 */
import {randomBytes} from 'node:crypto'
import os from 'node:os'

import {isKeywardError} from '../errors/index.js'
import {connectRedis, connectWithin, type Redis} from '../redis/client.js'
import {beat, forget, HEARTBEAT_MS, liveReplicas, type ReplicaInfo} from '../redis/heartbeat.js'
import {acquireLease, leaseKey} from '../redis/lease.js'
import {redisLimiter} from '../redis/limiter.js'
import {spendOnce, spentKey} from '../redis/spent.js'
import {openNotice, type VaultNotice} from '../redis/notice.js'
import {clusterKeyOf} from '../redis/signing.js'
import type {RedisTarget} from '../redis/url.js'
import {copyStamp, fetchVault, publishVault, vaultChannel} from '../redis/vault-copy.js'
import type {RateLimits} from '../ratelimit/limits.js'
import {type KeyMaterial, openVault, readVaultBytes} from '../vault/index.js'
import type {LiveVault, VaultSnapshot} from './live-vault.js'
import type {Logger} from './log.js'
import type {AuditTrail} from './stages/audit-requests.js'

export type RedisState = 'ok' | 'degraded' | 'down'

export interface ClusterOptions {
  target: RedisTarget
  log: Logger
  version: string
  /** The vault's unlock secret: the cluster key is read from the vault before it is served. */
  material: KeyMaterial
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
/** The vault's write lease (see write()): held at most this long, waited for at most this long. */
const WRITE_LEASE_TTL_MS = 30_000
const WRITE_LEASE_WAIT_MS = 20_000

/** One line for every forged or unsigned notice: the logger prints it once per window, then counts. */
const FORGED_NOTICE = 'redis: ignored a vault notice that failed authentication (not signed with this vault\'s cluster key); a Redis writer may be forging notices'

export class Cluster {
  /** Key ids revoked by a notice, refused before the vault that revokes them arrives. */
  readonly revoked = new Set<string>()
  /** The generation whose notice revoked each of them: once that vault is served, it is the authority. */
  private readonly revokedAt = new Map<string, number>()
  private readonly id = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
  private readonly startedAt = Date.now()
  private everReady = false
  private state: RedisState = 'down'
  private replicaCount = 1
  private timer?: NodeJS.Timeout
  private attached?: ClusterAttach
  private closing = false
  private keyCache?: {data: VaultSnapshot['data']; key: Buffer | undefined}

  private constructor(
    private readonly options: ClusterOptions,
    private readonly client: Redis,
    private readonly subscriber: Redis,
    private readonly vaultId: string,
    /** The cluster key as the file had it at start, until a LiveVault is attached. */
    private readonly startKey: Buffer | undefined,
  ) {}

  /** Connects (waiting up to 2 s), and brings the vault file up to the copy in Redis when that one is newer. */
  static async start(options: ClusterOptions, vaultFile: string, adopt: (bytes: Buffer) => Promise<unknown>): Promise<Cluster> {
    const vault = await openVault(vaultFile, options.material)
    const vaultId = vault.header.vault_id
    const client = await connectRedis(options.target, {name: 'keyward-serve', batchWrites: true})
    const subscriber = await connectRedis(options.target, {name: 'keyward-serve-notices', subscriber: true})
    const cluster = new Cluster(options, client, subscriber, vaultId, clusterKeyOf(vault.data, vaultId))
    if (!cluster.startKey) {
      options.log('warn', `redis: the vault has no audit key yet, so this replica can neither check nor sign what crosses Redis: it ignores notices and sends no heartbeat until it serves a vault that has one (run any admin command once, e.g. keyward config set audit.args false)`)
    }
    if (await connectWithin(client, CONNECT_MS)) {
      cluster.everReady = true
      cluster.state = 'ok'
      await cluster.catchUp(vault.generation, adopt)
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

  /** The cluster key of the vault being served (derived once per loaded vault). */
  private key(): Buffer | undefined {
    const live = this.attached?.live
    if (!live) return this.startKey
    const {data} = live.snapshot
    if (this.keyCache?.data !== data) this.keyCache = {data, key: clusterKeyOf(data, this.vaultId)}
    return this.keyCache.key
  }

  /** Starts following notices, beating, and counting rate limits in Redis. */
  /**
   * Spends a requestState token's id for every replica: false when one (this one too) spent it
   * before; undefined while Redis does not answer, when each replica's own guard is all there is,
   * as rate limits fall back to each replica's share.
   */
  async spend(id: string, ttlMs: number): Promise<boolean | undefined> {
    if (this.state !== 'ok') return undefined
    try {
      return await spendOnce(this.client, spentKey(this.vaultId, id), ttlMs)
    } catch {
      return undefined
    }
  }

  attach(attach: ClusterAttach): void {
    this.attached = attach
    const {live, limits} = attach
    limits.reset(redisLimiter(this.client, () => this.replicaCount))
    live.onReload((snapshot) => this.forgetRevocationsUpTo(snapshot.generation))
    this.followConnection()
    // A change published before the subscription took (or while it was down) is in the copy.
    const catchUp = () => void this.catchUp(live.snapshot.generation, (bytes) => live.adopt(bytes))
    void this.subscriber.subscribe(vaultChannel(this.vaultId)).then(catchUp, () => {})
    this.subscriber.on('ready', catchUp)
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== vaultChannel(this.vaultId)) return
      const notice = openNotice(this.key(), this.vaultId, message)
      if (!notice) return this.options.log('warn', FORGED_NOTICE)
      void this.onNotice(notice).catch((err) => this.options.log('error', `redis: a vault notice could not be applied (${(err as Error).message})`))
    })
    // One tick at a time: a slow Redis (or a slow scan) skips beats rather than piling them up.
    let beating = false
    const tick = () => {
      if (beating) return
      beating = true
      void this.heartbeat()
        .catch(() => {})
        .finally(() => (beating = false))
    }
    tick()
    this.timer = setInterval(tick, HEARTBEAT_MS)
    this.timer.unref()
  }

  /** Redis lost and back: degraded and restored once each, and a catch-up by generation on every return. */
  private followConnection(): void {
    const {live, audit} = this.attached!
    const log = this.options.log
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
      void this.catchUp(live.snapshot.generation, (bytes) => live.adopt(bytes))
    })
    this.client.on('close', () => {
      if (this.state !== 'ok' || this.closing) return
      this.state = 'degraded'
      log('warn', `redis: lost ${this.options.target.display}; rate limits fall back to this replica's share until it is back`)
      audit.record({event: 'redis.degraded', redis: this.options.target.display}).catch(() => {})
    })
  }

  private async onNotice(notice: VaultNotice): Promise<void> {
    const {live, onRevoked} = this.attached!
    const log = this.options.log
    const serving = live.snapshot.generation
    if (notice.generation < serving) {
      log('error', `redis: refused a notice of generation ${notice.generation}, older than the generation ${serving} being served (rollback)`)
      return
    }
    if (notice.revoked.length > 0 && notice.generation > serving) {
      for (const id of notice.revoked) {
        this.revoked.add(id)
        this.revokedAt.set(id, Math.max(notice.generation, this.revokedAt.get(id) ?? 0))
      }
      log('info', `redis: key(s) ${notice.revoked.join(', ')} revoked (generation ${notice.generation})`)
      onRevoked()
    }
    if (notice.generation === serving) return
    // A file shared with the writer may have it already; otherwise the copy in Redis does.
    await live.reload()
    if (live.snapshot.generation < notice.generation) await this.catchUp(live.snapshot.generation, (bytes) => live.adopt(bytes))
  }

  /** Once the vault of generation `generation` is served, it says which keys are revoked, not the notices before it. */
  private forgetRevocationsUpTo(generation: number): void {
    for (const [id, at] of this.revokedAt) {
      if (at > generation) continue
      this.revokedAt.delete(id)
      this.revoked.delete(id)
    }
  }

  /**
   * Adopts the copy in Redis if it is newer than `generation`. With a cluster key, the copy's
   * stamp must verify before anything else is done with it (no unlock work for a forgery);
   * without one, the copy must still open with this vault's own secret. Logs what happened.
   */
  private async catchUp(generation: number, adopt: (bytes: Buffer) => Promise<unknown>): Promise<void> {
    const log = this.options.log
    const key = this.key()
    try {
      if (key) {
        const stamp = await copyStamp(this.client, key, this.vaultId)
        if (!stamp) return
        if (!stamp.authentic) return log('warn', REFUSED_COPY)
        if (stamp.generation <= generation) return
      }
      const copy = await fetchVault(this.client, key, this.vaultId)
      if (!copy) return
      if (key && !copy.authentic) return log('warn', REFUSED_COPY)
      const outcome = await adopt(copy.bytes)
      log('info', `redis: ${outcome === 'not-newer' ? 'the vault file is as new as' : 'took'} the copy of generation ${copy.generation} from Redis`)
    } catch (err) {
      const why = isKeywardError(err) ? `${err.code}: ${err.message}` : (err as Error).message
      log('error', `redis: did not take the vault copy in Redis (${why}); still serving generation ${this.attached?.live.snapshot.generation ?? generation}`)
    }
  }

  /**
   * The one way a replica writes the vault (to keep upstream OAuth tokens): under the cluster's
   * write lease, which the CLI takes too, it first takes the newest authentic copy from Redis,
   * then runs `work` (a write of its own file, under the file's lock), then publishes the result
   * like the CLI does. So writers on every host line up, and none writes from an old copy. Throws
   * when Redis cannot be reached or the lease stays taken: the caller tries again later.
   */
  async write<T>(work: () => Promise<T>): Promise<T> {
    const live = this.attached?.live
    const key = this.key()
    if (!live || !key) throw new Error('this replica cannot sign what it would publish (the vault has no audit key yet)')
    if (this.client.status !== 'ready') throw new Error(`Redis at ${this.options.target.display} is unreachable, and a replica writes the vault only under the cluster's write lease`)
    const lease = await acquireLease(this.client, leaseKey(this.vaultId, 'vault-write'), WRITE_LEASE_TTL_MS, WRITE_LEASE_WAIT_MS)
    if (!lease) throw new Error(`another writer has held the vault's write lease on Redis for ${WRITE_LEASE_WAIT_MS / 1000}s`)
    try {
      const stamp = await copyStamp(this.client, key, this.vaultId)
      if (stamp?.authentic && stamp.generation > live.snapshot.generation) {
        const copy = await fetchVault(this.client, key, this.vaultId)
        if (!copy?.authentic) throw new Error('the newer vault copy in Redis failed authentication')
        await live.adopt(copy.bytes)
      }
      const before = live.snapshot.generation
      const result = await work()
      if (live.snapshot.generation !== before) {
        const bytes = await readVaultBytes(live.file)
        const outcome = await publishVault(this.client, key, {vaultId: this.vaultId, generation: live.snapshot.generation, revoked: []}, bytes)
        if (!outcome.stored && !outcome.same) this.options.log('error', `redis: the vault copy in Redis (generation ${outcome.held ?? '?'}) was written by a writer that did not take the write lease (a keyward from before it?); this replica's change of generation ${live.snapshot.generation} did not reach the others`)
      }
      return result
    } finally {
      await lease.release()
    }
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
      at: Date.now(),
    }
  }

  private async heartbeat(): Promise<void> {
    const key = this.key()
    if (this.client.status !== 'ready' || !key) return
    await beat(this.client, key, this.info())
    const count = Math.max(1, (await liveReplicas(this.client, key, this.vaultId)).length)
    if (count !== this.replicaCount) {
      this.replicaCount = count
      // The insurance limiters hold this replica's share: remake them for the new count.
      this.attached!.limits.reset()
    }
  }

  async close(): Promise<void> {
    this.closing = true
    clearInterval(this.timer)
    if (this.client.status === 'ready' && this.attached) await forget(this.client, {vaultId: this.vaultId, id: this.id}).catch(() => {})
    this.subscriber.disconnect()
    this.client.disconnect()
  }
}

const REFUSED_COPY = 'redis: refused the vault copy in Redis: its stamp failed authentication (a Redis writer changed it, or it is from before copies were signed); waiting for the next change'
