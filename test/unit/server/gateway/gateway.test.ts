/** What decides that serve restarts an upstream: its definition and what it resolves to, not notes kept beside it. */
import assert from 'node:assert/strict'
import {createServer, type Server as HttpServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {Server as LegacyServer} from '@modelcontextprotocol/sdk/server/index.js'
import {ListResourcesRequestSchema, ListToolsRequestSchema, SubscribeRequestSchema} from '@modelcontextprotocol/sdk/types.js'

import {ANONYMOUS} from '../../../../src/auth/none.js'
import {Redactor} from '../../../../src/guard/redactor.js'
import {fingerprint, Gateway} from '../../../../src/server/gateway/gateway.js'
import {Catalog} from '../../../../src/server/tools/catalog.js'
import type {CallEnv} from '../../../../src/server/tools/source.js'
import {upstreamsOf, type HttpUpstream, type StdioUpstream} from '../../../../src/upstreams/index.js'
import type {VaultData} from '../../../../src/vault/index.js'
import {emptyData} from '../../../../src/vault/payload.js'
import {endableSession, legacyUpstream} from '../../../helpers/gateway-units.js'

const context = {vaultId: 'v-test', vaultFile: '/nonexistent/vault.json'}
const def: StdioUpstream = {name: 'up', transport: 'stdio', command: 'node', args: ['server.js'], env: {MODE: {literal: 'a'}}, prefix: true, created: '2026-11-01T00:00:00Z', updated: '2026-11-01T00:00:00Z'}

describe('server/gateway/gateway fingerprint', () => {
  const data = emptyData()
  const print = (d: StdioUpstream) => fingerprint(d, data, context)

  it('is the same when only what `upstream test` found, or the times, changed: a running upstream is not restarted', () => {
    const tested = {...def, tested: {era: 'modern' as const, protocolVersion: '2026-07-28', at: '2026-11-30T10:00:00Z'}}
    assert.equal(print(tested), print(def))
    assert.equal(print({...tested, tested: {era: 'legacy', protocolVersion: '2025-11-25', at: '2026-11-30T11:00:00Z'}}), print(def))
    assert.equal(print({...def, updated: '2026-11-30T12:00:00Z', created: '2026-01-01T00:00:00Z'}), print(def))
  })

  it('changes with what starts the upstream: its command, arguments, environment, isolation', () => {
    for (const changed of [{...def, command: 'deno'}, {...def, args: ['other.js']}, {...def, env: {MODE: {literal: 'b'}}}, {...def, isolation: 'session' as const}]) {
      assert.notEqual(print(changed), print(def), JSON.stringify(changed))
    }
  })
})

/**
 * Restarts that overlap (server/gateway/gateway.ts reconcile): reloads that come faster than an
 * upstream lists. In process, against 2025-era HTTP upstreams on the 1.x SDK, one per generation
 * of the definition (its URL names the generation, so each reload restarts it); a generation's
 * requests can be held, to decide which restart lists first.
 */
describe('server/gateway/gateway: overlapping restarts', function () {
  this.timeout(20_000)
  let http: HttpServer
  let port: number
  let gateway: Gateway
  let catalog: Catalog
  const held = new Map<string, Promise<void>>()
  /** What the upstreams of every generation were asked to subscribe to. */
  const heard: string[] = []
  /** The paths every upstream generation was asked on. */
  const asked: string[] = []
  const releases: (() => void)[] = []
  const hold = (generation: string) => held.set(generation, new Promise<void>((resolve) => releases.push(resolve)))
  const release = () => releases.splice(0).forEach((resolve) => resolve())

  beforeEach(async () => {
    held.clear()
    heard.length = 0
    asked.length = 0
    const handlers = new Map<string, ReturnType<typeof legacyUpstream>>()
    http = createServer((req, res) => {
      asked.push(req.url!)
      const generation = req.url!.split('/').pop()!
      let handle = handlers.get(generation)
      if (!handle) handlers.set(generation, (handle = legacyUpstream(() => listing(`v${generation}`, heard))))
      void (held.get(generation) ?? Promise.resolve()).then(() => handle!(req, res)).catch(() => res.destroy())
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    port = (http.address() as AddressInfo).port
    catalog = new Catalog([], () => Redactor.none)
    gateway = new Gateway({
      catalog,
      log: () => {},
      version: '0',
      mode: 'stateful',
      stdioSession: () => undefined,
      settings: () => ({idleMs: 0, maxProcesses: 10, maxCallMs: 60_000}),
      context,
      logRedactor: () => Redactor.none,
      current: (principal) => principal,
    })
  })

  afterEach(async () => {
    release()
    await gateway.close()
    http.closeAllConnections()
    http.close()
  })

  /** The vault with upstream `up` at `generation` (or none). */
  function vaultAt(generation?: number): VaultData {
    const data = emptyData()
    if (generation !== undefined) {
      const up: HttpUpstream = {name: 'up', transport: 'http', url: `http://127.0.0.1:${port}/mcp/${generation}`, headers: {}, prefix: true, created: '2026-11-01T00:00:00Z', updated: '2026-11-01T00:00:00Z'}
      upstreamsOf(data).set('up', up)
    }
    return data
  }

  const tools = () => catalog.names('tool').sort().join()

  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000
    while (!condition()) {
      if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}; tools: ${tools()}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  async function servingGeneration0(): Promise<void> {
    await gateway.reconcile(vaultAt(0))
    await gateway.firstList()
    assert.equal(tools(), 'up__v0')
  }

  it('a restart that a later one overtakes before it listed never takes over: the newest replaces the serving one, and carries its subscriptions over', async () => {
    await servingGeneration0()
    const session = endableSession('s-a')
    const resource = catalog.find('resource', ANONYMOUS.scopes, 'res://x', session)!
    await resource.subscribe!({principal: ANONYMOUS, session, client: session.channel, signal: new AbortController().signal} as unknown as CallEnv)
    assert.deepEqual(heard, ['v0 subscribe res://x'])
    hold('1')
    await gateway.reconcile(vaultAt(1))
    await gateway.reconcile(vaultAt(2))
    await until(() => tools() !== 'up__v0', 'generation 2 took over')
    assert.equal(tools(), 'up__v2')
    await until(() => heard.length > 1, 'generation 2 was subscribed')
    assert.deepEqual(heard, ['v0 subscribe res://x', 'v2 subscribe res://x'], 'the subscription was not carried over to the newest generation')
    release()
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(tools(), 'up__v2', 'the overtaken restart took over after all')
  })

  it('an upstream removed while its restart was under way is gone at once, and its restart never takes over', async () => {
    await servingGeneration0()
    hold('1')
    await gateway.reconcile(vaultAt(1))
    await gateway.reconcile(vaultAt())
    assert.equal(tools(), '', 'the removed upstream still serves')
    release()
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(tools(), '')
  })

  it('a reload still on its way when the gateway shuts down starts nothing after the shutdown (its process would outlive it, and hold keyward after SIGTERM)', async () => {
    const reconciling = gateway.reconcile(vaultAt(0))
    await gateway.close()
    await reconciling
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.deepEqual(asked, [], 'an upstream was started after the shutdown')
    assert.equal(gateway.size, 0)
    assert.equal(tools(), '')
  })

  it('shutting down while a restart is under way stops the serving source as well as the one starting', async () => {
    await servingGeneration0()
    const [serving] = gateway.sources()
    hold('1')
    await gateway.reconcile(vaultAt(1))
    const [starting] = gateway.sources()
    assert.notEqual(starting, serving)
    await gateway.close()
    const stopped = (source: unknown) => (source as {connections: {stopped: boolean}}).connections.stopped
    assert.equal(stopped(serving), true, 'the serving source was left running')
    assert.equal(stopped(starting), true, 'the starting source was left running')
  })
})

/** A 2025-era upstream that lists one tool, `name`, and the resource res://x, whose subscriptions it records in `heard`. */
function listing(name: string, heard: string[]): LegacyServer {
  const server = new LegacyServer({name: 'gen', version: '1.0.0'}, {capabilities: {tools: {}, resources: {subscribe: true}}})
  server.setRequestHandler(ListToolsRequestSchema, async () => ({tools: [{name, inputSchema: {type: 'object'}}]}))
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({resources: [{uri: 'res://x', name: 'x'}]}))
  server.setRequestHandler(SubscribeRequestSchema, async (request) => (heard.push(`${name} subscribe ${request.params.uri}`), {}))
  return server
}
