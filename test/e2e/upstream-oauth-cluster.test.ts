/**
 * Upstream OAuth across replicas on Redis (issue 19): each replica has its own copy of the vault,
 * as on its own host. A renewal is made by one replica (the cluster's write lease), reaches the
 * others through the vault copy, and a rotated refresh token is never used twice. The CLI, whose
 * own copy is older, takes the renewed tokens before it writes.
 */
import assert from 'node:assert/strict'
import {constants as fsConstants, promises as fs} from 'node:fs'
import path from 'node:path'

import {vaultAuditLog} from '../helpers/audit.js'
import {Bed} from '../helpers/bed.js'
import {json, ROOT, sleep} from '../helpers/cli.js'
import {TestIssuer} from '../helpers/issuer.js'
import {needRedisServer, RedisServer} from '../helpers/redis.js'
import type {RunningServe} from '../helpers/server.js'
import {startOAuthUpstream, type RunningOAuthUpstream} from '../fixtures/oauth-upstream.js'

const BROWSER = `"${process.execPath}" "${path.join(ROOT, 'dist', 'test', 'fixtures', 'browser.js')}"`

describe('upstream OAuth with replicas on Redis', function () {
  this.timeout(120_000)
  const bed = new Bed()
  let redis: RedisServer
  let issuer: TestIssuer
  let upstream: RunningOAuthUpstream

  before(needRedisServer)

  beforeEach(async () => {
    await bed.setUp()
    redis = await RedisServer.start()
    issuer = new TestIssuer()
    await issuer.start()
    upstream = await startOAuthUpstream({issuer: issuer.url})
  })

  afterEach(async () => {
    await bed.tearDown()
    await upstream.close()
    await issuer.stop()
    await redis.kill()
  })

  async function replica(i: number): Promise<RunningServe & {dir: string; file: string}> {
    const dir = bed.box.path(`replica${i}`)
    const file = path.join(dir, 'vault.json')
    await fs.mkdir(dir, {recursive: true, mode: 0o700})
    await fs.copyFile(bed.box.vault, file, fsConstants.COPYFILE_EXCL)
    const s = await bed.serve(['--vault', file, '--redis', redis.url, '--stateless'], {XDG_STATE_HOME: path.join(dir, 'state')})
    return Object.assign(s, {dir, file})
  }

  async function whoami(s: RunningServe, key: string): Promise<{jti: string}> {
    const client = await bed.connect(s.url, key)
    const result = (await client.callTool({name: 'notes__whoami', arguments: {}})) as {content: {text: string}[]}
    await client.close()
    return JSON.parse(result.content[0].text) as {jti: string}
  }

  async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
    const end = Date.now() + ms
    while (Date.now() < end) {
      if (await check()) return true
      await sleep(100)
    }
    return check()
  }

  async function refreshEvents(r: {dir: string; file: string}): Promise<Record<string, unknown>[]> {
    const log = await fs.readFile(vaultAuditLog(r.file, path.join(r.dir, 'state')), 'utf8').catch(() => '')
    return log.split('\n').filter((l) => l.includes('"event":"upstream.refresh"')).map((l) => JSON.parse(l) as Record<string, unknown>)
  }

  it('two replicas, one renewal: exactly one uses the refresh token, both then send the new access token, and the CLI writes from the renewed copy', async () => {
    issuer.ttl = 8
    await bed.cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test', '--redis', redis.url])
    const key = await bed.key('k', '--redis', redis.url)
    const signedIn = await bed.box.run(['upstream', 'login', 'notes', '--redis', redis.url], {env: {BROWSER}})
    assert.equal(signedIn.code, 0, signedIn.stderr)
    const loggedIn = Date.now()
    const [a, b] = [await replica(1), await replica(2)]
    const first = issuer.lastJti
    assert.equal((await whoami(a, key)).jti, first)
    assert.equal((await whoami(b, key)).jti, first)

    // Both replicas' timers come due at the same moment (a quarter of the lifetime before expiry).
    assert.ok(await until(() => issuer.count('refresh_token') > 0, loggedIn + 15_000 - Date.now()), 'renewed ahead of expiry')
    const renewed = issuer.lastJti
    assert.notEqual(renewed, first)
    // Within seconds both send the new token: one renewed, the other took the copy.
    for (const r of [a, b]) assert.ok(await until(async () => (await whoami(r, key)).jti === renewed, 5000), `${r.url} sends the new token`)
    const events = async () => [...(await refreshEvents(a)), ...(await refreshEvents(b))]
    assert.ok(await until(async () => (await events()).length > 0, 3000))
    await sleep(1000)
    assert.equal(issuer.count('refresh_token'), 1, 'exactly one renewal reached the issuer (a second would have spent the rotated token again)')
    assert.deepEqual((await events()).map((e) => e.outcome), ['ok'], 'one replica renewed; the other took the copy')
    assert.ok(!/refreshing its OAuth token failed/.test(a.logs() + b.logs()))

    // The CLI's own copy is older than the replicas': it takes the renewed copy before writing its change.
    await bed.cli(['keys', 'generate', '--name', 'later', '--scope', 'full', '--redis', redis.url])
    const fromCli = json(await bed.cli(['upstream', 'show', 'notes', '--json'])).upstream.oauth
    assert.equal(fromCli.refreshes, 1, 'the CLI wrote on top of the renewal, not over it')
    // And the replicas take the CLI's change with the renewed tokens still in it.
    const later = json(await bed.cli(['vault', 'status', '--json'])).generation as number
    for (const r of [a, b]) {
      assert.ok(await until(async () => json(await bed.cli(['vault', 'status', '--vault', r.file, '--json'])).generation === later, 5000), 'the replica took the CLI’s change')
      const state = json(await bed.cli(['upstream', 'show', 'notes', '--vault', r.file, '--json'])).upstream.oauth
      assert.equal(state.refreshes, 1)
      assert.equal((await whoami(r, key)).jti, renewed)
    }
    assert.equal(issuer.count('refresh_token'), 1)
  })
})
