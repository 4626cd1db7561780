/**
 * The gateway's upstream connection (src/server/gateway/link.ts) in process, against real SDK
 * servers of both protocol eras on loopback HTTP: it opens with initialize and moves to
 * 2026-07-28 when the upstream refuses that, relays what an upstream asks of its client (a 2025 elicitation request, or a
 * 2026 input request of a result) to the traffic router it is given, and restarts with backoff
 * when its upstream is away, saying why meanwhile.
 */
import assert from 'node:assert/strict'
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse} from 'node:http'
import {readdirSync, readFileSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {Server as LegacyServer} from '@modelcontextprotocol/sdk/server/index.js'
import {CallToolRequestSchema, ElicitResultSchema, ListToolsRequestSchema, SetLevelRequestSchema} from '@modelcontextprotocol/sdk/types.js'
import {createMcpHandler, inputRequired, Server as ModernServer, SUPPORTED_PROTOCOL_VERSIONS} from '@modelcontextprotocol/server'

import {Redactor} from '../../../../src/guard/redactor.js'
import {Connections} from '../../../../src/server/gateway/connections.js'
import {UpstreamLink, UpstreamUnavailable} from '../../../../src/server/gateway/link.js'
import type {Principal} from '../../../../src/auth/index.js'
import type {LinkTraffic} from '../../../../src/server/gateway/traffic.js'
import type {ClientSession} from '../../../../src/server/tools/source.js'
import type {UpstreamDefinition} from '../../../../src/upstreams/index.js'
import {endableSession, legacyUpstream} from '../../../helpers/gateway-units.js'

const ASK = {name: 'ask', description: 'Asks its client for a name', inputSchema: {type: 'object' as const, properties: {}}}
const NAME_SCHEMA = {type: 'object' as const, properties: {name: {type: 'string' as const}}, required: ['name']}

/** A 2026-07-28 upstream (only that revision, unless `dual`): its tool asks through an input request. */
function modernHandler(dual = false) {
  return createMcpHandler(() => {
    const server = new ModernServer({name: 'modern-upstream', version: '1.0.0'}, {capabilities: {tools: {listChanged: true}}, supportedProtocolVersions: ['2026-07-28', ...SUPPORTED_PROTOCOL_VERSIONS]})
    server.setRequestHandler('tools/list', async () => ({tools: [ASK]}))
    server.setRequestHandler('tools/call', async (_request, ctx) => {
      const answer = ctx.mcpReq.inputResponses?.who as {action?: string; content?: {name?: string}} | undefined
      if (!answer) return inputRequired({inputRequests: {who: inputRequired.elicit({message: 'Who are you?', requestedSchema: NAME_SCHEMA})}})
      return {content: [{type: 'text', text: `hello ${answer.content?.name}`}]}
    })
    return server
  }, {legacy: dual ? 'stateless' : 'reject'})
}

async function webRequest(req: IncomingMessage): Promise<Request> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value)
  return new Request(`http://${req.headers.host}${req.url}`, {method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined})
}

async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers))
  if (response.body) for await (const chunk of response.body) res.write(chunk)
  res.end()
}

/** A 2025-era upstream on the 1.x SDK: its tool sends elicitation/create to its client. */
function legacyHandler() {
  return legacyUpstream(() => {
    const server = new LegacyServer({name: 'legacy-upstream', version: '1.0.0'}, {capabilities: {tools: {}}})
    server.setRequestHandler(ListToolsRequestSchema, async () => ({tools: [ASK]}))
    server.setRequestHandler(CallToolRequestSchema, async (_request, extra) => {
      const answer = await extra.sendRequest({method: 'elicitation/create', params: {message: 'Who are you?', requestedSchema: NAME_SCHEMA}}, ElicitResultSchema)
      return {content: [{type: 'text', text: `hello ${(answer.content as {name?: string} | undefined)?.name}`}]}
    })
    return server
  })
}

/** Connections to a stdio upstream, as serve makes them (stateful, room for 10 processes), its processes run through tsx. */
function stdioConnections(def: UpstreamDefinition): Connections {
  return new Connections({
    def,
    mode: 'stateful',
    log: () => {},
    budget: {allows: () => true, max: () => 10},
    link: {def, resolve: () => ({env: {PATH: process.env.PATH ?? '', NODE_OPTIONS: '--import tsx'}}), version: '0', log: () => {}, logRedactor: () => Redactor.none},
    onConnected: async () => {},
    onListChanged: () => {},
    mayRead: () => true,
    mayHear: () => true,
  })
}

async function listen(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>, port = 0): Promise<HttpServer> {
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}

const portOf = (server: HttpServer) => (server.address() as AddressInfo).port

function definition(port: number): UpstreamDefinition {
  return {name: 'up', transport: 'http', url: `http://127.0.0.1:${port}/mcp`, headers: {}, prefix: true} as unknown as UpstreamDefinition
}

/** Traffic that answers every elicitation with a name, and records what it was asked. */
function answeringTraffic(asked: string[]): LinkTraffic {
  return {
    notify: () => {},
    request: async (_kind, request) => {
      asked.push(`${request.method}: ${(request.params as {message?: string}).message}`)
      return {action: 'accept', content: {name: 'Ada'}}
    },
  }
}

function link(port: number, asked: string[], log: string[] = []): UpstreamLink {
  return new UpstreamLink({
    def: definition(port),
    resolve: () => ({headers: {}}),
    logRedactor: () => Redactor.none,
    version: '0.0.0-test',
    log: (level, message) => void log.push(`${level}: ${message}`),
    capabilities: () => ({elicitation: {}}),
    traffic: answeringTraffic(asked),
  })
}

/** What a describe block's tests start (HTTP servers, links or connections), stopped after each test. */
function stoppedAfterEach<T extends {stop(): Promise<unknown>}>(): {servers: HttpServer[]; started: T[]} {
  const servers: HttpServer[] = []
  const started: T[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((l) => l.stop()))
    for (const s of servers.splice(0)) s.closeAllConnections(), s.close()
  })
  return {servers, started}
}

describe('gateway: the upstream link (in process)', function () {
  this.timeout(20_000)
  const {servers, started: links} = stoppedAfterEach<UpstreamLink>()

  it('takes 2026-07-28 from an upstream that speaks only that, and hands its input requests back to the caller (manual mode)', async () => {
    const handler = modernHandler()
    const http = await listen(async (req, res) => writeWebResponse(res, await handler.fetch(await webRequest(req))))
    servers.push(http)
    const asked: string[] = []
    const l = link(portOf(http), asked)
    links.push(l)
    l.start()
    const client = await l.client(10_000)
    assert.equal(l.era, 'modern')
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28')
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['ask'])
    const first = (await client.request({method: 'tools/call', params: {name: 'ask', arguments: {}}}, {allowInputRequired: true})) as unknown as {resultType: string; inputRequests: Record<string, {method: string}>}
    assert.equal(first.resultType, 'input_required')
    assert.deepEqual(Object.values(first.inputRequests).map((r) => r.method), ['elicitation/create'])
    // Not relayed through the connection's traffic: the source answers it per call (input.ts).
    assert.deepEqual(asked, [])
  })

  it('reads a 2026-07-28 result without resultType as complete, and warns once', async () => {
    const handler = modernHandler()
    const http = await listen(async (req, res) => {
      const response = await handler.fetch(await webRequest(req))
      const text = await response.text()
      // The reference server of conformance 0.2.0-alpha.11 left resultType out of its results.
      const stripped = text.replace(/"resultType":"complete",?/g, '')
      const headers = Object.fromEntries(response.headers)
      delete headers['content-length']
      res.writeHead(response.status, headers)
      res.end(stripped)
    })
    servers.push(http)
    const log: string[] = []
    const l = link(portOf(http), [], log)
    links.push(l)
    l.start()
    const client = await l.client(10_000)
    assert.equal(l.era, 'modern')
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['ask'])
    assert.equal(log.filter((line) => /leaves resultType out/.test(line)).length, 1)
  })

  it('takes 2026-07-28 from a dual-era upstream (server/discover first)', async () => {
    const handler = modernHandler(true)
    const http = await listen(async (req, res) => writeWebResponse(res, await handler.fetch(await webRequest(req))))
    servers.push(http)
    const l = link(portOf(http), [])
    links.push(l)
    l.start()
    const client = await l.client(10_000)
    assert.equal(l.era, 'modern')
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28')
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['ask'])
  })

  it('with the revision\'s own negotiation, takes 2026-07-28 from a dual-era upstream and falls back to initialize for a 2025-era one', async () => {
    const handler = modernHandler(true)
    const dual = await listen(async (req, res) => writeWebResponse(res, await handler.fetch(await webRequest(req))))
    const legacy = await listen(legacyHandler())
    servers.push(dual, legacy)
    const asked: string[] = []
    const [toDual, toLegacy] = [link(portOf(dual), asked), link(portOf(legacy), asked)]
    links.push(toDual, toLegacy)
    toDual.start()
    toLegacy.start()
    await Promise.all([toDual.client(10_000), toLegacy.client(10_000)])
    assert.deepEqual([toDual.era, toLegacy.era], ['modern', 'legacy'])
    const result = (await (await toLegacy.client(0)).request({method: 'tools/call', params: {name: 'ask', arguments: {}}})) as {content: {text: string}[]}
    assert.equal(result.content[0].text, 'hello Ada')
    assert.deepEqual(asked, ['elicitation/create: Who are you?'])
  })

  it('speaks 2025-11-25 to a 2025-era upstream, and relays its elicitation request', async () => {
    const http = await listen(legacyHandler())
    servers.push(http)
    const asked: string[] = []
    const l = link(portOf(http), asked)
    links.push(l)
    l.start()
    const client = await l.client(10_000)
    assert.equal(l.era, 'legacy')
    assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25')
    const result = (await client.request({method: 'tools/call', params: {name: 'ask', arguments: {}}})) as {content: {text: string}[]}
    assert.equal(result.content[0].text, 'hello Ada')
    assert.deepEqual(asked, ['elicitation/create: Who are you?'])
  })

  it('a log level asked for while the link tells its upstream an earlier one is told too, before the link is ready (CI: a session\'s logging/setLevel was lost)', async () => {
    const levels: string[] = []
    let told!: () => void
    const firstTold = new Promise<void>((resolve) => (told = resolve))
    const http = await listen(
      legacyUpstream(() => {
        const server = new LegacyServer({name: 'legacy-upstream', version: '1.0.0'}, {capabilities: {tools: {}, logging: {}}})
        server.setRequestHandler(ListToolsRequestSchema, async () => ({tools: []}))
        server.setRequestHandler(SetLevelRequestSchema, async (request) => {
          levels.push(request.params.level)
          told()
          await new Promise((resolve) => setTimeout(resolve, 200))
          return {}
        })
        return server
      }),
    )
    servers.push(http)
    let level: 'error' | 'debug' = 'error'
    const l = new UpstreamLink({def: definition(portOf(http)), resolve: () => ({headers: {}}), logRedactor: () => Redactor.none, version: '0.0.0-test', log: () => {}, capabilities: () => ({}), logLevel: () => level})
    links.push(l)
    l.start()
    await firstTold
    // A second session asks for more while the first level is in flight: the link is not ready, so nobody else tells the upstream.
    level = 'debug'
    await l.client(10_000)
    assert.deepEqual(levels, ['error', 'debug'])
  })

  it('refuses what the upstream asks when there is no client to ask', async () => {
    const http = await listen(legacyHandler())
    servers.push(http)
    const l = new UpstreamLink({def: definition(portOf(http)), resolve: () => ({headers: {}}),
    logRedactor: () => Redactor.none, version: '0', log: () => {}, capabilities: () => ({elicitation: {}})})
    links.push(l)
    l.start()
    const client = await l.client(10_000)
    await assert.rejects(client.request({method: 'tools/call', params: {name: 'ask', arguments: {}}}), /elicitation is not available: no client session to ask/)
  })

  it('says why while its upstream is away, and connects once it is back (backoff restarts)', async () => {
    const probe = await listen(async (_req, res) => void res.end())
    const port = portOf(probe)
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const log: string[] = []
    const l = link(port, [], log)
    links.push(l)
    l.start()
    await assert.rejects(l.client(2_000), (err: unknown) => err instanceof UpstreamUnavailable && /upstream up is unavailable: it did not start: .*; it restarts in \d+s/.test(err.message))
    assert.ok(log.some((line) => /^error: upstream up is down: it did not start/.test(line)), log.join('\n'))
    const handler = modernHandler()
    servers.push(await listen(async (req, res) => writeWebResponse(res, await handler.fetch(await webRequest(req))), port))
    const started = Date.now()
    let era: string | undefined
    while (Date.now() - started < 15_000 && !(era = l.era)) await new Promise((r) => setTimeout(r, 100))
    assert.equal(era, 'modern')
  })
})

describe('gateway: what an upstream answers reaches the log redacted', function () {
  this.timeout(20_000)
  const {servers, started: links} = stoppedAfterEach<UpstreamLink>()
  const SECRET = 'sk-live-0123456789abcdef'

  it("redacts a failed start's reason (an upstream's error that echoes its secret) before the log", async () => {
    // A database server whose listing fails with its driver's error, URL and password included, as drivers write it.
    const handle = legacyUpstream(() => {
      const server = new LegacyServer({name: 'leaky', version: '1.0.0'}, {capabilities: {tools: {}}})
      server.setRequestHandler(ListToolsRequestSchema, async () => {
        throw new Error(`cannot reach postgres://app:${SECRET}@db:5432/app`)
      })
      return server
    })
    servers.push(await listen(handle))
    const log: string[] = []
    const l = new UpstreamLink({
      def: definition(portOf(servers[0])),
      resolve: () => ({headers: {}}),
      logRedactor: () => new Redactor([['DB_PASSWORD', SECRET]]),
      version: '0.0.0-test',
      log: (level, message) => void log.push(`${level}: ${message}`),
      capabilities: () => ({}),
      // As the upstream source does (connected): a connection is ready once it has listed.
      onConnected: async (client) => void (await client.listTools()),
    })
    links.push(l)
    l.start()
    await assert.rejects(l.client(5_000), UpstreamUnavailable)
    assert.ok(log.some((line) => line.includes('is down') && line.includes('[REDACTED:DB_PASSWORD]')), log.join('\n'))
    assert.ok(!log.some((line) => line.includes(SECRET)), log.join('\n'))
  })
})

describe("gateway: a dual-era upstream's two sides (connections.ts)", function () {
  this.timeout(20_000)
  const {servers, started: all} = stoppedAfterEach<Connections>()

  async function connectionsTo(dual: boolean): Promise<Connections> {
    const handler = modernHandler(dual)
    const http = await listen(async (req, res) => writeWebResponse(res, await handler.fetch(await webRequest(req))))
    servers.push(http)
    const def = definition(portOf(http))
    const connections = new Connections({
      def,
      mode: 'stateful',
      log: () => {},
      budget: {allows: () => true, max: () => 10},
      link: {def, resolve: () => ({headers: {}}), version: '0', log: () => {}, logRedactor: () => Redactor.none},
      onConnected: async () => {},
      onListChanged: () => {},
      mayRead: () => true,
    mayHear: () => true,
    })
    all.push(connections)
    connections.shared.link.start()
    return connections
  }

  it('serves a 2025 caller on a connection of its own era, and a 2026-07-28 caller on the 2026-07-28 one', async () => {
    const connections = await connectionsTo(true)
    const modern = await connections.clientFor(connections.shared, 'modern', 10_000)
    const legacy = await connections.clientFor(connections.shared, 'legacy', 10_000)
    assert.deepEqual([modern.getProtocolEra(), legacy.getProtocolEra()], ['modern', 'legacy'])
    assert.equal(legacy.getNegotiatedProtocolVersion(), '2025-11-25')
    assert.equal(await connections.clientFor(connections.shared, 'legacy', 0), legacy, 'started once')
  })

  it('a 2025 side serves on its own: the idle 2026-07-28 side is not started again for a 2025 call', async () => {
    const connections = await connectionsTo(true)
    await connections.clientFor(connections.shared, 'modern', 10_000)
    const legacy = await connections.clientFor(connections.shared, 'legacy', 10_000)
    await connections.shared.link.suspend()
    assert.equal(await connections.clientFor(connections.shared, 'legacy', 0), legacy)
    assert.equal(connections.shared.link.suspended, true)
  })

  it('serves a 2025 caller on the one side of a 2026-07-28-only upstream (across the bridge)', async () => {
    const connections = await connectionsTo(false)
    const modern = await connections.clientFor(connections.shared, 'modern', 10_000)
    assert.equal(await connections.clientFor(connections.shared, 'legacy', 10_000), modern)
    assert.equal(connections.shared.legacy?.refusedLegacy, true)
  })

  it('starts no 2025 side for a call that raced the connection being stopped (a reload): nothing is left running', async () => {
    const connections = await connectionsTo(true)
    await connections.clientFor(connections.shared, 'modern', 10_000)
    const call = connections.clientFor(connections.shared, 'legacy', 10_000).catch(() => undefined)
    await connections.stop()
    await call
    await new Promise((r) => setTimeout(r, 500))
    assert.notEqual(connections.shared.legacy?.ready, true, 'a 2025 side connected after the stop')
  })

  it("tells a 2026-07-28-only upstream when a 2025 session that subscribed ends (no listen stream asks for the resource any more)", async () => {
    const handler = createMcpHandler(() => {
      const server = new ModernServer({name: 'subscribable', version: '1.0.0'}, {capabilities: {resources: {subscribe: true}}, supportedProtocolVersions: ['2026-07-28', ...SUPPORTED_PROTOCOL_VERSIONS]})
      server.setRequestHandler('resources/list', async () => ({resources: []}))
      return server
    }, {legacy: 'reject'})
    /** The listen streams open on the upstream, by what they ask for. */
    const open = new Set<string>()
    const http = await listen(async (req, res) => {
      const request = await webRequest(req)
      const body = await request.clone().text()
      if (body.includes('"subscriptions/listen"')) {
        open.add(body)
        res.once('close', () => open.delete(body))
      }
      await writeWebResponse(res, await handler.fetch(request))
    })
    servers.push(http)
    const def = definition(portOf(http))
    const connections = new Connections({
      def, mode: 'stateful', log: () => {}, budget: {allows: () => true, max: () => 10},
      link: {def, resolve: () => ({headers: {}}), version: '0', log: () => {}, logRedactor: () => Redactor.none},
      onConnected: async () => {}, onListChanged: () => {}, mayRead: () => true, mayHear: () => true,
    })
    all.push(connections)
    connections.shared.link.start()
    let onClose: (() => void) | undefined
    const session = {id: 's1', capabilities: () => ({}), channel: {notify: async () => {}, request: async () => ({})}, onClose: (l: () => void) => void (onClose = l)} as unknown as ClientSession
    const connection = connections.of(undefined, session)
    await connections.clientFor(connection, 'legacy', 10_000)
    assert.equal(connection.legacy?.refusedLegacy, true)
    connection.traffic.subscriptions.add('file:///a', session)
    await connection.link.resubscribe()
    const asking = () => [...open].filter((body) => body.includes('file:///a')).length
    assert.equal(asking(), 1)
    onClose!()
    const started = Date.now()
    while (Date.now() - started < 3_000 && asking() > 0) await new Promise((r) => setTimeout(r, 50))
    assert.equal(asking(), 0, 'a listen stream still asks for the resource of the session that ended')
  })

  it('counts no process for the 2025 side of a 2026-07-28-only stdio upstream: it refused initialize and exited (upstream.max-processes)', async () => {
    const fixture = path.resolve('test/fixtures/dual-era-upstream.ts')
    const def = {name: 'up', transport: 'stdio', command: process.execPath, args: ['--import', 'tsx', fixture, '--modern-only'], env: {}, prefix: true} as unknown as UpstreamDefinition
    const connections = stdioConnections(def)
    all.push(connections)
    connections.shared.link.start()
    const modern = await connections.clientFor(connections.shared, 'modern', 15_000)
    assert.equal(await connections.clientFor(connections.shared, 'legacy', 15_000), modern)
    assert.equal(connections.shared.legacy?.refusedLegacy, true)
    assert.equal(connections.processes, 1, 'one process runs: the 2026-07-28 side')
  })
})

describe("gateway: a 2026-07-28 upstream's listen stream (link.ts)", function () {
  this.timeout(20_000)
  const {servers, started: links} = stoppedAfterEach<UpstreamLink>()

  it('keeps one listen stream open however many resubscriptions race (none is left open on the upstream)', async () => {
    const handler = createMcpHandler(() => {
      const server = new ModernServer({name: 'subscribable', version: '1.0.0'}, {capabilities: {tools: {listChanged: true}, resources: {subscribe: true, listChanged: true}}, supportedProtocolVersions: ['2026-07-28', ...SUPPORTED_PROTOCOL_VERSIONS]})
      server.setRequestHandler('tools/list', async () => ({tools: [ASK]}))
      server.setRequestHandler('resources/list', async () => ({resources: []}))
      return server
    }, {legacy: 'reject'})
    let open = 0
    const http = await listen(async (req, res) => {
      const request = await webRequest(req)
      const body = await request.clone().text()
      if (body.includes('"subscriptions/listen"')) {
        open++
        res.once('close', () => open--)
      }
      await writeWebResponse(res, await handler.fetch(request))
    })
    servers.push(http)
    let uris = ['file:///a']
    const l = new UpstreamLink({
      def: definition(portOf(http)),
      resolve: () => ({headers: {}}),
      logRedactor: () => Redactor.none,
      version: '0',
      log: () => {},
      capabilities: () => ({}),
      onListChanged: () => {},
      subscribedUris: () => uris,
    })
    links.push(l)
    l.start()
    await l.client(10_000)
    const settled = async (want: number) => {
      const started = Date.now()
      while (Date.now() - started < 3_000 && open !== want) await new Promise((r) => setTimeout(r, 50))
    }
    await settled(1)
    assert.equal(open, 1, 'the stream opened at connect')
    uris = ['file:///a', 'file:///b']
    await Promise.all([l.resubscribe(), l.resubscribe(), l.resubscribe(), l.resubscribe()])
    await settled(1)
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(open, 1, 'one listen stream, the newest')
  })
})

/** The pids of live processes whose command line carries `marker`. */
function running(marker: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0]
      if (cmdline.includes(marker) && state !== 'Z') pids.push(Number(entry))
    } catch {
      // It exited while we looked.
    }
  }
  return pids
}

describe('gateway: a stdio upstream whose connect fails after its process started', function () {
  this.timeout(20_000)

  it('leaves no process behind: each attempt that fails in the server/discover probe has its process closed', async () => {
    const marker = `keyward-unusable-probe-${randomUUID()}`
    // Answers server/discover with only a revision newer than any the SDK speaks: the probe fails (not a 2025 verdict, which would go on to initialize).
    const script = `process.stdin.on('data', (d) => { for (const line of String(d).split('\\n')) { if (!line.trim()) continue; const m = JSON.parse(line); if (m.id !== undefined) process.stdout.write(JSON.stringify({jsonrpc: '2.0', id: m.id, error: {code: -32022, message: 'unsupported', data: {supported: ['2099-01-01']}}}) + '\\n') } }) // ${marker}`
    const def = {name: 'up', transport: 'stdio', command: process.execPath, args: ['-e', script], env: {}, prefix: true} as unknown as UpstreamDefinition
    const log: string[] = []
    const l = new UpstreamLink({def, resolve: () => ({env: {PATH: process.env.PATH ?? '', NODE_OPTIONS: '--import tsx'}}), version: '0', log: (level, message) => void log.push(`${level}: ${message}`), logRedactor: () => Redactor.none, capabilities: () => ({})})
    l.start()
    const started = Date.now()
    while (Date.now() - started < 8_000 && log.filter((line) => /is down: it did not start/.test(line)).length < 2) await new Promise((r) => setTimeout(r, 50))
    assert.ok(log.filter((line) => /is down: it did not start/.test(line)).length >= 2, log.join('\n'))
    await l.stop()
    const settled = Date.now()
    while (Date.now() - settled < 5_000 && running(marker).length > 0) await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(running(marker), [], 'a process of a failed attempt is still running')
  })
})

describe('gateway: a stdio upstream stopped while it starts', function () {
  this.timeout(20_000)

  it('leaves no process behind: a stop that comes while the process is being launched (its HOME prepared, its sandbox planned) still ends it', async () => {
    const marker = `keyward-stopped-while-starting-${randomUUID()}`
    // Never answers: only a stop ends it before the start timeout.
    const script = `process.stdin.resume() // ${marker}`
    const def = {name: 'up', transport: 'stdio', command: process.execPath, args: ['-e', script], env: {}, prefix: true} as unknown as UpstreamDefinition
    const home = path.join(os.tmpdir(), `keyward-home-${randomUUID()}`)
    const l = new UpstreamLink({def, resolve: () => ({env: {PATH: process.env.PATH ?? '', NODE_OPTIONS: '--import tsx'}, launch: {home, hidden: []}}), version: '0', log: () => {}, logRedactor: () => Redactor.none, capabilities: () => ({})})
    try {
      l.start()
      await l.stop()
      // Time for a launch that went on after the stop to spawn its process, and for a closed one to exit.
      await new Promise((r) => setTimeout(r, 2_000))
      assert.deepEqual(running(marker), [], 'the process started after its stop is still running')
    } finally {
      for (const pid of running(marker)) process.kill(pid, 'SIGKILL')
      await rm(home, {recursive: true, force: true})
    }
  })
})

describe('gateway: a request that outlives its session, or reaches an upstream being stopped (connections.ts)', function () {
  this.timeout(20_000)
  const {started: all} = stoppedAfterEach<Connections>()
  const principal = {id: 'alice'} as unknown as Principal

  /** Session-isolated connections to a stdio upstream that never answers, so a process started lives until stopped. */
  function sessionConnections(marker: string): Connections {
    const def = {name: 'up', transport: 'stdio', command: process.execPath, args: ['-e', `process.stdin.resume() // ${marker}`], env: {}, prefix: true, isolation: 'session'} as unknown as UpstreamDefinition
    const connections = stdioConnections(def)
    all.push(connections)
    return connections
  }

  /** What `work` threw, if it did. */
  function refusal(work: () => unknown): Error | undefined {
    try {
      work()
      return undefined
    } catch (err) {
      return err as Error
    }
  }

  async function settled(): Promise<void> {
    await new Promise((r) => setTimeout(r, 1_500))
  }

  afterEach(() => {
    for (const pid of running('keyward-outlived-')) process.kill(pid, 'SIGKILL')
  })

  it('starts no connection (no process) for a session that ended before its request reached the upstream', async () => {
    const marker = `keyward-outlived-session-${randomUUID()}`
    const connections = sessionConnections(marker)
    const gone = endableSession('s-gone')
    gone.end()
    const refused = refusal(() => connections.of(principal, gone))
    await settled()
    assert.deepEqual(running(marker), [], 'a process was started for a session that had ended')
    assert.ok(refused instanceof UpstreamUnavailable && /client session ended/.test(refused.message), String(refused))
  })

  it('starts no connection (no process) for a request that reaches it once it was stopped (shutdown), and stops what a live session had', async () => {
    const marker = `keyward-outlived-stop-${randomUUID()}`
    const connections = sessionConnections(marker)
    const live = endableSession('s-live')
    connections.of(principal, live)
    await connections.stop()
    const refused = refusal(() => connections.of(principal, endableSession('s-late')))
    await settled()
    assert.deepEqual(running(marker), [], 'a process is still running after the stop')
    assert.ok(refused instanceof UpstreamUnavailable && /was stopped/.test(refused.message), String(refused))
  })

  it('a session that ends later still has its connection stopped (its process ends)', async () => {
    const marker = `keyward-outlived-ends-${randomUUID()}`
    const connections = sessionConnections(marker)
    const s = endableSession('s-ends')
    connections.of(principal, s)
    const started = Date.now()
    while (Date.now() - started < 5_000 && running(marker).length === 0) await new Promise((r) => setTimeout(r, 50))
    assert.notDeepEqual(running(marker), [], 'its process started')
    s.end()
    const ending = Date.now()
    while (Date.now() - ending < 5_000 && running(marker).length > 0) await new Promise((r) => setTimeout(r, 100))
    assert.deepEqual(running(marker), [])
  })
})
