/**
 * The runtime (issue 17, item 1): built in one step from settings and a vault snapshot, swapped
 * whole on reload, never dropping authentication on a reload (issue 15, item 19), and, through
 * a real server, a request in flight during a reload served to the end with the runtime it
 * started with.
 */
import assert from 'node:assert/strict'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'

import {resourceAudiences} from '../../../src/auth/from-config.js'
import {effectiveConfig, setConfig} from '../../../src/config/index.js'
import {createKey} from '../../../src/keys/index.js'
import {allowedHosts} from '../../../src/net/hosts.js'
import {buildRuntime, LiveRuntime} from '../../../src/server/runtime.js'
import {StaticSource} from '../../../src/server/tools/source.js'
import {setSecret} from '../../../src/secrets/index.js'
import {setOAuthState} from '../../../src/upstreams/oauth/store.js'
import {emptyData} from '../../../src/vault/payload.js'
import {updateVault, type VaultData} from '../../../src/vault/index.js'
import {memoryLogger, serveInProcess, testVault, type TestVault} from '../../helpers/inprocess.js'
import {httpClient} from '../../helpers/server.js'
import {runtimeEnv, snapshotOf, testRuntime} from '../../helpers/runtime.js'

const SECRET = 'correct-horse-battery'

function vaultWith(config: Record<string, string> = {}, secrets: Record<string, string> = {}): VaultData {
  const data = emptyData()
  for (const [name, value] of Object.entries(secrets)) setSecret(data, name, Buffer.from(value))
  for (const [key, value] of Object.entries(config)) setConfig(data, key, value)
  return data
}

function liveRuntime(data: VaultData, overrides: Record<string, string> = {}) {
  const log = memoryLogger()
  let snapshot = snapshotOf(data)
  const live = new LiveRuntime(overrides, runtimeEnv(() => snapshot, {log}), snapshot)
  const reload = (next: VaultData, generation = 2) => {
    snapshot = snapshotOf(next, generation)
    live.reload(snapshot)
  }
  return {live, log, reload}
}

describe('runtime', function () {
  this.timeout(30_000)

  it('is built in one step: protection, authenticators and redactors from the settings and the vault', () => {
    const runtime = testRuntime({'guard.max-body': '2KiB', 'guard.redact': 'false'}, {DB: SECRET})
    assert.equal(runtime.protection.maxBody, 2048)
    assert.deepEqual(runtime.authenticators.types, ['api_key'])
    assert.equal(runtime.redactor.text(SECRET), SECRET, 'guard.redact false: clients get results as they are')
    assert.equal(runtime.logRedactor.text(SECRET), '[REDACTED:DB]', 'what keyward writes itself is redacted whatever guard.redact says')
    assert.equal(runtime.resourceMetadataUrl(), undefined, 'no OAuth, no metadata')
    assert.ok(Object.isFrozen(runtime), 'never changed after it is built')
  })

  it('the resource is the MCP URL on the Host the client used when the server answers to it; else the listening URL; server.public-url beats both', () => {
    const oauth = {'auth.methods': 'api-key,oauth2', 'oauth.issuer': 'https://issuer.example'}
    const snapshot = snapshotOf(vaultWith(oauth))
    const env = runtimeEnv(() => snapshot, {url: () => 'http://127.0.0.1:8765/mcp', hosts: () => allowedHosts('127.0.0.1', 8765, ['mcp.example'])})
    const runtime = buildRuntime(effectiveConfig(snapshot.data, {}), snapshot, env)
    assert.equal(runtime.resourceUrl('LOCALHOST:8765'), 'http://localhost:8765/mcp')
    assert.equal(runtime.resourceUrl('mcp.example'), 'http://mcp.example/mcp', 'an --allowed-host')
    assert.equal(runtime.resourceMetadataUrl('localhost:8765'), 'http://localhost:8765/.well-known/oauth-protected-resource/mcp')
    for (const foreign of ['evil.example', 'localhost:9999', 'localhost:8765/x', undefined]) assert.equal(runtime.resourceUrl(foreign), 'http://127.0.0.1:8765/mcp', `never reflected: ${foreign}`)
    const pinned = buildRuntime(effectiveConfig(snapshot.data, {'server.public-url': 'https://mcp.example/mcp'}), snapshot, env)
    assert.equal(pinned.resourceUrl('localhost:8765'), 'https://mcp.example/mcp')
    assert.deepEqual(resourceAudiences('https://mcp.example/mcp'), ['https://mcp.example/mcp', 'https://mcp.example', 'https://mcp.example/'])
  })

  it("both redactors hold the tokens keyward keeps for upstreams that take OAuth (an upstream may echo its own token)", () => {
    const data = emptyData()
    setOAuthState(data, 'linear', {
      grant: 'authorization_code',
      grantId: 'g',
      version: 1,
      loggedInAt: '2026-11-30T00:00:00.000Z',
      refreshes: 0,
      client: {client_id: 'dyn-1', client_secret: 'dynamic-client-secret-1'},
      tokens: {access_token: 'upstream-access-token-789', refresh_token: 'upstream-refresh-token-012', token_type: 'Bearer', expires_at: Date.now() + 60_000},
    })
    const runtime = testRuntime({}, {}, data)
    for (const redactor of [runtime.redactor, runtime.logRedactor]) {
      assert.equal(redactor.text('got upstream-access-token-789'), 'got [REDACTED:UPSTREAM_LINEAR_OAUTH]')
      assert.equal(redactor.text('upstream-refresh-token-012'), '[REDACTED:UPSTREAM_LINEAR_OAUTH]')
      assert.equal(redactor.text('dynamic-client-secret-1'), '[REDACTED:UPSTREAM_LINEAR_OAUTH_CLIENT]')
    }
  })

  it('a reload swaps the whole runtime; the authenticators stay while the settings and the secrets they name are the same', () => {
    const {live, log, reload} = liveRuntime(vaultWith())
    const first = live.current()
    reload(vaultWith({}, {LATE: SECRET}))
    const second = live.current()
    assert.notEqual(second, first)
    assert.equal(second.authenticators, first.authenticators, 'same settings: the same authenticators (OAuth keeps its caches)')
    assert.equal(second.redactor.text(SECRET), '[REDACTED:LATE]', 'a new secret is redacted from the next request on')
    assert.equal(first.redactor.text(SECRET), SECRET, 'the runtime a request already holds does not change')
    reload(vaultWith({'auth.methods': 'api-key,proxy-header', 'proxy.trusted-cidrs': '10.0.0.0/8'}), 3)
    assert.deepEqual(live.current().authenticators.types, ['api_key', 'proxy_header'])
    assert.ok(log.lines.some((l) => l === 'info: settings changed: authentication is now api_key, proxy_header'), log.lines.join('\n'))
  })

  it('a rotated secret that a setting names rebuilds the authenticators', () => {
    const config = {'auth.methods': 'api-key,oauth2', 'oauth.issuer': 'https://issuer.example', 'oauth.introspection-url': 'https://issuer.example/introspect', 'oauth.client-id': 'kw', 'oauth.client-secret': 'secret:CLIENT'}
    const {live, reload} = liveRuntime(vaultWith(config, {CLIENT: 'first-client-secret'}))
    const before = live.current().authenticators
    reload(vaultWith(config, {CLIENT: 'first-client-secret', OTHER: 'unrelated-secret'}))
    assert.equal(live.current().authenticators, before, 'an unrelated secret changes nothing')
    reload(vaultWith(config, {CLIENT: 'rotated-client-secret'}), 3)
    assert.notEqual(live.current().authenticators, before)
  })

  it("a reload that narrows a proxy's scope map holds a principal made before it to the new mapping (Authenticators.current of the new runtime); a flag still beats the vault", async () => {
    const proxy = {'auth.methods': 'api-key,proxy-header', 'proxy.trusted-cidrs': '10.0.0.0/8', 'proxy.scope-map.admins': 'full'}
    const {live, reload} = liveRuntime(vaultWith(proxy))
    const request = {transport: 'http' as const, peer: '10.0.0.7', headers: {'x-forwarded-user': 'alice', 'x-forwarded-groups': 'admins'}}
    const {principal} = await live.current().authenticators.authenticate(undefined, request)
    assert.equal(principal.scopes.allows('tool', 'get_time'), true)
    assert.equal(live.current().authenticators.current(principal), principal)
    reload(vaultWith({...proxy, 'proxy.scope-map.admins': 'echo'}))
    const now = live.current().authenticators.current(principal)!
    assert.equal(now.scopes.allows('tool', 'get_time'), false, 'narrowed by the reload')
    assert.equal(now.scopes.allows('tool', 'echo'), true)
    reload(vaultWith({'auth.methods': 'api-key,proxy-header', 'proxy.trusted-cidrs': '10.0.0.0/8', 'proxy.scope-map.staff': 'full'}), 3)
    assert.equal(live.current().authenticators.current(principal), undefined, 'its group no longer mapped: no longer admitted')
    const pinned = liveRuntime(vaultWith(proxy), {'proxy.scope-map.admins': 'full'})
    const mine = (await pinned.live.current().authenticators.authenticate(undefined, request)).principal
    pinned.reload(vaultWith({...proxy, 'proxy.scope-map.admins': 'echo'}))
    assert.equal(pinned.live.current().authenticators.current(mine), mine, 'the serve flag beats the vault')
  })

  it('never drops authentication on a reload: auth.methods none keeps the methods in force, and says a restart is needed', () => {
    const {live, log, reload} = liveRuntime(vaultWith())
    reload(vaultWith({'auth.methods': 'none'}, {LATE: SECRET}))
    const runtime = live.current()
    assert.deepEqual(runtime.authenticators.types, ['api_key'])
    assert.equal(runtime.authenticators.required, true)
    assert.equal(runtime.redactor.text(SECRET), '[REDACTED:LATE]', 'the rest of the reload still applies')
    assert.ok(log.lines.some((l) => /^warn: auth\.methods is now none in the vault, but a running server never drops authentication: it keeps api-key\. .*restart it with --auth none/.test(l)), log.lines.join('\n'))
    // Started with --auth none, a server stays as it was started.
    const open = liveRuntime(vaultWith(), {'auth.methods': 'none'})
    open.reload(vaultWith({'auth.methods': 'api-key'}))
    assert.deepEqual(open.live.current().authenticators.types, [], 'the flag beats the vault')
  })

  it('settings that cannot be used keep the previous ones, with the new vault; the log says why', () => {
    const {live, log, reload} = liveRuntime(vaultWith())
    const before = live.current()
    // oauth2 without an issuer cannot be built.
    const broken = vaultWith({}, {LATE: SECRET})
    broken.tables.set('config', new Map([['auth.methods', 'api-key,oauth2']]) as never)
    reload(broken)
    assert.deepEqual(live.current().authenticators.types, ['api_key'])
    assert.equal(live.current().config, before.config)
    assert.equal(live.current().redactor.text(SECRET), '[REDACTED:LATE]')
    assert.ok(log.lines.some((l) => l.startsWith("error: the vault's new settings cannot be used (auth method oauth2 needs oauth.issuer")), log.lines.join('\n'))
  })

  describe('through a server', () => {
    let vault: TestVault
    const clients: Client[] = []
    const stops: (() => Promise<void>)[] = []
    beforeEach(async () => {
      vault = await testVault()
    })
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
      for (const stop of stops.splice(0)) await stop()
      vault.cleanup()
    })

    it('a request in flight during a reload completes with the runtime it started with; the next one gets the new runtime', async () => {
      await updateVault(vault.file, vault.material, (v) => void setSecret(v.data, 'DB_PASSWORD', Buffer.from(SECRET)))
      const key = await vault.key('k', ['*'])
      let release!: () => void
      let started!: () => void
      const running = new Promise<void>((resolve) => (started = resolve))
      const blocking = new StaticSource('slow', {
        tools: [
          {
            kind: 'tool',
            descriptor: {name: 'slow', inputSchema: {type: 'object'}},
            call: async () => {
              started()
              await new Promise<void>((resolve) => (release = resolve))
              return {content: [{type: 'text', text: `the password is ${SECRET}`}]}
            },
          },
        ],
      })
      const server = await serveInProcess(vault, {extraSources: [blocking]})
      stops.push(() => server.close())
      const client = await httpClient(server.url!, {authorization: `Bearer ${key}`})
      clients.push(client)
      const inFlight = client.callTool({name: 'slow', arguments: {}})
      await running
      // While the call runs, the vault turns redaction off and the server reloads.
      await updateVault(vault.file, vault.material, (v) => void setConfig(v.data, 'guard.redact', 'false'))
      await server.reload()
      assert.ok(server.log.lines.some((l) => l.startsWith('info: reloaded')), server.log.lines.join('\n'))
      release()
      assert.deepEqual((await inFlight).content, [{type: 'text', text: 'the password is [REDACTED:DB_PASSWORD]'}], 'the runtime the request started with')
      const next = client.callTool({name: 'slow', arguments: {}})
      await new Promise((resolve) => setTimeout(resolve, 50))
      release()
      assert.deepEqual((await next).content, [{type: 'text', text: `the password is ${SECRET}`}], 'the new runtime, for a request that arrived after the reload')
    })

    it('a key created in the vault while serving is accepted at once: the key index is read newest-first', async () => {
      const server = await serveInProcess(vault, {})
      stops.push(() => server.close())
      const {key} = await updateVault(vault.file, vault.material, (v) => createKey(v.data, {name: 'late', scopes: ['echo']}))
      await server.reload()
      const client = await httpClient(server.url!, {authorization: `Bearer ${key}`})
      clients.push(client)
      assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['echo'])
    })
  })
})
