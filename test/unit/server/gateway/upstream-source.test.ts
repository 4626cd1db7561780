/**
 * An upstream as a tool source (src/server/gateway/upstream-source.ts), in process, against a
 * 2025-era upstream over HTTP on the 1.x SDK: what a request that outlives its session leaves.
 */
import assert from 'node:assert/strict'
import {createServer, type Server as HttpServer} from 'node:http'
import type {AddressInfo} from 'node:net'

import {Server as LegacyServer} from '@modelcontextprotocol/sdk/server/index.js'
import {ListResourcesRequestSchema, ListToolsRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema} from '@modelcontextprotocol/sdk/types.js'
import type {ServerNotification} from '@modelcontextprotocol/server'

import type {Principal} from '../../../../src/auth/index.js'
import {ScopeSet} from '../../../../src/policy/index.js'
import {Redactor} from '../../../../src/guard/redactor.js'
import type {Connections} from '../../../../src/server/gateway/connections.js'
import {UpstreamSource, type SessionPrincipals} from '../../../../src/server/gateway/upstream-source.js'
import type {CallEnv, ClientSession} from '../../../../src/server/tools/source.js'
import type {UpstreamDefinition} from '../../../../src/upstreams/index.js'
import {endableSession, legacyUpstream} from '../../../helpers/gateway-units.js'

/** A 2025-era upstream whose resources can be subscribed to; it records each subscribe and unsubscribe, and its servers are kept in `servers` (to send updates from). */
function subscribable(heard: string[], servers: LegacyServer[] = []) {
  return legacyUpstream(() => {
    const server = new LegacyServer({name: 'subscribable', version: '1.0.0'}, {capabilities: {resources: {subscribe: true}, logging: {}}})
    server.setRequestHandler(ListResourcesRequestSchema, async () => ({resources: [{uri: 'res://x', name: 'x'}]}))
    server.setRequestHandler(SubscribeRequestSchema, async (request) => (heard.push(`subscribe ${request.params.uri}`), {}))
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => (heard.push(`unsubscribe ${request.params.uri}`), {}))
    servers.push(server)
    return server
  })
}

/** A key's principal, with these scopes. */
const keyPrincipal = (id: string, ...scopes: string[]): Principal => ({id: `key:${id}`, authType: 'api_key', name: id, keyId: id, scopes: new ScopeSet(scopes)})

/** The keys as the vault has them now (Authenticators.current): a test narrows one by putting another principal in its place, as a reload does, or revokes it by taking it out. */
const vault = new Map<string, Principal>()
const current = (p: Principal): Principal | undefined => (p.authType === 'proxy_header' ? p : vault.get(p.id))
const alice = keyPrincipal('alice', 'resource:**')
const bob = keyPrincipal('bob', 'resource:**')

/** What a call of `session` gives the source. */
function envOf(session: ClientSession, principal = alice): CallEnv {
  return {principal, session, client: session.channel, signal: new AbortController().signal} as unknown as CallEnv
}

/** Each session's latest principal: one map for all sources, as the gateway has. */
const principals: SessionPrincipals = new WeakMap()

/** A source of the upstream `def`, as the gateway makes one (stateful, room for 10 processes), started and listed. */
async function startedSource(def: UpstreamDefinition, logged: string[] = [], logRedactor = Redactor.none): Promise<UpstreamSource> {
  const source = new UpstreamSource({def, resolve: () => ({headers: {}}), version: '0', log: (level, message) => void logged.push(`${level} ${message}`), mode: 'stateful', budget: {allows: () => true, max: () => 10}, maxCallMs: () => 60_000, logRedactor: () => logRedactor, current, principals})
  source.start()
  await source.firstList
  return source
}

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline && !check()) await new Promise((r) => setTimeout(r, 20))
  return check()
}

const subscriptionsOf = (source: UpstreamSource) => (source as unknown as {connections: Connections}).connections.shared.traffic.subscriptions

describe('gateway: an upstream source (upstream-source.ts)', function () {
  this.timeout(20_000)
  let http: HttpServer
  let source: UpstreamSource
  let def: UpstreamDefinition
  const heard: string[] = []
  const servers: LegacyServer[] = []

  beforeEach(async () => {
    heard.length = 0
    servers.length = 0
    vault.clear()
    for (const p of [alice, bob]) vault.set(p.id, p)
    const handle = subscribable(heard, servers)
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
    await resourceX(source).subscribe!(envOf(b, bob))
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
  it('a subscribe still waiting for the replaced source when a restart takes its subscriptions over is carried over too (the takeover could not see it)', async () => {
    const connections = (source as unknown as {connections: Connections}).connections
    // Idle: the subscribe waits for the upstream to start again, and the takeover happens meanwhile.
    while (!connections.shared.link.ready) await new Promise((r) => setTimeout(r, 10))
    source.sweep(0)
    const a = endableSession('s-a')
    const next = await startedSource(def)
    try {
      const subscribing = resourceX(source).subscribe!(envOf(a))
      const adopting = next.adoptSubscriptions(source.handOver(next))
      await subscribing
      await adopting
      assert.equal(subscriptionsOf(next).has('res://x', a), true, 'the subscription stayed behind on the replaced source')
    } finally {
      await next.stop()
    }
  })
  it('a subscription a restart carries over is not made again once its session unsubscribed meanwhile (it would get updates it declined, and hold the upstream subscribed)', async () => {
    await takeover(async (next, b) => {
      const adopting = next.adoptSubscriptions(source.handOver(next))
      // The catalog sends b's unsubscribe to the new source while the takeover is under way.
      await resourceX(next).unsubscribe!(envOf(b, bob))
      await adopting
    }, 'b unsubscribed, and is subscribed again')
  })
  it('an unsubscribe that was on its way through the replaced source when its subscriptions were taken over is not undone by the takeover', async () => {
    await takeover(async (next, b) => {
      // b's unsubscribe reached the old source before the swap, and waits there for its client when the swap takes what it holds.
      const unsubscribing = resourceX(source).unsubscribe!(envOf(b, bob))
      const adopting = next.adoptSubscriptions(source.handOver(next))
      await unsubscribing
      await adopting
    }, 'b was told it unsubscribed, and is subscribed again')
  })

  it("a log message the upstream sends outside any call reaches only the sessions whose key may see something of it, as the key stands now (a key scoped to other upstreams shares the process, not what it says)", async () => {
    const carol = keyPrincipal('carol', 'tool:elsewhere__*')
    vault.set(carol.id, carol)
    const [toA, toC]: ServerNotification[][] = [[], []]
    const a = endableSession('s-a', toA)
    const c = endableSession('s-c', toC)
    await source.setLogLevel('info', a, alice)
    await source.setLogLevel('info', c, carol)
    const upstream = servers.at(-1)!
    const logged = (notified: ServerNotification[]) => notified.filter((n) => n.method === 'notifications/message').length
    await upstream.sendLoggingMessage({level: 'info', data: 'first'})
    assert.ok(await until(() => logged(toA) === 1), 'a, in scope, hears the message')
    assert.equal(logged(toC), 0, 'c, scoped to another upstream, heard it')
    vault.set(alice.id, keyPrincipal('alice', 'resource:other://**'))
    await upstream.sendLoggingMessage({level: 'info', data: 'second'})
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(logged(toA), 1, 'a, narrowed, heard the second message')
  })

  it("deciding who hears a log message costs a lookup per session, not a scan of the upstream's listing per session and message (the upstream chooses both how much it lists and how often it logs)", async () => {
    let checks = 0
    class CountingScopes extends ScopeSet {
      override allows(...args: Parameters<ScopeSet['allows']>): boolean {
        checks++
        return super.allows(...args)
      }
    }
    const sessions = Array.from({length: 20}, (_, i) => endableSession(`s-${i}`))
    // Keys scoped to other upstreams: each check scans the whole listing and finds nothing.
    const elsewhere = Array.from({length: 20}, (_, i) => ({...keyPrincipal(`k${i}`), scopes: new CountingScopes(['tool:elsewhere__*'])}) as Principal)
    for (const p of elsewhere) vault.set(p.id, p)
    for (const [i, session] of sessions.entries()) await source.setLogLevel('info', session, elsewhere[i])
    const upstream = servers.at(-1)!
    await upstream.sendLoggingMessage({level: 'info', data: 'first'})
    assert.ok(await until(() => checks > 0), 'the first message was checked')
    const first = checks
    for (let i = 0; i < 5; i++) await upstream.sendLoggingMessage({level: 'info', data: `again ${i}`})
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(checks, first, `the same listing was scanned again for the same keys: ${checks - first} more scope checks for 5 messages`)
    // A narrowed key is a new scope set (a new vault record): decided again, once.
    vault.set(elsewhere[0].id, {...elsewhere[0], scopes: new CountingScopes(['resource:**'])})
    const toZero: ServerNotification[] = []
    await source.setLogLevel('info', endableSession('s-z', toZero), vault.get(elsewhere[0].id)!)
    await upstream.sendLoggingMessage({level: 'info', data: 'widened'})
    assert.ok(await until(() => toZero.length === 1), 'a key in scope hears the message')
  })

  it('an upstream that starts after the client\'s requests (a restart, an upstream added) knows whose they were: over stdio, a key that may see nothing of it is not asked for its roots', async () => {
    const asked: string[] = []
    const withRoots: ClientSession = {
      ...endableSession('s-stdio'),
      capabilities: () => ({roots: {}}),
      channel: {notify: async () => {}, request: async (request: {method: string}) => (asked.push(request.method), {roots: []})} as unknown as ClientSession['channel'],
    }
    const stdio = (from: UpstreamDefinition) =>
      new UpstreamSource({def: from, resolve: () => ({headers: {}}), version: '0', log: () => {}, mode: 'stdio', stdioSession: () => withRoots, budget: {allows: () => true, max: () => 10}, maxCallMs: () => 60_000, logRedactor: () => Redactor.none, current, principals})
    const elsewhere = keyPrincipal('elsewhere', 'tool:other__*')
    vault.set(elsewhere.id, elsewhere)
    const first = stdio(def)
    const later = stdio({...def, name: 'later'} as UpstreamDefinition)
    try {
      first.start()
      await first.firstList
      // The client's first list, before the later upstream existed.
      await first.attach(withRoots, elsewhere)
      later.start()
      await later.firstList
      await assert.rejects(servers.at(-1)!.listRoots(), 'the upstream got roots')
      assert.deepEqual(asked, [], 'the client was asked for its roots')
      // A key in scope is asked, as before.
      vault.set(elsewhere.id, keyPrincipal('elsewhere', 'resource:**'))
      await servers.at(-1)!.listRoots()
      assert.deepEqual(asked, ['roots/list'])
    } finally {
      await Promise.all([first.stop(), later.stop()])
    }
  })

  it('a restart carries the log levels its sessions set over to the new process: a session keeps hearing the log messages it asked for', async () => {
    const toA: ServerNotification[] = []
    const a = endableSession('s-a', toA)
    await source.setLogLevel('info', a, alice)
    const next = await startedSource(def)
    try {
      await next.adoptLogLevels(source)
      const upstream = servers.at(-1)!
      await upstream.sendLoggingMessage({level: 'info', data: 'from the new process'})
      assert.ok(await until(() => toA.some((n) => n.method === 'notifications/message')), 'a heard nothing from the new process')
    } finally {
      await next.stop()
    }
  })

  describe("a key's scopes narrowed while its sessions are subscribed (keys scope, then a reload)", () => {
    const updated = (notified: ServerNotification[]) => notified.filter((n) => n.method === 'notifications/resources/updated').length

    it('an update reaches only the subscribers whose key may read the resource now, from the moment the key narrowed (before any reload drops the subscription)', async () => {
      const [toA, toB]: ServerNotification[][] = [[], []]
      const a = endableSession('s-a', toA)
      const b = endableSession('s-b', toB)
      await resourceX(source).subscribe!(envOf(a))
      await resourceX(source).subscribe!(envOf(b, bob))
      const upstream = servers.at(-1)!
      await upstream.sendResourceUpdated({uri: 'res://x'})
      assert.ok(await until(() => updated(toA) === 1 && updated(toB) === 1), 'both subscribers hear the first update')
      vault.set(alice.id, keyPrincipal('alice', 'resource:other://**'))
      await upstream.sendResourceUpdated({uri: 'res://x'})
      assert.ok(await until(() => updated(toB) === 2), 'b, still in scope, hears the second')
      assert.equal(updated(toA), 1, 'a, narrowed, heard the second update')
      assert.equal(subscriptionsOf(source).has('res://x', a), true, 'nothing was dropped yet: the update itself was held back')
    })

    it("the reload's drop takes out the subscriptions a key may no longer read, and unsubscribes the upstream once no one who may read it is left", async () => {
      const a = endableSession('s-a')
      const b = endableSession('s-b')
      await resourceX(source).subscribe!(envOf(a))
      await resourceX(source).subscribe!(envOf(b, bob))
      assert.equal(source.dropUnreadable(), 0, 'nothing changed: nothing dropped')
      vault.set(alice.id, keyPrincipal('alice', 'resource:**', '!resource:res://x'))
      assert.equal(source.dropUnreadable(), 1)
      assert.equal(subscriptionsOf(source).has('res://x', a), false, 'a, narrowed, is still subscribed')
      assert.equal(subscriptionsOf(source).has('res://x', b), true, 'b lost a subscription it may keep')
      await new Promise((r) => setTimeout(r, 200))
      assert.deepEqual(heard, ['subscribe res://x'], 'the upstream was unsubscribed while b still holds the resource')
      // Revoked (no longer a principal at all): the same.
      vault.delete(bob.id)
      assert.equal(source.dropUnreadable(), 1)
      assert.equal(subscriptionsOf(source).size, 0)
      assert.ok(await until(() => heard.includes('unsubscribe res://x')), `the upstream stays subscribed for no one: ${heard.join()}`)
    })

    it("a principal whose scopes come with each request (a proxy's identity, an OAuth token) is held to its session's latest request", async () => {
      const carol = {...keyPrincipal('carol', 'resource:**'), id: 'proxy:carol', authType: 'proxy_header', keyId: undefined} as Principal
      const c = endableSession('s-c')
      await resourceX(source).subscribe!(envOf(c, carol))
      assert.equal(source.dropUnreadable(), 0)
      // The proxy's scope map narrowed (a reload); the session's next list or call carries the new scopes.
      await source.attach(c, {...carol, scopes: new ScopeSet(['resource:other://**'])})
      assert.equal(source.dropUnreadable(), 1)
      assert.equal(subscriptionsOf(source).size, 0)
    })

    it('a subscribe whose key narrowed while it waited for the upstream is refused, and nothing is kept', async () => {
      const connections = (source as unknown as {connections: Connections}).connections
      while (!connections.shared.link.ready) await new Promise((r) => setTimeout(r, 10))
      source.sweep(0)
      const a = endableSession('s-a')
      const subscribing = resourceX(source).subscribe!(envOf(a))
      vault.set(alice.id, keyPrincipal('alice', 'resource:other://**'))
      await assert.rejects(subscribing, /Unknown resource: res:\/\/x/)
      assert.equal(subscriptionsOf(source).size, 0, 'the narrowed key is subscribed')
    })

    it('a restart drops the subscription of a key narrowed meanwhile without warning of a failure (nothing failed: it is dropped on purpose)', async () => {
      const a = endableSession('s-a')
      const b = endableSession('s-b')
      await resourceX(source).subscribe!(envOf(a))
      await resourceX(source).subscribe!(envOf(b, bob))
      const logged: string[] = []
      const next = await startedSource(def, logged)
      try {
        vault.set(bob.id, keyPrincipal('bob', 'resource:other://**'))
        await next.adoptSubscriptions(source.handOver(next))
        assert.equal(subscriptionsOf(next).has('res://x', a), true, 'a lost its subscription')
        assert.equal(subscriptionsOf(next).has('res://x', b), false, 'b, narrowed, was subscribed again')
        assert.deepEqual(logged.filter((line) => line.startsWith('warn')), [])
      } finally {
        await next.stop()
      }
    })

    it('a restart does not carry over a subscription whose key may no longer read the resource', async () => {
      await takeover(async (next) => {
        vault.set(bob.id, keyPrincipal('bob', 'resource:other://**'))
        await next.adoptSubscriptions(source.handOver(next))
      }, 'b, narrowed, was subscribed again on the new process')
    })
  })
})

describe("gateway: an upstream source logs what its upstream says redacted", function () {
  this.timeout(20_000)

  it("a flood of list_changed costs one listing in flight and one after it, not a request each: an upstream that never answers cannot pile up keyward's requests", async () => {
    const servers: LegacyServer[] = []
    let lists = 0
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    // Lists one tool at first; after that each listing waits until released, then lists two.
    const handle = legacyUpstream(() => {
      const server = new LegacyServer({name: 'flood', version: '1.0.0'}, {capabilities: {tools: {listChanged: true}}})
      server.setRequestHandler(ListToolsRequestSchema, async () => {
        if (lists++ === 0) return {tools: [{name: 'a', inputSchema: {type: 'object' as const}}]}
        await held
        return {tools: [{name: 'a', inputSchema: {type: 'object' as const}}, {name: 'b', inputSchema: {type: 'object' as const}}]}
      })
      servers.push(server)
      return server
    })
    const http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const def = {name: 'up', transport: 'http', url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, headers: {}, prefix: true} as unknown as UpstreamDefinition
    const source = await startedSource(def)
    try {
      for (let i = 0; i < 200; i++) await servers.at(-1)!.sendToolListChanged()
      assert.ok(await until(() => lists >= 2))
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(lists, 2, 'one listing in flight, however many notifications came')
      release()
      // The notifications that came meanwhile are not lost: one more listing follows, and what it lists is seen.
      assert.ok(await until(() => lists === 3 && source.tools().length === 2), `${lists} listings, ${source.tools().length} tools`)
      await new Promise((r) => setTimeout(r, 200))
      assert.equal(lists, 3)
    } finally {
      release()
      await source.stop()
      http.closeAllConnections()
      http.close()
    }
  })

  it('a listing cut short by its bounds serves what fits and tells the operator once, however often the upstream has it listed again', async () => {
    const servers: LegacyServer[] = []
    let lists = 0
    // Pages for ever, one tool a page: every listing stops at 100 pages.
    const handle = legacyUpstream(() => {
      const server = new LegacyServer({name: 'endless', version: '1.0.0'}, {capabilities: {tools: {listChanged: true}}})
      server.setRequestHandler(ListToolsRequestSchema, async (request) => {
        const n = Number(request.params?.cursor ?? 0)
        if (n === 0) lists++
        return {tools: [{name: `t${n}`, inputSchema: {type: 'object' as const}}], nextCursor: String(n + 1)}
      })
      servers.push(server)
      return server
    })
    const http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const def = {name: 'up', transport: 'http', url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, headers: {}, prefix: true} as unknown as UpstreamDefinition
    const logged: string[] = []
    const source = await startedSource(def, logged)
    try {
      assert.equal(source.tools().length, 100)
      for (let i = 0; i < 2; i++) {
        const before = lists
        await servers.at(-1)!.sendToolListChanged()
        assert.ok(await until(() => lists > before), 'listed again')
      }
      await new Promise((r) => setTimeout(r, 300))
      const told = logged.filter((line) => line.includes("upstream up's tools ran past 100 pages, which keyward does not read: the first 100 are listed, and the rest are not"))
      assert.equal(told.length, 1, logged.join('\n'))
      assert.ok(told[0].startsWith('warn '))
    } finally {
      await source.stop()
      http.closeAllConnections()
      http.close()
    }
  })

  it('redacts a failed listing (an upstream error that quotes its secret) before the log', async () => {
    const SECRET = 'sk-live-0123456789abcdef'
    const servers: LegacyServer[] = []
    let lists = 0
    // A database server whose second listing fails with its driver's error, password included, as drivers write it.
    const handle = legacyUpstream(() => {
      const server = new LegacyServer({name: 'leaky', version: '1.0.0'}, {capabilities: {tools: {listChanged: true}}})
      server.setRequestHandler(ListToolsRequestSchema, async () => {
        if (lists++ > 0) throw new Error(`cannot reach postgres://app:${SECRET}@db:5432/app`)
        return {tools: []}
      })
      servers.push(server)
      return server
    })
    const http = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    const def = {name: 'up', transport: 'http', url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, headers: {}, prefix: true} as unknown as UpstreamDefinition
    const logged: string[] = []
    const source = await startedSource(def, logged, new Redactor([['DB_PASSWORD', SECRET]]))
    try {
      await servers.at(-1)!.sendToolListChanged()
      assert.ok(await until(() => logged.some((line) => line.includes('listing its tools failed'))), logged.join('\n'))
      assert.ok(logged.some((line) => line.includes('[REDACTED:DB_PASSWORD]')), logged.join('\n'))
      assert.ok(!logged.some((line) => line.includes(SECRET)), logged.join('\n'))
    } finally {
      await source.stop()
      http.closeAllConnections()
      http.close()
    }
  })
})
