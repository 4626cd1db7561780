/**
 * Scale-out (issue 12): several `keyward serve` replicas, each with its own copy of the vault
 * and its own state, as on separate hosts, sharing a real Redis started for each test.
 */
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {constants as fsConstants, promises as fs} from 'node:fs'
import path from 'node:path'

import {Redis} from 'ioredis'

import {publishVaultBytes} from '../../src/cli/replicas.js'
import {isKeywardError} from '../../src/errors/index.js'
import {noticeMessage} from '../../src/redis/notice.js'
import {clusterKeyOf, sign} from '../../src/redis/signing.js'
import {resolveRedis} from '../../src/redis/url.js'
import {MAX_COPY_BYTES, vaultChannel, vaultKey} from '../../src/redis/vault-copy.js'
import {loadKeyFile, openVault} from '../../src/vault/index.js'
import {vaultAuditLog} from '../helpers/audit.js'
import {json, sleep} from '../helpers/cli.js'
import {Bed} from '../helpers/bed.js'
import {Cable, freePort, needRedisServer, RedisServer} from '../helpers/redis.js'
import {post, type RunningServe} from '../helpers/server.js'

const CALL = {jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'get_time', arguments: {}}}

describe('scale-out on Redis', function () {
  this.timeout(120_000)
  const bed = new Bed()
  let redis: RedisServer
  const extra: {close(): unknown}[] = []

  before(needRedisServer)

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
  async function replica(i: number, redisUrl = redis.url, args: string[] = []): Promise<RunningServe & {dir: string; file: string}> {
    const dir = bed.box.path(`replica${i}`)
    const file = path.join(dir, 'vault.json')
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
    // A replica started again keeps the copy it has.
    await fs.copyFile(bed.box.vault, file, fsConstants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => assert.equal(err.code, 'EEXIST'))
    const channel = vaultChannel(json(await bed.cli(['vault', 'status', '--json'])).vaultId)
    const subscribers = async () => Number(((await watcher().pubsub('NUMSUB', channel)) as [string, number])[1])
    const before = await subscribers()
    const s = await bed.serve(['--vault', file, '--redis', redisUrl, '--stateless', ...args], {XDG_STATE_HOME: path.join(dir, 'state')})
    // Listening comes before the replica has subscribed to the vault's notices: wait for that too.
    assert.ok((await until(async () => (await subscribers()) > before, 3000)) !== undefined, 'the replica subscribed')
    return Object.assign(s, {dir, file})
  }

  let watching: Redis | undefined
  /** One client of the test's Redis for looking on (not an attacker). */
  function watcher(): Redis {
    if (!watching) {
      const client = new Redis(redis.url)
      client.on('error', () => {}) // Redis is killed on purpose in some tests
      watching = client
      extra.push({close: () => (client.disconnect(), (watching = undefined))})
    }
    return watching
  }

  /** What only a holder of the vault can make: its cluster key, with its id, generation and file. */
  async function holder() {
    const vault = await openVault(bed.box.vault, await loadKeyFile(bed.box.env.KEYWARD_KEY_FILE))
    const vaultId = vault.header.vault_id
    return {key: clusterKeyOf(vault.data, vaultId)!, vaultId, generation: vault.generation, bytes: await fs.readFile(bed.box.vault)}
  }

  /** A client of the test's Redis, as a Redis writer (an attacker, or a holder of the vault) uses it. */
  function redisClient(): Redis {
    const client = new Redis(redis.url)
    client.on('error', () => {})
    extra.push({close: () => client.disconnect()})
    return client
  }

  const keyId = async (name: string) => json(await bed.cli(['keys', 'show', name, '--json'])).key.id as string
  const generationOf = async (file: string) => json(await bed.cli(['vault', 'status', '--vault', file, '--json'])).generation as number
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

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

  it('an older copy or notice, even a genuine one, is refused; so is a signed stamp that claims more than its copy holds', async () => {
    const key = await bed.key('old')
    const old = await holder()
    const r = await replica(1)
    await bed.cli(['keys', 'revoke', 'old', '--yes', '--redis', redis.url])
    assert.ok((await until(async () => (await status(r, key)) === 401, 1000)) !== undefined)
    const serving = (await holder()).generation
    // The notice refuses the key before the replica has taken the copy: wait until it serves it.
    assert.ok((await until(async () => new RegExp(`reloaded \\S+ \\(generation ${serving}\\)`).test(r.logs()), 2000)) !== undefined, r.logs())
    const client = redisClient()
    const stamp = (generation: number, bytes: Buffer) => sign(old.key, 'copy', [old.vaultId, generation, sha256(bytes)])
    await client.hset(vaultKey(old.vaultId), {generation: old.generation, digest: sha256(old.bytes), mac: stamp(old.generation, old.bytes), bytes: old.bytes.toString('base64')})
    await client.publish(vaultChannel(old.vaultId), noticeMessage(old.key, {vaultId: old.vaultId, generation: old.generation, revoked: []}))
    await until(async () => /refused a notice of generation/.test(r.logs()), 3000)
    assert.match(r.logs(), new RegExp(`refused a notice of generation ${old.generation}, older than the generation ${serving}`))
    // A stamp (made with the key) that says "newer" over older bytes: the bytes' own authenticated generation decides.
    await client.hset(vaultKey(old.vaultId), {generation: serving + 5, mac: stamp(serving + 5, old.bytes)})
    await client.publish(vaultChannel(old.vaultId), noticeMessage(old.key, {vaultId: old.vaultId, generation: serving + 5, revoked: []}))
    await until(async () => /the vault file is as new as the copy of generation/.test(r.logs()), 3000)
    assert.equal(await status(r, key), 401, 'the revoked key stays refused')
    assert.equal(await generationOf(r.file), serving)
  })

  describe('what a Redis writer cannot do', () => {
    it('bump the generation in Redis to stop revocations: the CLI still stores and publishes, and a replica with its own copy refuses the key within 1 s, also after a restart', async () => {
      const first = await bed.key('first')
      const second = await bed.key('second')
      let r = await replica(1)
      const {vaultId} = await holder()
      const client = redisClient()
      // The attack of issue 15, on an empty Redis, then over a genuine copy.
      await client.hset(vaultKey(vaultId), 'generation', '999999')
      const revoked = await bed.box.run(['keys', 'revoke', 'first', '--yes', '--redis', redis.url])
      assert.equal(revoked.code, 0, revoked.stderr)
      const took = await until(async () => (await status(r, first)) === 401, 1000)
      console.log(`      revocation past a forged generation reached the replica ${took} ms after the CLI returned`)
      assert.ok(took !== undefined, 'refused within 1 s')
      await client.hset(vaultKey(vaultId), 'generation', '999999')
      await bed.cli(['keys', 'revoke', 'second', '--yes', '--redis', redis.url])
      assert.ok((await until(async () => (await status(r, second)) === 401, 1000)) !== undefined, 'refused within 1 s over a bumped genuine copy')
      const generation = (await holder()).generation
      assert.equal(await client.hget(vaultKey(vaultId), 'generation'), String(generation), 'the CLI replaced the forged stamp')
      assert.ok((await until(async () => (await generationOf(r.file)) === generation, 2000)) !== undefined, 'the replica took the copy into its own file')
      await r.stop()
      r = await replica(1)
      assert.equal(await status(r, first), 401, 'still refused after a restart')
      assert.equal(await status(r, second), 401)
    })

    it('revoke a key with a forged notice: nothing changes, nothing is fetched, and it is logged once per window', async () => {
      const key = await bed.key('target')
      const id = await keyId('target')
      const r = await replica(1)
      const before = await fs.readFile(r.file)
      const {vaultId, key: clusterKey} = await holder()
      const client = redisClient()
      const forged = [
        JSON.stringify({generation: 100, revoked: [id]}), // issue 15's attack
        JSON.stringify({generation: 100, revoked: [id], mac: 'A'.repeat(43)}),
        noticeMessage(randomBytes(32), {vaultId, generation: 100, revoked: [id]}), // another key
        JSON.stringify({generation: 100, revoked: [id], mac: sign(clusterKey, 'copy', [vaultId, 100, id])}), // this key, another purpose
        JSON.stringify({...JSON.parse(noticeMessage(clusterKey, {vaultId, generation: 100, revoked: []})), revoked: [id]}), // a genuine MAC, ids added
        'not json',
      ]
      for (let i = 0; i < 24; i++) await client.publish(vaultChannel(vaultId), forged[i % forged.length])
      await sleep(600)
      assert.equal(await status(r, key), 200, 'the key still works')
      assert.deepEqual(await fs.readFile(r.file), before, 'the replica file is as it was')
      assert.equal(await client.exists(vaultKey(vaultId)), 0)
      assert.equal(r.logs().match(/ignored a vault notice that failed authentication/g)?.length, 1, `logged once:\n${r.logs()}`)
      assert.doesNotMatch(r.logs(), /revoked \(generation/)
    })

    it('(the notice alone) a signed notice makes a replica refuse the keys it names within 1 s, with no copy in Redis and no change to its file', async () => {
      const key = await bed.key('noticed')
      const id = await keyId('noticed')
      const r = await replica(1)
      const before = await fs.readFile(r.file)
      const h = await holder()
      const client = redisClient()
      await client.publish(vaultChannel(h.vaultId), noticeMessage(h.key, {vaultId: h.vaultId, generation: h.generation + 1, revoked: [id]}))
      assert.ok((await until(async () => (await status(r, key)) === 401, 1000)) !== undefined, 'refused within 1 s')
      assert.equal(await client.exists(vaultKey(h.vaultId)), 0, 'no copy to catch up from')
      assert.deepEqual(await fs.readFile(r.file), before, 'no vault arrived: the notice alone did it')
    })

    it('replay a genuine notice: after a restore brings a key back, its old revocation is refused and the key keeps working', async () => {
      const key = await bed.key('comeback')
      const r = await replica(1)
      const {vaultId} = await holder()
      const listener = redisClient()
      const heard: string[] = []
      listener.on('message', (_channel: string, message: string) => heard.push(message))
      await listener.subscribe(vaultChannel(vaultId))
      await bed.cli(['keys', 'revoke', 'comeback', '--yes', '--redis', redis.url])
      assert.ok((await until(async () => (await status(r, key)) === 401, 1000)) !== undefined)
      assert.ok((await until(async () => heard.length === 1, 1000)) !== undefined)
      const revocation = heard[0]
      await bed.cli(['vault', 'restore', '--yes', '--redis', redis.url])
      assert.ok((await until(async () => (await status(r, key)) === 200, 2000)) !== undefined, 'the restored vault is the authority: the key works again')
      await redisClient().publish(vaultChannel(vaultId), revocation)
      await sleep(500)
      assert.equal(await status(r, key), 200, 'the replayed revocation changed nothing')
      assert.match(r.logs(), new RegExp(`refused a notice of generation ${JSON.parse(revocation).generation}, older than`))
    })

    it('make a replica take a copy that does not unlock: refused unstamped before any unlock, refused stamped by the unlock; the file keeps its bytes', async () => {
      const key = await bed.key('kept')
      const r = await replica(1)
      const before = await fs.readFile(r.file)
      const h = await holder()
      const client = redisClient()
      // The genuine file with its header's generation raised: it parses, and fails authentication.
      const tampered = Buffer.from(JSON.stringify({...JSON.parse(h.bytes.toString('utf8')), generation: h.generation + 1}, null, 2) + '\n')
      const notice = noticeMessage(h.key, {vaultId: h.vaultId, generation: h.generation + 1, revoked: []})
      await client.hset(vaultKey(h.vaultId), {generation: h.generation + 1, digest: sha256(tampered), mac: 'x', bytes: tampered.toString('base64')})
      await client.publish(vaultChannel(h.vaultId), notice)
      assert.ok((await until(async () => /refused the vault copy in Redis: its stamp failed authentication/.test(r.logs()), 2000)) !== undefined, r.logs())
      await client.hset(vaultKey(h.vaultId), 'mac', sign(h.key, 'copy', [h.vaultId, h.generation + 1, sha256(tampered)]))
      await client.publish(vaultChannel(h.vaultId), notice)
      assert.ok((await until(async () => /did not take the vault copy in Redis \(VAULT_DAMAGED/.test(r.logs()), 2000)) !== undefined, r.logs())
      assert.deepEqual(await fs.readFile(r.file), before, 'the replica file keeps its bytes')
      assert.equal(await status(r, key), 200)
    })

    it('fake replicas in keyward status, or hide one that is behind or silent: forged heartbeats are not shown, and lagging replicas are WARNINGs', async () => {
      const a = await replica(1)
      const b = await replica(2)
      const {vaultId} = await holder()
      await until(async () => json(await bed.box.run(['status', '--redis', redis.url, '--json'])).replicas.length === 2, 5000)
      const client = redisClient()
      const genuine = JSON.parse((await client.get((await client.keys(`keyward:replica:${vaultId}:*`))[0]))!)
      await client.set(`keyward:replica:${vaultId}:ghost`, JSON.stringify({...genuine, id: 'ghost', host: 'ghost'}), 'EX', 60)
      // Two changes the replicas are not told of, and one replica that stops beating.
      await bed.cli(['config', 'set', 'ratelimit.api-key', '1000/min'])
      await bed.cli(['config', 'set', 'ratelimit.api-key', '900/min'])
      b.child.kill('SIGSTOP')
      let report
      let text
      try {
        await sleep(7000)
        report = json(await bed.cli(['status', '--redis', redis.url, '--json']))
        text = (await bed.cli(['status', '--redis', redis.url])).stdout
      } finally {
        b.child.kill('SIGCONT')
      }
      assert.equal(report.replicas.length, 2, 'the forged heartbeat is not a replica')
      assert.ok(!report.replicas.some((x: {host: string}) => x.host === 'ghost'))
      assert.equal(report.unauthenticated, 1)
      const [ra, rb] = [a, b].map((s) => report.replicas.find((x: {pid: number}) => x.pid === s.child.pid))
      assert.equal(ra.state, 'warning')
      assert.match(ra.warnings.join(), /2 generations behind/)
      assert.equal(rb.state, 'warning')
      assert.match(rb.warnings.join(), /not heard from for \d+s/)
      assert.equal(report.warnings, 2)
      assert.match(text, /WARNING: 2 generations behind/)
      assert.match(text, /not heard from for/)
      assert.match(text, /1 heartbeat record\(s\) failed authentication and are not shown/)
      assert.doesNotMatch(text, /ghost/)
      // Published now, both catch up, and the warnings go.
      await bed.cli(['status', '--publish', '--redis', redis.url])
      const clean = await until(async () => {
        const now = json(await bed.box.run(['status', '--redis', redis.url, '--json']))
        return now.replicas.length === 2 && now.replicas.every((x: {state: string}) => x.state === 'ok')
      }, 5000)
      assert.ok(clean !== undefined, 'no warnings once both caught up')
    })

    it('count one replica as many by copying its genuine heartbeat under other names: listed once, and its rate-limit share holds', async () => {
      await bed.cli(['config', 'set', 'ratelimit.api-key', '20/min'])
      const key = await bed.key('client')
      const s = await replica(1)
      const {vaultId} = await holder()
      const client = redisClient()
      const replicaKeys = () => client.keys(`keyward:replica:${vaultId}:*`)
      assert.ok((await until(async () => (await replicaKeys()).length === 1, 5000)) !== undefined, 'the replica beats')
      const [genuine] = await replicaKeys()
      // The attacker re-copies the replica's own (authentic) record under 9 other names, keeping them fresh.
      let copying = true
      const copier = (async () => {
        while (copying) {
          const value = await client.get(genuine)
          if (value) for (let i = 0; i < 9; i++) await client.set(`keyward:replica:${vaultId}:copy${i}`, value, 'EX', 60)
          await sleep(200)
        }
      })()
      let report
      try {
        await sleep(2500) // a heartbeat of the replica counts the live replicas
        report = json(await bed.cli(['status', '--redis', redis.url, '--json']))
      } finally {
        copying = false
        await copier
      }
      // Redis goes away: the replica falls back to its share of 20/min, which for 1 replica is all 20.
      await redis.kill()
      let admitted = 0
      for (let i = 0; i < 20; i++) if ((await status(s, key)) === 200) admitted++
      assert.deepEqual(
        {listed: report.replicas.length, unauthenticated: report.unauthenticated, shareHeld: admitted >= 15},
        {listed: 1, unauthenticated: 9, shareHeld: true},
        `keyward status lists ${report.replicas.length} replicas for 1 running; with Redis gone, ${admitted} of 20 calls admitted`,
      )
    })

    it('stall or bloat every replica with a huge value under the heartbeat prefix: it is judged by its length in Redis and never sent', async () => {
      const s = await replica(1)
      const {vaultId} = await holder()
      const client = redisClient()
      assert.ok((await until(async () => (await client.keys(`keyward:replica:${vaultId}:*`)).length === 1, 5000)) !== undefined, 'the replica beats')
      await client.set(`keyward:replica:${vaultId}:junk`, `{"x":"${'x'.repeat(64 * 1024 * 1024)}"}`)
      const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await client.info('stats'))![1])
      const before = await sent()
      let worst = 0
      for (const start = Date.now(); Date.now() - start < 5000; await sleep(100)) {
        const t = Date.now()
        await fetch(s.url.replace('/mcp', '/healthz'))
        worst = Math.max(worst, Date.now() - t)
      }
      const report = json(await bed.cli(['status', '--redis', redis.url, '--json']))
      const downloaded = (await sent()) - before
      console.log(`      Redis sent ${Math.round(downloaded / 2 ** 20)} MiB in 5 s; /healthz took up to ${worst} ms`)
      assert.ok(downloaded < 16 * 2 ** 20, `Redis sent ${Math.round(downloaded / 2 ** 20)} MiB to the replica in 5 s`)
      assert.deepEqual([report.replicas.length, report.unauthenticated], [1, 1])
    })

    it('flood the heartbeat prefix: a look reads at most 1000 records, and keyward status says its list may be incomplete', async () => {
      await replica(1)
      const {vaultId} = await holder()
      const client = redisClient()
      const pipeline = client.pipeline()
      for (let i = 0; i < 3000; i++) pipeline.set(`keyward:replica:${vaultId}:flood${i}`, '{}', 'EX', 60)
      await pipeline.exec()
      const r = await bed.box.run(['status', '--redis', redis.url, '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(json(r).truncated, true)
      assert.ok(json(r).unauthenticated <= 1000, `${json(r).unauthenticated} records judged`)
      assert.match((await bed.cli(['status', '--redis', redis.url])).stdout, /more heartbeat records of this vault than one status reads/)
    })

    it('crash keyward status with a deeply nested JSON value under the heartbeat prefix: its shape is checked first, and it counts as failing authentication', async () => {
      await replica(1)
      const {vaultId} = await holder()
      const client = redisClient()
      assert.ok((await until(async () => (await client.keys(`keyward:replica:${vaultId}:*`)).length === 1, 5000)) !== undefined, 'the replica beats')
      // Under the size limit, nested deep enough to overflow a recursive canonicalisation.
      const depth = 1500
      await client.set(`keyward:replica:${vaultId}:deep`, `{"vaultId":"${vaultId}","at":1,"generation":1,"x":${'['.repeat(depth)}${']'.repeat(depth)}}`)
      const huge = 200_000
      await client.set(`keyward:replica:${vaultId}:deeper`, `{"vaultId":"${vaultId}","at":1,"generation":1,"x":${'['.repeat(huge)}${']'.repeat(huge)}}`)
      const r = await bed.box.run(['status', '--redis', redis.url, '--json'])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(json(r).replicas.length, 1)
      assert.equal(json(r).unauthenticated, 2)
    })

    it('bloat a replica with a vault copy larger than a vault may be: refused by its length in Redis, before it is sent, even under a genuine stamp', async () => {
      const r = await replica(1)
      const h = await holder()
      const client = redisClient()
      const bytes = Buffer.alloc(Math.ceil(MAX_COPY_BYTES / 3) * 3 + 3, 0x41)
      const encoded = bytes.toString('base64')
      // A stamp a holder made (a replay, say) over more bytes than any vault that travels through Redis.
      await client.hset(vaultKey(h.vaultId), {generation: h.generation + 1, digest: sha256(bytes), mac: sign(h.key, 'copy', [h.vaultId, h.generation + 1, sha256(bytes)]), bytes: encoded})
      const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await client.info('stats'))![1])
      const before = await sent()
      await client.publish(vaultChannel(h.vaultId), noticeMessage(h.key, {vaultId: h.vaultId, generation: h.generation + 1, revoked: []}))
      assert.ok((await until(async () => /did not take the vault copy in Redis \(the copy in Redis is not a vault this replica takes/.test(r.logs()), 3000)) !== undefined, r.logs())
      const downloaded = (await sent()) - before
      assert.ok(downloaded < 2 ** 20, `Redis sent ${Math.round(downloaded / 2 ** 20)} MiB to the replica`)
    })

    it('two CLIs racing on one vault file: A finds B\'s later generation in Redis; A is told when that copy is its file as it is now, and otherwise says exactly what it cannot know', async () => {
      const closed = `redis://127.0.0.1:${await freePort()}`
      // A's change, its publication delayed (as by a slow network): the bytes A read back.
      assert.equal((await bed.box.run(['config', 'set', 'ratelimit.api-key', '100/min', '--redis', closed])).code, 29)
      const a = await holder()
      // B's change on the same file, published first.
      await bed.cli(['config', 'set', 'ratelimit.api-key', '200/min', '--redis', redis.url])
      const target = resolveRedis(redis.url, undefined, undefined)!
      const vault = await openVault(bed.box.vault, await loadKeyFile(bed.box.env.KEYWARD_KEY_FILE))
      const told = await publishVaultBytes(bed.box.vault, a.bytes, vault.data, [], target)
      assert.deepEqual(told, {generation: a.generation, stored: false})
      // C's change, not published yet: Redis holds B's copy, which the file has moved past.
      assert.equal((await bed.box.run(['config', 'set', 'ratelimit.api-key', '300/min', '--redis', closed])).code, 29)
      await assert.rejects(publishVaultBytes(bed.box.vault, a.bytes, vault.data, ['someKeyId'], target), (err: Error) => {
        assert.ok(isKeywardError(err) && err.code === 'REPLICAS_NOT_TOLD', err.message)
        assert.match(err.message, new RegExp(`Redis holds generation ${a.generation + 1} of this vault, written elsewhere, .*may not include this change`))
        assert.match(err.message, new RegExp(`replicas that serve generation ${a.generation} or later .* ignore its revocations`))
        assert.match(err.message, new RegExp(`this vault file is at generation ${a.generation + 2} now.*keyward status --publish`))
        return true
      })
    })

    it('a newer copy in Redis, changed from this generation elsewhere, is taken before a change (the write lease): the revocation lands on top of it and reaches the replicas', async () => {
      const key = await bed.key('apart')
      const other = bed.box.path('other', 'vault.json')
      await fs.mkdir(path.dirname(other), {recursive: true, mode: 0o700})
      await fs.copyFile(bed.box.vault, other)
      // The other copy changes first (with its own state: its rollback ledger), and reaches Redis.
      const elsewhere = {XDG_STATE_HOME: bed.box.path('other', 'state')}
      const stored = await bed.box.run(['config', 'set', 'ratelimit.api-key', '50/min', '--vault', other, '--redis', redis.url], {env: elsewhere})
      assert.equal(stored.code, 0, stored.stderr)
      const r = await replica(1)
      assert.equal(await status(r, key), 200)
      // Writers line up under the cluster's write lease and start from the newest authentic copy
      // (replicas write renewed upstream OAuth tokens the same way): nothing of the other change is lost.
      const revoked = await bed.box.run(['keys', 'revoke', 'apart', '--yes', '--redis', redis.url])
      assert.equal(revoked.code, 0, revoked.stderr)
      assert.equal(json(await bed.cli(['config', 'get', 'ratelimit.api-key', '--json'])).value, '50/min', 'the other copy’s change was kept')
      assert.equal((await holder()).generation, Number(await redisClient().hget(vaultKey((await holder()).vaultId), 'generation')), 'Redis holds this file now')
      assert.ok((await until(async () => (await status(r, key)) === 401, 3000)) !== undefined, 'the revocation reached the replica')
    })

    it('copies of the vault changed apart to the same generation (a copy in Redis that does not open here is not taken): exit 29 says Redis holds another copy of it, and that the revocation does not reach replicas serving it', async () => {
      await bed.key('apart')
      const h = await holder()
      // Authentic (signed with the cluster key), one generation ahead, but its bytes do not open with this vault's secret.
      const bytes = Buffer.from('{}')
      await redisClient().hset(vaultKey(h.vaultId), {generation: h.generation + 1, digest: sha256(bytes), mac: sign(h.key, 'copy', [h.vaultId, h.generation + 1, sha256(bytes)]), bytes: bytes.toString('base64')})
      const revoked = await bed.box.run(['keys', 'revoke', 'apart', '--yes', '--redis', redis.url])
      assert.equal(revoked.code, 29, revoked.stderr)
      const generation = h.generation + 1
      assert.equal((await holder()).generation, generation, 'the change was made on this file')
      assert.match(revoked.stderr, new RegExp(`Redis holds another generation ${generation} of this vault, written elsewhere from the same generation`))
      assert.match(revoked.stderr, new RegExp(`replicas that serve generation ${generation} or later \\(as Redis's copy, ${generation}\\) ignore its revocations`))
      // Publishing this file as it is would be refused the same way: the advice says what would help.
      assert.match(revoked.stderr, /Make the change on the vault file that copy comes from/)
    })

    it('a change the replicas cannot be told of exits 29 after its output; a notice still goes out when Redis holds an authentic newer copy', async () => {
      const closed = `redis://127.0.0.1:${await freePort()}`
      const generated = await bed.box.run(['keys', 'generate', '--name', 'untold', '--scope', 'full', '--json', '--redis', closed])
      assert.equal(generated.code, 29, generated.stderr)
      assert.match(json(generated).key, /^kw_/, 'the key was shown')
      assert.match(generated.stderr, /the change was made \(generation \d+\), but the replicas on redis:\/\/127\.0\.0\.1:\d+ were not told: Redis is unreachable/)
      assert.equal(generated.stderr.trim().split('\n').length, 1, 'one line')
      const key = await bed.key('raced')
      const r = await replica(1)
      const h = await holder()
      // A holder's copy stamped newer than anything the CLI will write (its bytes do not unlock, so the replica keeps its own).
      const client = redisClient()
      const bytes = Buffer.from('{}')
      await client.hset(vaultKey(h.vaultId), {generation: h.generation + 50, digest: sha256(bytes), mac: sign(h.key, 'copy', [h.vaultId, h.generation + 50, sha256(bytes)]), bytes: bytes.toString('base64')})
      const revoked = await bed.box.run(['keys', 'revoke', 'raced', '--yes', '--redis', redis.url])
      assert.equal(revoked.code, 29)
      assert.match(revoked.stderr, new RegExp(`Redis holds generation ${h.generation + 50} of this vault, written elsewhere.*the notice of the keys it revoked was published`))
      assert.ok((await until(async () => (await status(r, key)) === 401, 1000)) !== undefined, 'the notice reached the replica')
      assert.equal(await client.hget(vaultKey(h.vaultId), 'generation'), String(h.generation + 50), 'the authentic newer copy was not replaced')
    })
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
