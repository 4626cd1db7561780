/**
 * A requestState token is single-use across replicas (src/redis/spent.ts, ReplicatedReplayGuard):
 * two replicas seal and open with the vault's one request-state key, each with its own in-process
 * guard, over one real redis-server. A token that carries an upstream's own state is resumed on
 * whichever replica the retry reaches; spent on one, it is refused on the other.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {connectRedis, connectWithin, type Redis} from '../../../src/redis/client.js'
import {spendOnce, spentKey} from '../../../src/redis/spent.js'
import {MemoryReplayGuard, ReplicatedReplayGuard, RequestStateRefused, RequestStateSealer, type SharedSpending} from '../../../src/server/era/request-state.js'
import {needRedisServer, RedisServer} from '../../helpers/redis.js'

describe('requestState spent on one replica is spent on all (Redis)', function () {
  let redis: RedisServer
  let client: Redis

  before(async function () {
    needRedisServer.call(this)
    redis = await RedisServer.start()
    client = await connectRedis({url: redis.url, display: redis.url}, {name: 'test'})
    assert.equal(await connectWithin(client, 5000), true)
  })
  after(async () => {
    client?.disconnect()
    await redis?.kill()
  })

  /** A replica: the vault's key, a guard of its own, and the Redis the cluster shares (as Cluster.spend uses it). */
  const replica = (key: Buffer, shared: SharedSpending | undefined) => new RequestStateSealer(key, {replay: new ReplicatedReplayGuard(new MemoryReplayGuard(), () => shared)})
  const alice = {principal: 'key:alice', method: 'tools/call', name: 'ask'}

  it('a token opened on one replica is refused as replayed on the other, and on the first', async () => {
    const key = randomBytes(32)
    const shared: SharedSpending = {spend: (id, ttlMs) => spendOnce(client, spentKey('vault-1', id), ttlMs)}
    const [a, b] = [replica(key, shared), replica(key, shared)]
    const token = a.seal(alice, {upstreamState: 'u-1'})
    assert.deepEqual(await b.open(token, alice), {upstreamState: 'u-1'})
    for (const again of [a, b]) await assert.rejects(again.open(token, alice), (err: unknown) => err instanceof RequestStateRefused && err.reason === 'replayed')
  })

  it('two replicas opening one token at once: one of them succeeds', async () => {
    const key = randomBytes(32)
    const shared: SharedSpending = {spend: (id, ttlMs) => spendOnce(client, spentKey('vault-2', id), ttlMs)}
    const token = replica(key, shared).seal(alice, 1)
    const outcomes = await Promise.allSettled([replica(key, shared).open(token, alice), replica(key, shared).open(token, alice)])
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
  })

  it('a replica whose clock runs behind refuses a token spent on another after the token expired there (review: Redis forgot it with that expiry)', async () => {
    const key = randomBytes(32)
    const shared: SharedSpending = {spend: (id, ttlMs) => spendOnce(client, spentKey('vault-3', id), ttlMs)}
    const ahead = new RequestStateSealer(key, {ttlMs: 300, replay: new ReplicatedReplayGuard(new MemoryReplayGuard(), () => shared)})
    const behind = new RequestStateSealer(key, {now: () => Date.now() - 30_000, replay: new ReplicatedReplayGuard(new MemoryReplayGuard(), () => shared)})
    const token = ahead.seal(alice, 'once')
    await ahead.open(token, alice)
    await new Promise((resolve) => setTimeout(resolve, 500))
    await assert.rejects(behind.open(token, alice), (err: unknown) => err instanceof RequestStateRefused && err.reason === 'replayed')
  })

  it('without an answer from Redis each replica still refuses its own replays', async () => {
    const key = randomBytes(32)
    const a = replica(key, {spend: async () => undefined})
    const token = a.seal(alice, 1)
    await a.open(token, alice)
    await assert.rejects(a.open(token, alice), /replayed|Invalid or expired/)
  })
})
