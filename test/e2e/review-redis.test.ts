/**
 * Review of scale-out on Redis (issue 15, items 1 to 3) as a hostile Redis writer, against a real
 * redis-server and the built `keyward serve`. Each test fails on the code as reviewed and should
 * pass once the defect is fixed.
 */
import assert from 'node:assert/strict'
import {constants as fsConstants, promises as fs} from 'node:fs'
import path from 'node:path'

import {Redis} from 'ioredis'

import {Bed} from '../helpers/bed.js'
import {json, sleep} from '../helpers/cli.js'
import {hasRedisServer, RedisServer} from '../helpers/redis.js'
import {post, type RunningServe} from '../helpers/server.js'

const CALL = {jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'get_time', arguments: {}}}

describe('review: a hostile Redis writer', function () {
  this.timeout(120_000)
  const bed = new Bed()
  let redis: RedisServer
  let attacker: Redis

  before(function () {
    if (!hasRedisServer()) this.skip()
  })

  beforeEach(async () => {
    await bed.setUp()
    redis = await RedisServer.start()
    attacker = new Redis(redis.url)
    attacker.on('error', () => {})
  })

  afterEach(async () => {
    attacker.disconnect()
    await bed.tearDown()
    await redis.kill()
  })

  /** A replica as on its own host: its own copy of the vault and its own state. */
  async function replica(args: string[] = []): Promise<RunningServe> {
    const dir = bed.box.path('replica')
    const file = path.join(dir, 'vault.json')
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
    await fs.copyFile(bed.box.vault, file, fsConstants.COPYFILE_EXCL)
    return bed.serve(['--vault', file, '--redis', redis.url, '--stateless', ...args], {XDG_STATE_HOME: path.join(dir, 'state')})
  }

  const vaultId = async () => json(await bed.cli(['vault', 'status', '--json'])).vaultId as string
  const replicaKeys = async (id: string) => attacker.keys(`keyward:replica:${id}:*`)

  async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
    for (const start = Date.now(); Date.now() - start < ms; await sleep(50)) if (await check()) return true
    return false
  }

  it('copies of one genuine heartbeat under other names are neither listed as more replicas nor counted for rate-limit shares', async () => {
    await bed.cli(['config', 'set', 'ratelimit.api-key', '20/min'])
    const key = await bed.key('client')
    const id = await vaultId()
    const s = await replica()
    assert.ok(await until(async () => (await replicaKeys(id)).length === 1, 5000), 'the replica beats')
    const [genuine] = await replicaKeys(id)
    // The attacker re-copies the replica's own (authentic) record under 9 other names, keeping them fresh.
    let copying = true
    const copier = (async () => {
      while (copying) {
        const value = await attacker.get(genuine)
        if (value) for (let i = 0; i < 9; i++) await attacker.set(`keyward:replica:${id}:copy${i}`, value, 'EX', 60)
        await sleep(200)
      }
    })()
    let listed: number
    try {
      await sleep(2500) // a heartbeat of the replica counts the live replicas
      listed = json(await bed.cli(['status', '--redis', redis.url, '--json'])).replicas.length
    } finally {
      copying = false
      await copier
    }
    // Redis goes away: the replica falls back to its share of 20/min, which for 1 replica is all 20.
    await redis.kill()
    let admitted = 0
    for (let i = 0; i < 20; i++) if ((await post(s.url, CALL, {'x-api-key': key})).status === 200) admitted++
    assert.deepEqual(
      {listed, shareHeld: admitted >= 15},
      {listed: 1, shareHeld: true},
      `keyward status lists ${listed} replicas for 1 running; with Redis gone, ${admitted} of 20 calls admitted (the copies shrank the replica's share of 20/min)`,
    )
  })

  it('a huge value under the heartbeat prefix is not downloaded by every replica every 2 s', async () => {
    const id = await vaultId()
    const s = await replica()
    assert.ok(await until(async () => (await replicaKeys(id)).length === 1, 5000), 'the replica beats')
    await attacker.set(`keyward:replica:${id}:junk`, `{"x":"${'x'.repeat(64 * 1024 * 1024)}"}`)
    const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await attacker.info('stats'))![1])
    const before = await sent()
    let worst = 0
    for (const start = Date.now(); Date.now() - start < 5000; await sleep(100)) {
      const t = Date.now()
      await fetch(s.url.replace('/mcp', '/healthz'))
      worst = Math.max(worst, Date.now() - t)
    }
    const downloaded = (await sent()) - before
    console.log(`      Redis sent ${Math.round(downloaded / 2 ** 20)} MiB in 5 s; /healthz took up to ${worst} ms`)
    assert.ok(downloaded < 16 * 2 ** 20, `Redis sent ${Math.round(downloaded / 2 ** 20)} MiB to the replica in 5 s`)
  })

  it('a deeply nested JSON value under the heartbeat prefix makes `keyward status` neither crash nor hide the replicas', async () => {
    const id = await vaultId()
    await replica()
    assert.ok(await until(async () => (await replicaKeys(id)).length === 1, 5000), 'the replica beats')
    const depth = 200_000
    await attacker.set(`keyward:replica:${id}:deep`, `{"vaultId":"${id}","at":1,"generation":1,"x":${'['.repeat(depth)}${']'.repeat(depth)}}`)
    const r = await bed.box.run(['status', '--redis', redis.url, '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal(json(r).replicas.length, 1)
    assert.equal(json(r).unauthenticated, 1)
  })
})
