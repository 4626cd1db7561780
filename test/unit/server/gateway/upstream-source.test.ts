/**
 * An upstream as a tool source (src/server/gateway/upstream-source.ts), in process, against a
 * 2025-era upstream over HTTP on the 1.x SDK: what a request that outlives its session leaves.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {Server as LegacyServer} from '@modelcontextprotocol/sdk/server/index.js'
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import {ListResourcesRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema} from '@modelcontextprotocol/sdk/types.js'

import type {Principal} from '../../../../src/auth/index.js'
import {Redactor} from '../../../../src/guard/redactor.js'
import type {Connections} from '../../../../src/server/gateway/connections.js'
import {UpstreamSource} from '../../../../src/server/gateway/upstream-source.js'
import type {CallEnv, ClientSession} from '../../../../src/server/tools/source.js'
import type {UpstreamDefinition} from '../../../../src/upstreams/index.js'

/** A 2025-era upstream whose resources can be subscribed to; it records each subscribe and unsubscribe. */
function subscribable(heard: string[]) {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  return async (req: IncomingMessage, res: ServerResponse) => {
    const id = req.headers['mcp-session-id']
    let transport = typeof id === 'string' ? sessions.get(id) : undefined
    if (!transport) {
      const created = new StreamableHTTPServerTransport({sessionIdGenerator: randomUUID, onsessioninitialized: (sid) => void sessions.set(sid, created)})
      transport = created
      const server = new LegacyServer({name: 'subscribable', version: '1.0.0'}, {capabilities: {resources: {subscribe: true}}})
      server.setRequestHandler(ListResourcesRequestSchema, async () => ({resources: [{uri: 'res://x', name: 'x'}]}))
      server.setRequestHandler(SubscribeRequestSchema, async (request) => (heard.push(`subscribe ${request.params.uri}`), {}))
      server.setRequestHandler(UnsubscribeRequestSchema, async (request) => (heard.push(`unsubscribe ${request.params.uri}`), {}))
      await server.connect(transport)
    }
    await transport.handleRequest(req, res)
  }
}

/** A client session as mcp.ts makes one: a listener added after its end is called at once. */
function session(id: string): ClientSession & {end(): void} {
  const listeners: (() => void)[] = []
  let ended = false
  return {
    id,
    capabilities: () => ({}),
    channel: {notify: async () => {}, request: async () => ({})} as unknown as ClientSession['channel'],
    onClose: (listener) => void (ended ? listener() : listeners.push(listener)),
    end() {
      ended = true
      for (const listener of listeners.splice(0)) listener()
    },
  }
}

describe('gateway: an upstream source (upstream-source.ts)', function () {
  this.timeout(20_000)
  let http: HttpServer
  let source: UpstreamSource
  const heard: string[] = []

  beforeEach(async () => {
    heard.length = 0
    const handle = subscribable(heard)
    http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const port = (http.address() as AddressInfo).port
    const def = {name: 'up', transport: 'http', url: `http://127.0.0.1:${port}/mcp`, headers: {}, prefix: true} as unknown as UpstreamDefinition
    source = new UpstreamSource({def, resolve: () => ({headers: {}}), version: '0', log: () => {}, mode: 'stateful', budget: {allows: () => true, max: () => 10}, logRedactor: () => Redactor.none})
    source.start()
    await source.firstList
  })

  afterEach(async () => {
    await source.stop()
    http.closeAllConnections()
    http.close()
  })

  it('a subscription whose session ended while it waited for the upstream is not kept (it would hold the upstream subscribed, and never idle, for good)', async () => {
    const connections = (source as unknown as {connections: Connections}).connections
    // Idle: the next use starts it again, and the subscription waits for it.
    while (!connections.shared.link.ready) await new Promise((r) => setTimeout(r, 10))
    source.sweep(0)
    assert.equal(connections.shared.link.suspended, true)
    const s = session('s-gone')
    const env = {principal: {id: 'alice'} as unknown as Principal, session: s, client: s.channel, signal: new AbortController().signal} as unknown as CallEnv
    const resource = source.resources().find((r) => r.descriptor.uri === 'res://x')!
    const subscribing = resource.subscribe!(env)
    s.end()
    await subscribing.catch(() => {})
    assert.equal(connections.shared.traffic.subscriptions.size, 0, 'the ended session is still subscribed')
    // What the upstream was told, it is told the opposite of (or nothing at all).
    const deadline = Date.now() + 2000
    while (Date.now() < deadline && heard.length % 2 === 1) await new Promise((r) => setTimeout(r, 50))
    assert.ok(heard.length === 0 || heard.join() === 'subscribe res://x,unsubscribe res://x', heard.join())
  })
  it('a subscription a restart carries over is not made again once its session unsubscribed meanwhile (it would get updates it declined, and hold the upstream subscribed)', async () => {
    const principal = {id: 'alice'} as unknown as Principal
    const envOf = (s: ClientSession) => ({principal, session: s, client: s.channel, signal: new AbortController().signal}) as unknown as CallEnv
    const a = session('s-a')
    const b = session('s-b')
    const old = source.resources().find((r) => r.descriptor.uri === 'res://x')!
    await old.subscribe!(envOf(a))
    await old.subscribe!(envOf(b))
    // The reload's new source, swapped in once it has listed (gateway.ts reconcile).
    const def = (source as unknown as {options: {def: UpstreamDefinition}}).options.def
    const next = new UpstreamSource({def, resolve: () => ({headers: {}}), version: '0', log: () => {}, mode: 'stateful', budget: {allows: () => true, max: () => 10}, logRedactor: () => Redactor.none})
    next.start()
    await next.firstList
    try {
      const adopting = next.adoptSubscriptions(source.handOver(next))
      // The catalog sends b's unsubscribe to the new source while the takeover is under way.
      await next.resources().find((r) => r.descriptor.uri === 'res://x')!.unsubscribe!(envOf(b))
      await adopting
      const subscriptions = (next as unknown as {connections: Connections}).connections.shared.traffic.subscriptions
      assert.equal(subscriptions.has('res://x', a), true, 'a lost its subscription')
      assert.equal(subscriptions.has('res://x', b), false, 'b unsubscribed, and is subscribed again')
    } finally {
      await next.stop()
    }
  })
  it('an unsubscribe that was on its way through the replaced source when its subscriptions were taken over is not undone by the takeover', async () => {
    const principal = {id: 'alice'} as unknown as Principal
    const envOf = (s: ClientSession) => ({principal, session: s, client: s.channel, signal: new AbortController().signal}) as unknown as CallEnv
    const a = session('s-a')
    const b = session('s-b')
    const old = source.resources().find((r) => r.descriptor.uri === 'res://x')!
    await old.subscribe!(envOf(a))
    await old.subscribe!(envOf(b))
    const def = (source as unknown as {options: {def: UpstreamDefinition}}).options.def
    const next = new UpstreamSource({def, resolve: () => ({headers: {}}), version: '0', log: () => {}, mode: 'stateful', budget: {allows: () => true, max: () => 10}, logRedactor: () => Redactor.none})
    next.start()
    await next.firstList
    try {
      // b's unsubscribe reached the old source before the swap, and waits there for its client when the swap takes what it holds.
      const unsubscribing = old.unsubscribe!(envOf(b))
      const adopting = next.adoptSubscriptions(source.handOver(next))
      await unsubscribing
      await adopting
      const subscriptions = (next as unknown as {connections: Connections}).connections.shared.traffic.subscriptions
      assert.equal(subscriptions.has('res://x', a), true, 'a lost its subscription')
      assert.equal(subscriptions.has('res://x', b), false, 'b was told it unsubscribed, and is subscribed again')
    } finally {
      await next.stop()
    }
  })
})
