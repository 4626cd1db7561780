/**
 * Scale-out (issue 12): several `keyward serve` replicas, each with its own copy of the vault
 * and its own state, as on separate hosts, sharing a real Redis started for each test.
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {Redis} from 'ioredis'

import {vaultAuditLog} from '../helpers/audit.js'
import {json, sleep} from '../helpers/cli.js'
import {Bed} from '../helpers/bed.js'
import {Cable, hasRedisServer, RedisServer} from '../helpers/redis.js'
import {post, type RunningServe} from '../helpers/server.js'

const CALL = {jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'get_time', arguments: {}}}

describe('scale-out on Redis', function () {
  this.timeout(120_000)
  const bed = new Bed()
  let redis: RedisServer
  const extra: {close(): unknown}[] = []

  before(function () {
    if (hasRedisServer()) return
    // CI installs redis-server (.ci/run) and sets KEYWARD_REQUIRE_REDIS: there, a missing one fails.
    if (process.env.KEYWARD_REQUIRE_REDIS) throw new Error('redis-server is not installed: apt-get install redis-server')
    console.warn('    redis-server is not installed (apt-get install redis-server): these tests are skipped')
    this.skip()
  })

  beforeEach(async () => {
    await bed.setUp()
    redis = await RedisServer.start()
  })

  afterEach(async () => {
    await bed.tearDown()
    await Promise.all(extra.splice(0).map((e) => e.close()))
    await redis.kill()
  })

  /** A replica as on its own host: its own copy of the vault, its own state (ledger, audit log). */
  async function replica(i: number, redisUrl = redis.url, args: string[] = []): Promise<RunningServe & {dir: string}> {
    const dir = bed.box.path(`replica${i}`)
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
    await fs.copyFile(bed.box.vault, path.join(dir, 'vault.json'))
    const s = await bed.serve(['--vault', path.join(dir, 'vault.json'), '--redis', redisUrl, '--stateless', ...args], {XDG_STATE_HOME: path.join(dir, 'state')})
    return Object.assign(s, {dir})
  }

  const status = async (s: RunningServe, key: string) => (await post(s.url, CALL, {'x-api-key': key})).status
  const health = async (s: RunningServe) => (await (await fetch(s.url.replace('/mcp', '/healthz'))).json()) as {status: string; redis: string}

  async function until(check: () => Promise<boolean>, ms: number): Promise<number | undefined> {
    const start = Date.now()
    while (Date.now() - start < ms) {
      if (await check()) return Date.now() - start
      await sleep(20)
    }
    return undefined
  }

  it('a key revoked through the CLI is refused by all 3 replicas within 1 s; keyward status lists them', async () => {
    const key = await bed.key('shared')
    const replicas = [await replica(1), await replica(2), await replica(3)]
    for (const r of replicas) assert.equal(await status(r, key), 200)
    await until(async () => json(await bed.box.run(['status', '--redis', redis.url, '--json'])).replicas.length === 3, 5000)
    const listed = json(await bed.cli(['status', '--redis', redis.url, '--json']))
    assert.equal(listed.replicas.length, 3)
    assert.ok(listed.replicas.every((r: {redis: string; generation: number}) => r.redis === 'ok' && r.generation > 0))
    await bed.cli(['keys', 'revoke', 'shared', '--yes', '--redis', redis.url])
    const times = await Promise.all(replicas.map((r) => until(async () => (await status(r, key)) === 401, 3000)))
    const worst = Math.max(...times.map((t) => t ?? Number.POSITIVE_INFINITY))
    console.log(`      revocation seen by all 3 replicas ${worst} ms after the CLI returned (each: ${times.join(', ')} ms)`)
    assert.ok(worst < 1000, `slowest replica: ${worst} ms`)
    // Each replica took the new vault into its own file.
    const generation = json(await bed.cli(['vault', 'status', '--json'])).generation
    for (const r of replicas) assert.equal(json(await bed.cli(['vault', 'status', '--vault', path.join(r.dir, 'vault.json'), '--json'])).generation, generation)
  })

  it('a 600/min limit spread over 3 replicas admits 600, not 1800', async () => {
    await bed.cli(['config', 'set', 'ratelimit.api-key', '600/min'])
    const key = await bed.key('limited')
    const replicas = [await replica(1), await replica(2), await replica(3)]
    let admitted = 0
    let refused = 0
    for (let round = 0; round < 30; round++) {
      const batch = Array.from({length: 30}, (_, i) => status(replicas[i % 3], key))
      for (const code of await Promise.all(batch)) code === 200 ? admitted++ : code === 429 ? refused++ : assert.fail(`status ${code}`)
    }
    console.log(`      900 requests over 3 replicas: ${admitted} admitted, ${refused} refused`)
    assert.ok(admitted >= 570 && admitted <= 630, `admitted ${admitted}`)
  })

  it('when Redis dies, valid keys keep working on every replica under local limits; when it is back, counting is shared again', async () => {
    await bed.cli(['config', 'set', 'ratelimit.api-key', '3000/min'])
    const key = await bed.key('busy')
    const small = await bed.key('small', '--rate', '30/min')
    const replicas = [await replica(1), await replica(2), await replica(3)]
    // Every replica must have counted the others (a heartbeat every 2 s) to know its share.
    await until(async () => json(await bed.box.run(['status', '--redis', redis.url, '--json'])).replicas.length === 3, 5000)
    await sleep(2200)
    // Under load, then Redis is killed.
    const load = (n: number) => Promise.all(Array.from({length: n}, (_, i) => status(replicas[i % 3], key)))
    assert.deepEqual(new Set(await load(30)), new Set([200]))
    const during = load(60)
    await redis.kill()
    assert.deepEqual(new Set(await during), new Set([200]))
    assert.deepEqual(new Set(await load(60)), new Set([200]), 'valid keys work without Redis')
    for (const r of replicas) assert.notEqual((await health(r)).redis, 'ok')
    for (const r of replicas) assert.equal((await health(r)).status, 'ok', 'healthy without Redis')
    // The share of a 30/min limit each replica holds alone is 10.
    const alone: number[] = []
    for (let i = 0; i < 12; i++) alone.push(await status(replicas[0], small))
    assert.deepEqual(alone.filter((c) => c === 200).length, 10)
    await redis.restart()
    for (const r of replicas) assert.ok((await until(async () => (await health(r)).redis === 'ok', 8000)) !== undefined, 'back to ok')
    const shared: number[] = []
    const fresh = await bed.key('fresh', '--rate', '30/min', '--redis', redis.url)
    for (const r of replicas) await until(async () => (await status(r, fresh)) !== 401, 5000)
    for (let i = 0; i < 60; i++) shared.push(await status(replicas[i % 3], fresh))
    // One request per replica went to waiting for the key above; the rest share one count of 30.
    const admittedShared = shared.filter((c) => c === 200).length
    assert.ok(admittedShared >= 26 && admittedShared <= 30, `admitted ${admittedShared} of 60 after Redis came back`)
    const logs = replicas[0].logs()
    assert.equal(logs.match(/redis: lost/g)?.length, 1, 'warned once')
    const audit = await fs.readFile(vaultAuditLog(path.join(replicas[0].dir, 'vault.json'), path.join(replicas[0].dir, 'state')), 'utf8')
    assert.equal(audit.match(/"event":"redis.degraded"/g)?.length, 1, 'audited once')
    assert.equal(audit.match(/"event":"redis.restored"/g)?.length, 1)
  })

  it('a replica cut off from Redis during a revocation catches up when it reconnects', async () => {
    const key = await bed.key('victim')
    const cable = await Cable.to(redis.port)
    extra.push({close: () => cable.cut()})
    const [a, b] = [await replica(1), await replica(2)]
    const c = await replica(3, cable.url)
    for (const r of [a, b, c]) assert.equal(await status(r, key), 200)
    await cable.cut()
    await sleep(200)
    await bed.cli(['keys', 'revoke', 'victim', '--yes', '--redis', redis.url])
    for (const r of [a, b]) assert.ok((await until(async () => (await status(r, key)) === 401, 1000)) !== undefined)
    assert.equal(await status(c, key), 200, 'the cut-off replica has not heard')
    await cable.mend()
    const caughtUp = await until(async () => (await status(c, key)) === 401, 8000)
    console.log(`      the cut-off replica refused the key ${caughtUp} ms after its link came back`)
    assert.ok(caughtUp !== undefined, 'it caught up by generation')
  })

  it('an older vault published on Redis is refused, and so is a forged newer notice carrying an older copy', async () => {
    const key = await bed.key('old')
    const old = await fs.readFile(bed.box.vault)
    const r = await replica(1)
    await bed.cli(['keys', 'revoke', 'old', '--yes', '--redis', redis.url])
    assert.ok((await until(async () => (await status(r, key)) === 401, 1000)) !== undefined)
    const vaultId = json(await bed.cli(['vault', 'status', '--json'])).vaultId
    const serving = json(await bed.cli(['vault', 'status', '--json'])).generation
    const client = new Redis(redis.url)
    extra.push({close: () => client.disconnect()})
    await client.hset(`keyward:vault:${vaultId}`, 'generation', String(serving - 1), 'bytes', old.toString('base64'))
    await client.publish(`keyward:vault:${vaultId}:changes`, JSON.stringify({generation: serving - 1, revoked: []}))
    await until(async () => /refused a notice of generation/.test(r.logs()), 3000)
    assert.match(r.logs(), new RegExp(`refused a notice of generation ${serving - 1}, older than the generation ${serving}`))
    await client.hset(`keyward:vault:${vaultId}`, 'generation', String(serving + 5))
    await client.publish(`keyward:vault:${vaultId}:changes`, JSON.stringify({generation: serving + 5, revoked: []}))
    await sleep(800)
    assert.equal(await status(r, key), 401, 'the revoked key stays refused')
    assert.equal(json(await bed.cli(['vault', 'status', '--vault', path.join(r.dir, 'vault.json'), '--json'])).generation, serving)
  })
})

describe('Redis settings', function () {
  this.timeout(60_000)
  const bed = new Bed()
  beforeEach(() => bed.setUp())
  afterEach(() => bed.tearDown())

  it('a Redis password is never taken from the command line or a setting, and never shown', async () => {
    const {resolveRedis} = await import('../../src/redis/url.js')
    const fromEnv = resolveRedis(undefined, undefined, undefined, {KEYWARD_REDIS_URL: 'rediss://:hunter2-pw@redis.internal:6380'})!
    assert.equal(fromEnv.password, 'hunter2-pw')
    assert.equal(fromEnv.display, 'rediss://default:***@redis.internal:6380')
    assert.equal(resolveRedis('redis://10.0.0.5:6379', 'redis://elsewhere:6379', 'vault-pw', {KEYWARD_REDIS_URL: 'redis://env:6379'})!.url, 'redis://10.0.0.5:6379', 'the flag wins')
    assert.equal(resolveRedis(undefined, 'redis://configured:6379', 'vault-pw', {})!.password, 'vault-pw')
    let r = await bed.box.run(['status', '--redis', 'redis://:hunter2-pw@127.0.0.1:1'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /must not carry a password/)
    assert.ok(!(r.stdout + r.stderr).includes('hunter2'))
    r = await bed.box.run(['config', 'set', 'redis.url', 'redis://:hunter2-pw@127.0.0.1:6379'])
    assert.equal(r.code, 2)
    assert.ok(!(r.stdout + r.stderr).includes('hunter2'))
    r = await bed.box.run(['config', 'set', 'redis.url', 'http://127.0.0.1:6379'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /redis:\/\/ or rediss:\/\//)
    r = await bed.box.run(['config', 'set', 'redis.password', 'hunter2-pw'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /secret:NAME/)
  })
})
