/**
 * The MCP server: the SDK's low-level Server with keyward's handlers, so that every list can
 * differ per principal and every call runs the call stages. The principal, and the runtime its
 * request is served with, reach handlers as extra.authInfo.extra, put there by the transport
 * after the request stages. A refused call is rendered here (renderCall); the client session a
 * server makes is wrapped for redaction before any source sees it.
 */
import {
  Server,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type CallToolResult,
  type GetPromptResult,
  type LoggingLevel,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type Result,
  type ServerCapabilities,
  type ServerContext,
  type Tool,
} from '@modelcontextprotocol/server'

import type {Principal} from '../auth/index.js'
import type {InputBridge, StartCall} from './bridge/bridge.js'
import type {CallContext} from './context.js'
import {type CacheableMethod, withCacheHint} from './era/cache-hints.js'
import {completeResult, type Identity} from './era/complete.js'
import {type Era, META, MODERN_VERSIONS} from './era/protocol.js'
import type {RequestMeta} from './era/request-meta.js'
import {Refusal, toolErrorOf} from './refusal.js'
import type {Runtime} from './runtime.js'
import type {Catalog} from './tools/catalog.js'
import {redactingSession, type CurrentRedactor} from './tools/redacting.js'
import type {CallEnv, ClientChannel, ClientSession, ItemKind, ItemResult, ServerInfo, ToolSource} from './tools/source.js'

/** The caller of a request, and the runtime it is served with: what the transport admitted. */
export interface Admitted {
  principal: Principal
  runtime: Runtime
}

/** What the gateway adds to a session: waiting for upstreams, and the session-wide requests it passes on. */
export interface SessionHooks {
  /**
   * Awaited before a list or a call is served, with the session (none in stateless mode) and the
   * caller: the first one waits, bounded, for upstreams still starting, and a session's own
   * upstream connections (isolation key or session) are started and waited for, as boundedly.
   */
  ready(session: ClientSession | undefined, principal: Principal): Promise<void>
  /** logging/setLevel, with the caller: who may hear an upstream's log messages that no call of its own caused is decided by its scopes. */
  setLogLevel(level: LoggingLevel, session: ClientSession | undefined, principal: Principal): Promise<void>
  rootsChanged(session: ClientSession | undefined): Promise<void>
}

export interface McpDeps {
  info: ServerInfo
  catalog: Catalog
  call: (ctx: CallContext) => Promise<ItemResult>
  /** What `initialize` declares of authentication (experimental.authentication), as it is now. */
  auth: () => {required: boolean; types: string[]; resource_metadata?: string}
  hooks?: SessionHooks
  /** False for the one server that all stateless requests share: it has no client session. */
  sessions: boolean
  /** The newest runtime's redactor, for what the session's channel carries outside any call. */
  redactor: CurrentRedactor
  /**
   * Where a handler finds its caller when the transport's own (authInfo) does not reach it: the
   * SDK's stdio entry (serveStdio) forwards messages without it, so stdio looks the request up
   * by its id in what its transport admitted.
   */
  admitted?: (id: string | number) => Admitted | undefined
  /** Holds the calls of 2026-07-28 clients that wait for input (server/bridge). */
  bridge?: InputBridge
}

let sessionCount = 0
const sessionsByServer = new WeakMap<Server, ClientSession>()

/** The client session an SDK server made by createMcpServer serves (none for the stateless one): redacted, as sources see it. */
export function sessionOf(server: Server): ClientSession | undefined {
  return sessionsByServer.get(server)
}

/** The client session of one SDK server: its capabilities, a channel to it, and its end. Never handed out unwrapped. */
function clientSession(server: Server): ClientSession {
  const listeners: (() => void)[] = []
  let closed = false
  const previous = server.onclose
  server.onclose = () => {
    closed = true
    previous?.()
    for (const listener of listeners.splice(0)) listener()
  }
  return {
    id: `session-${++sessionCount}`,
    capabilities: () => server.getClientCapabilities(),
    channel: {
      notify: (notification) => server.notification(notification),
      request: (request, options) => server.request(request as never, options),
    },
    // A listener added after the end (a request still on its way) hears of it at once, not never.
    onClose: (listener) => void (closed ? listener() : listeners.push(listener)),
  }
}

/** What the transport attaches to each admitted message: the caller, and the runtime its request is served with. */
export function authInfoFor(principal: Principal, runtime: Runtime): AuthInfo {
  return {token: '', clientId: principal.id, scopes: [...principal.scopes.sources], extra: {principal, runtime}}
}


function argumentsOf(params: {arguments?: unknown}): Record<string, unknown> {
  return (params.arguments ?? {}) as Record<string, unknown>
}

/** The MCP server's rendering of a refused call: a tool error the model reads, or the JSON-RPC error the SDK sends. */
async function renderCall(kind: ItemKind, call: () => Promise<ItemResult>): Promise<ItemResult> {
  try {
    return await call()
  } catch (err) {
    if (kind === 'tool' && err instanceof Refusal && err.asToolError) return toolErrorOf(err)
    throw err
  }
}

/** What a modern request's `_meta` declared, as the SDK hands it to a handler (validated by the era stage first). */
function requestMetaOf(ctx: ServerContext): RequestMeta {
  const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>
  const token = (ctx.mcpReq._meta as {progressToken?: unknown} | undefined)?.progressToken
  return {
    protocolVersion: String(envelope[META.protocolVersion]),
    clientCapabilities: (envelope[META.clientCapabilities] ?? {}) as Record<string, unknown>,
    ...(typeof envelope[META.logLevel] === 'string' ? {logLevel: envelope[META.logLevel] as string} : {}),
    ...(typeof token === 'string' || typeof token === 'number' ? {progressToken: token} : {}),
  }
}

/** One server's handlers share these: its catalog, its session, its era, and how to build a call. */
class Handlers {
  constructor(
    readonly deps: McpDeps,
    readonly session: ClientSession | undefined,
    readonly era: Era,
    /** The identity the SDK server was built with: what a modern answer names in its `_meta`. */
    readonly identity: Identity,
  ) {}

  ready(ctx: ServerContext): Promise<void> {
    return this.deps.hooks?.ready(this.session, this.admitted(ctx).principal) ?? Promise.resolve()
  }

  /** The caller the transport admitted this request for; a request without one is refused. */
  admitted(ctx: ServerContext): Admitted {
    const extra = ctx.http?.authInfo?.extra as Partial<Admitted> | undefined
    const admitted = extra?.principal && extra.runtime ? (extra as Admitted) : this.deps.admitted?.(ctx.mcpReq.id)
    // Unreachable when the transports are wired right; deny rather than serve an unknown caller.
    if (!admitted) throw Refusal.noPrincipal()
    return admitted
  }

  /**
   * A call runs the call stages, after waiting (as a list does) for upstreams still starting. A
   * 2025 client is asked for input (sampling, elicitation, roots) directly; a 2026-07-28 one
   * through the bridge, whose retry (with the state it was given) resumes the held call. A
   * 2026-07-28 call of an item that never asks (keyward's own tools) runs on its round, as a
   * 2025 call does; every modern answer is made whole here (era/complete.ts).
   */
  async call(kind: ItemKind, name: string, args: Record<string, unknown>, ctx: ServerContext): Promise<ItemResult | Result> {
    await this.ready(ctx)
    const {principal, runtime} = this.admitted(ctx)
    const meta = ctx.mcpReq._meta as Record<string, unknown> | undefined
    const bridge = this.deps.bridge
    if (this.era === 'legacy' || !bridge) {
      const client: ClientChannel = {notify: (n) => ctx.mcpReq.notify(n), request: (request, options) => ctx.mcpReq.send(request as never, options)}
      const declared = this.session?.capabilities()
      return renderCall(kind, () => this.deps.call({runtime, principal, era: this.era, kind, name, arguments: args, signal: ctx.mcpReq.signal, meta, session: this.session, client, declared}))
    }
    const binding = {principal: principal.id, method: ctx.mcpReq.method, name}
    const requestMeta = requestMetaOf(ctx)
    const round = {meta: requestMeta, notify: (n: Parameters<ClientChannel['notify']>[0]) => ctx.mcpReq.notify(n), signal: ctx.mcpReq.signal}
    const logLevel = requestMeta.logLevel as LoggingLevel | undefined
    const run: StartCall = (client, signal, input) =>
      this.deps.call({runtime, principal, era: this.era, kind, name, arguments: args, signal, meta, session: this.session, client, declared: requestMeta.clientCapabilities, input, logLevel})
    const state = ctx.mcpReq.requestState()
    if (state === undefined) {
      // Only keyward's own tools never ask; a resource lookup could walk every template for nothing.
      const direct = kind === 'tool' && this.deps.catalog.find(kind, principal.scopes, name, this.session)?.neverAsks
      return completeResult(await renderCall(kind, () => (direct ? bridge.run(round, run) : bridge.call(principal, binding, round, run)) as Promise<ItemResult>), this.identity)
    }
    // A retry resumes a call the stages admitted; the caller must still be allowed the item.
    if (!this.deps.catalog.find(kind, principal.scopes, name, this.session)) throw bridge.refuseRetry(principal, binding, Refusal.unknownItem(kind, name, 'out_of_scope'))
    return completeResult(await renderCall(kind, () => bridge.resume(principal, binding, String(state), ctx.mcpReq.inputResponses, round, run) as Promise<ItemResult>), this.identity)
  }

  /** A modern list or read carries keyward's cache hint: private to the caller (it is filtered by its scopes), keyward's TTL. */
  hinted<T extends Record<string, unknown>>(method: CacheableMethod, result: T): T {
    return this.era === 'modern' ? completeResult(withCacheHint(method, result), this.identity) : result
  }

  /** What a source is given outside a call (completion, subscriptions): redacted with the request's runtime. */
  env(ctx: ServerContext): CallEnv {
    const {principal, runtime} = this.admitted(ctx)
    return {principal, server: this.deps.info, signal: ctx.mcpReq.signal, session: this.session, era: this.era, redaction: {redactor: runtime.redactor, found: new Set()}}
  }

  /** What the caller's scopes allow of one kind, once upstreams still starting had their (bounded) chance to list. */
  async list(kind: 'tool', ctx: ServerContext): Promise<Tool[]>
  async list(kind: 'prompt', ctx: ServerContext): Promise<Prompt[]>
  async list(kind: 'resource', ctx: ServerContext): Promise<Resource[]>
  async list(kind: ItemKind, ctx: ServerContext): Promise<(Tool | Prompt | Resource)[]> {
    await this.ready(ctx)
    return this.deps.catalog.list(kind, this.admitted(ctx).principal.scopes, this.session)
  }
}

/**
 * One SDK server, serving one era for its life. A 2025 one is what a 2025 client (stdio, a
 * stateful session, the shared stateless server) talks to, byte for byte as before the SDK v2.
 * A 2026-07-28 one (one per HTTP request, or the stdio connection's) lists the modern revision,
 * so the SDK answers server/discover and binds it to that revision when its transport says so;
 * it has no client session (the revision has no server-to-client messages) and does not offer
 * resource subscriptions (keyward does not pass resource updates to modern clients yet).
 */
export function createMcpServer(deps: McpDeps, era: Era = 'legacy'): Server {
  const capabilities: ServerCapabilities = {
    tools: {listChanged: true},
    prompts: {listChanged: true},
    resources: {listChanged: true},
    logging: {},
    completions: {},
    // As the seed declared it: whether this server requires authentication, and which kinds.
    experimental: {authentication: deps.auth()},
  }
  const modern = era === 'modern'
  const identity: Identity = {name: deps.info.name, version: deps.info.version}
  const server = new Server(
    identity,
    {capabilities, ...(modern ? {supportedProtocolVersions: [...MODERN_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS]} : {})},
  )
  if (!modern) server.registerCapabilities({resources: {listChanged: true, subscribe: true}})
  const session = deps.sessions && !modern ? redactingSession(clientSession(server), deps.redactor) : undefined
  if (session) sessionsByServer.set(server, session)
  const handlers = new Handlers(deps, session, era, identity)
  registerLists(server, handlers)
  registerCalls(server, handlers)
  registerResourceRequests(server, handlers)
  registerSessionRequests(server, handlers)
  return server
}

/** tools/list, prompts/list and resources/list: one handler (Handlers.list), what the caller's scopes allow of each kind. */
function registerLists(server: Server, h: Handlers): void {
  server.setRequestHandler('tools/list', async (_request, ctx) => h.hinted('tools/list', {tools: await h.list('tool', ctx)}))
  server.setRequestHandler('prompts/list', async (_request, ctx) => h.hinted('prompts/list', {prompts: await h.list('prompt', ctx)}))
  server.setRequestHandler('resources/list', async (_request, ctx) => h.hinted('resources/list', {resources: await h.list('resource', ctx)}))
  server.setRequestHandler('resources/templates/list', async (_request, ctx) => {
    await h.ready(ctx)
    return h.hinted('resources/templates/list', {resourceTemplates: h.deps.catalog.templates(h.admitted(ctx).principal.scopes)})
  })
}

function registerCalls(server: Server, h: Handlers): void {
  server.setRequestHandler('tools/call', async (request, ctx) => (await h.call('tool', request.params.name, argumentsOf(request.params), ctx)) as CallToolResult)
  server.setRequestHandler('prompts/get', async (request, ctx) => (await h.call('prompt', request.params.name, argumentsOf(request.params), ctx)) as GetPromptResult)
  server.setRequestHandler('resources/read', async (request, ctx) => {
    const result = (await h.call('resource', request.params.uri, {}, ctx)) as ReadResourceResult
    return result.resultType === 'input_required' ? result : h.hinted('resources/read', result)
  })
}

/** resources/subscribe and resources/unsubscribe, for a resource the caller may read; completion/complete. */
function registerResourceRequests(server: Server, h: Handlers): void {
  const {catalog} = h.deps
  const subscription = (method: 'subscribe' | 'unsubscribe') => async (request: {params: {uri: string}}, ctx: ServerContext) => {
    await h.ready(ctx)
    const item = catalog.find('resource', h.admitted(ctx).principal.scopes, request.params.uri, h.session)
    if (!item) throw Refusal.unknownItem('resource', request.params.uri, 'unknown')
    const act = method === 'subscribe' ? item.subscribe : item.unsubscribe
    if (!act) throw Refusal.notSupported(`resource ${request.params.uri} does not support subscriptions`)
    await act.call(item, h.env(ctx))
    return {}
  }
  server.setRequestHandler('resources/subscribe', subscription('subscribe'))
  server.setRequestHandler('resources/unsubscribe', subscription('unsubscribe'))
  server.setRequestHandler('completion/complete', async (request, ctx) => {
    await h.ready(ctx)
    const scopes = h.admitted(ctx).principal.scopes
    const ref = request.params.ref
    let source: ToolSource | undefined
    if (ref.type === 'ref/prompt') {
      const item = catalog.find('prompt', scopes, ref.name, h.session)
      source = item && catalog.sourceOf(item, h.session)
    } else {
      const item = catalog.find('resource', scopes, ref.uri, h.session)
      source = item ? catalog.sourceOf(item, h.session) : catalog.templateSource(scopes, ref.uri)
    }
    return source?.complete ? source.complete(request.params, h.env(ctx)) : {completion: {values: []}}
  })
}

/** logging/setLevel and the client's roots: what the gateway passes on for this session. */
function registerSessionRequests(server: Server, h: Handlers): void {
  server.setRequestHandler('logging/setLevel', async (request, ctx) => {
    await h.deps.hooks?.setLogLevel(request.params.level, h.session, h.admitted(ctx).principal)
    return {}
  })
  server.setNotificationHandler('notifications/roots/list_changed', () => void h.deps.hooks?.rootsChanged(h.session))
}

/** Who hears of list changes: a client connection, or a 2026-07-28 client's listen stream. */
export interface ListWatcher {
  /** The principal of its latest request (ConnectedServers takes it as it stands now); none yet (a stdio client before its first message): nothing to tell. */
  principal(): Principal | undefined
  /** The session whose items it sees (a session with upstream connections of its own). */
  session?: ClientSession
  changed(kind: ItemKind): void
}

/**
 * The servers with a client on the other end (stdio, stateful HTTP sessions) and the listen
 * streams of modern clients. When the catalog changes, each hears `notifications/*\/list_changed`
 * if what its principal may see changed. The principal is taken as it stands now (`current`):
 * a key narrowed since the watcher's last request is told its lists changed when the reload
 * rebuilds the catalog, and never hears of a change it may no longer see.
 */
export class ConnectedServers {
  private readonly watchers = new Map<ListWatcher, Partial<Record<ItemKind, string>>>()
  private readonly byServer = new Map<Server, ListWatcher>()

  constructor(
    private readonly catalog: Catalog,
    /** The principal as it stands now, none once it is no longer valid (Authenticators.current). */
    private readonly current: (principal: Principal) => Principal | undefined = (principal) => principal,
  ) {
    catalog.onChange((kind) => this.changed(kind))
  }

  private principalOf(watcher: ListWatcher): Principal | undefined {
    const principal = watcher.principal()
    return principal && this.current(principal)
  }

  private view(kind: ItemKind, principal: Principal, session: ClientSession | undefined): string {
    return this.catalog.list(kind, principal.scopes, session).map((d) => (kind === 'resource' ? (d as {uri: string}).uri : (d as {name: string}).name)).join('\0')
  }

  /** Starts telling `watcher` of changes to what its principal sees; returns the way to stop. */
  watch(watcher: ListWatcher): () => void {
    const seen: Partial<Record<ItemKind, string>> = {}
    const p = this.principalOf(watcher)
    if (p) for (const kind of ['tool', 'prompt', 'resource'] as const) seen[kind] = this.view(kind, p, watcher.session)
    this.watchers.set(watcher, seen)
    return () => this.watchers.delete(watcher)
  }

  add(server: Server, principal: () => Principal | undefined): void {
    const watcher: ListWatcher = {
      principal,
      session: sessionOf(server),
      changed: (kind) => {
        const send = kind === 'tool' ? server.sendToolListChanged() : kind === 'prompt' ? server.sendPromptListChanged() : server.sendResourceListChanged()
        void send.catch(() => {})
      },
    }
    this.byServer.set(server, watcher)
    this.watch(watcher)
  }

  delete(server: Server): void {
    const watcher = this.byServer.get(server)
    if (watcher) this.watchers.delete(watcher)
    this.byServer.delete(server)
  }

  private changed(kind: ItemKind): void {
    for (const [watcher, seen] of this.watchers) {
      const principal = this.principalOf(watcher)
      if (!principal) continue
      const now = this.view(kind, principal, watcher.session)
      if (now === seen[kind]) continue
      seen[kind] = now
      watcher.changed(kind)
    }
  }
}
