/**
 * An upstream as a tool source (src/server/gateway/upstream-source.ts), in process, against a
 * 2025-era upstream over HTTP on the 1.x SDK: what a request that outlives its session leaves.
 */
import assert from 'node:assert/strict'
import {createServer, type Server as HttpServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {Server as LegacyServer} from '@modelcontextprotocol/sdk/server/index.js'
import {ListResourcesRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema} from '@modelcontextprotocol/sdk/types.js'

import type {Principal} from '../../../../src/auth/index.js'
import {Redactor} from '../../../../src/guard/redactor.js'
import type {Connections} from '../../../../src/server/gateway/connections.js'
import {UpstreamSource} from '../../../../src/server/gateway/upstream-source.js'
import type {CallEnv, ClientSession} from '../../../../src/server/tools/source.js'
import type {UpstreamDefinition} from '../../../../src/upstreams/index.js'
import {endableSession, legacyUpstream} from '../../../helpers/gateway-units.js'

/** A 2025-era upstream whose resources can be subscribed to; it records each subscribe and unsubscribe. */
function subscribable(heard: string[]) {
  return legacyUpstream(() => {
    const server = new LegacyServer({name: 'subscribable', version: '1.0.0'}, {capabilities: {resources: {subscribe: true}}})
    server.setRequestHandler(ListResourcesRequestSchema, async () => ({resources: [{uri: 'res://x', name: 'x'}]}))
    server.setRequestHandler(SubscribeRequestSchema, async (request) => (heard.push(`subscribe ${request.params.uri}`), {}))
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => (heard.push(`unsubscribe ${request.params.uri}`), {}))
    return server
  })
}

const principal = {id: 'alice'} as unknown as Principal

/** What a call of `session` gives the source. */
function envOf(session: ClientSession): CallEnv {
  return {principal, session, client: session.channel, signal: new AbortController().signal} as unknown as CallEnv
}

/** A source of the upstream `def`, as the gateway makes one (stateful, room for 10 processes), started and listed. */
async function startedSource(def: UpstreamDefinition, logged: string[] = []): Promise<UpstreamSource> {
  const source = new UpstreamSource({def, resolve: () => ({headers: {}}), version: '0', log: (level, message) => void logged.push(`${level} ${message}`), mode: 'stateful', budget: {allows: () => true, max: () => 10}, logRedactor: () => Redactor.none})
  source.start()
  await source.firstList
  return source
}

const subscriptionsOf = (source: UpstreamSource) => (source as unknown as {connections: Connections}).connections.shared.traffic.subscriptions

describe('gateway: an upstream source (upstream-source.ts)', function () {
  this.timeout(20_000)
  let http: HttpServer
  let source: UpstreamSource
  let def: UpstreamDefinition
  const heard: string[] = []

  beforeEach(async () => {
    heard.length = 0
    const handle = subscribable(heard)
    http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const port = (http.address() as AddressInfo).port
    def = {name: 'up', transport: 'http', url: `http://127.0.0.1:${port}/mcp`, headers: {}, prefix: true} as unknown as UpstreamDefinition
    source = await startedSource(def)
  })

  afterEach(async () => {
    await source.stop()
    http.closeAllConnections()
    http.close()
  })

  const resourceX = (from: UpstreamSource) => from.resources().find((r) => r.descriptor.uri === 'res://x')!

  /**
   * Sessions a and b subscribe through the source; a reload's new source (gateway.ts reconcile)
   * starts, and `race` hands the subscriptions over with b unsubscribing on the way: a keeps its
   * subscription on the new source, b has none there.
   */
  async function takeover(race: (next: UpstreamSource, b: ClientSession) => Promise<void>, bSubscribed: string): Promise<void> {
    const a = endableSession('s-a')
    const b = endableSession('s-b')
    await resourceX(source).subscribe!(envOf(a))
    await resourceX(source).subscribe!(envOf(b))
    const next = await startedSource(def)
    try {
      await race(next, b)
      assert.equal(subscriptionsOf(next).has('res://x', a), true, 'a lost its subscription')
      assert.equal(subscriptionsOf(next).has('res://x', b), false, bSubscribed)
    } finally {
      await next.stop()
    }
  }

  it('a subscription whose session ended while it waited for the upstream is not kept (it would hold the upstream subscribed, and never idle, for good)', async () => {
    const connections = (source as unknown as {connections: Connections}).connections
    // Idle: the next use starts it again, and the subscription waits for it.
    while (!connections.shared.link.ready) await new Promise((r) => setTimeout(r, 10))
    source.sweep(0)
    assert.equal(connections.shared.link.suspended, true)
    const s = endableSession('s-gone')
    const subscribing = resourceX(source).subscribe!(envOf(s))
    s.end()
    await subscribing.catch(() => {})
    assert.equal(subscriptionsOf(source).size, 0, 'the ended session is still subscribed')
    // What the upstream was told, it is told the opposite of (or nothing at all).
    const deadline = Date.now() + 2000
    while (Date.now() < deadline && heard.length % 2 === 1) await new Promise((r) => setTimeout(r, 50))
    assert.ok(heard.length === 0 || heard.join() === 'subscribe res://x,unsubscribe res://x', heard.join())
  })
  it('a restart drops the subscription of a session that ended while it was carried over, without warning of a failure: only a subscription still wanted counts', async () => {
    const a = endableSession('s-a')
    const gone = endableSession('s-gone')
    await resourceX(source).subscribe!(envOf(a))
    await resourceX(source).subscribe!(envOf(gone))
    const logged: string[] = []
    const next = await startedSource(def, logged)
    try {
      const held = source.handOver(next)
      gone.end()
      await next.adoptSubscriptions(held)
      assert.equal(subscriptionsOf(next).has('res://x', a), true, 'a lost its subscription')
      assert.equal(subscriptionsOf(next).has('res://x', gone), false, 'the ended session is subscribed')
      assert.deepEqual(logged.filter((line) => line.startsWith('warn')), [])
    } finally {
      await next.stop()
    }
  })
  it('a subscription a restart carries over is not made again once its session unsubscribed meanwhile (it would get updates it declined, and hold the upstream subscribed)', async () => {
    await takeover(async (next, b) => {
      const adopting = next.adoptSubscriptions(source.handOver(next))
      // The catalog sends b's unsubscribe to the new source while the takeover is under way.
      await resourceX(next).unsubscribe!(envOf(b))
      await adopting
    }, 'b unsubscribed, and is subscribed again')
  })
  it('an unsubscribe that was on its way through the replaced source when its subscriptions were taken over is not undone by the takeover', async () => {
    await takeover(async (next, b) => {
      // b's unsubscribe reached the old source before the swap, and waits there for its client when the swap takes what it holds.
      const unsubscribing = resourceX(source).unsubscribe!(envOf(b))
      const adopting = next.adoptSubscriptions(source.handOver(next))
      await unsubscribing
      await adopting
    }, 'b was told it unsubscribed, and is subscribed again')
  })
})
