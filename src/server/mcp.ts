/**
 * The MCP server: the SDK's low-level Server with keyward's handlers, so that every list can
 * differ per principal and every call runs the call stages. The principal, and the runtime its
 * request is served with, reach handlers as extra.authInfo.extra, put there by the transport
 * after the request stages. A refused call is rendered here (renderCall); the client session a
 * server makes is wrapped for redaction before any source sees it.
 */
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import {Server} from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type LoggingLevel,
  type Prompt,
  type Resource,
  type Tool,
  type GetPromptResult,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js'

import type {Principal} from '../auth/index.js'
import type {CallContext} from './context.js'
import {Refusal, toolErrorOf} from './refusal.js'
import type {Runtime} from './runtime.js'
import type {Catalog} from './tools/catalog.js'
import {redactingSession, type CurrentRedactor} from './tools/redacting.js'
import type {CallEnv, ClientSession, ItemKind, ItemResult, ServerInfo, ToolSource} from './tools/source.js'

/** What the SDK gives a request handler: the caller, the abort signal, the way back to the client. */
interface RequestExtra {
  authInfo?: AuthInfo
  signal: AbortSignal
  sendNotification(notification: ServerNotification): Promise<void>
  sendRequest(request: ServerRequest, schema: unknown, options?: {signal?: AbortSignal; timeout?: number}): Promise<unknown>
}

/** What the gateway adds to a session: waiting for upstreams, and the session-wide requests it passes on. */
export interface SessionHooks {
  /**
   * Awaited before a list or a call is served, with the session (none in stateless mode) and the
   * caller: the first one waits, bounded, for upstreams still starting, and a session's own
   * upstream connections (isolation key or session) are started and waited for, as boundedly.
   */
  ready(session: ClientSession | undefined, principal: Principal): Promise<void>
  setLogLevel(level: LoggingLevel, session: ClientSession | undefined): Promise<void>
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
  const previous = server.onclose
  server.onclose = () => {
    previous?.()
    for (const listener of listeners.splice(0)) listener()
  }
  return {
    id: `session-${++sessionCount}`,
    capabilities: () => server.getClientCapabilities(),
    channel: {
      notify: (notification) => server.notification(notification),
      request: (request, schema, options) => server.request(request, schema as never, options) as never,
    },
    onClose: (listener) => void listeners.push(listener),
  }
}

/** What the transport attaches to each admitted message: the caller, and the runtime its request is served with. */
export function authInfoFor(principal: Principal, runtime: Runtime): AuthInfo {
  return {token: '', clientId: principal.id, scopes: [...principal.scopes.sources], extra: {principal, runtime}}
}

function admittedOf(authInfo: AuthInfo | undefined): {principal: Principal; runtime: Runtime} {
  const extra = authInfo?.extra as {principal?: Principal; runtime?: Runtime} | undefined
  // Unreachable when the transports are wired right; deny rather than serve an unknown caller.
  if (!extra?.principal || !extra.runtime) throw Refusal.noPrincipal()
  return {principal: extra.principal, runtime: extra.runtime}
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

/** One server's handlers share these: its catalog, its session, and how to build a call. */
class Handlers {
  constructor(
    readonly deps: McpDeps,
    readonly session: ClientSession | undefined,
  ) {}

  ready(extra: RequestExtra): Promise<void> {
    return this.deps.hooks?.ready(this.session, admittedOf(extra.authInfo).principal) ?? Promise.resolve()
  }

  /** A call runs the call stages, after waiting (as a list does) for upstreams still starting. */
  async call(kind: ItemKind, name: string, args: Record<string, unknown>, extra: RequestExtra, meta?: Record<string, unknown>): Promise<ItemResult> {
    await this.ready(extra)
    const {principal, runtime} = admittedOf(extra.authInfo)
    const client = {
      notify: (notification: ServerNotification) => extra.sendNotification(notification),
      request: <T>(request: ServerRequest, schema: unknown, options?: {signal?: AbortSignal; timeout?: number}) => extra.sendRequest(request, schema, options) as Promise<T>,
    }
    return renderCall(kind, () => this.deps.call({runtime, principal, kind, name, arguments: args, signal: extra.signal, meta, session: this.session, client}))
  }

  /** What a source is given outside a call (completion, subscriptions): redacted with the request's runtime. */
  env(extra: RequestExtra): CallEnv {
    const {principal, runtime} = admittedOf(extra.authInfo)
    return {principal, server: this.deps.info, signal: extra.signal, session: this.session, redaction: {redactor: runtime.redactor, found: new Set()}}
  }

  /** What the caller's scopes allow of one kind, once upstreams still starting had their (bounded) chance to list. */
  async list(kind: 'tool', extra: RequestExtra): Promise<Tool[]>
  async list(kind: 'prompt', extra: RequestExtra): Promise<Prompt[]>
  async list(kind: 'resource', extra: RequestExtra): Promise<Resource[]>
  async list(kind: ItemKind, extra: RequestExtra): Promise<(Tool | Prompt | Resource)[]> {
    await this.ready(extra)
    return this.deps.catalog.list(kind, admittedOf(extra.authInfo).principal.scopes, this.session)
  }
}

export function createMcpServer(deps: McpDeps): Server {
  const server = new Server(
    {name: deps.info.name, version: deps.info.version},
    {
      capabilities: {
        tools: {listChanged: true},
        prompts: {listChanged: true},
        resources: {listChanged: true},
        logging: {},
        completions: {},
        // As the seed declared it: whether this server requires authentication, and which kinds.
        experimental: {authentication: deps.auth()},
      },
    },
  )
  server.registerCapabilities({resources: {listChanged: true, subscribe: true}})
  const session = deps.sessions ? redactingSession(clientSession(server), deps.redactor) : undefined
  if (session) sessionsByServer.set(server, session)
  const handlers = new Handlers(deps, session)
  registerLists(server, handlers)
  registerCalls(server, handlers)
  registerResourceRequests(server, handlers)
  registerSessionRequests(server, handlers)
  return server
}

/** tools/list, prompts/list and resources/list: one handler (Handlers.list), what the caller's scopes allow of each kind. */
function registerLists(server: Server, h: Handlers): void {
  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({tools: await h.list('tool', extra)}))
  server.setRequestHandler(ListPromptsRequestSchema, async (_request, extra) => ({prompts: await h.list('prompt', extra)}))
  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => ({resources: await h.list('resource', extra)}))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (_request, extra) => {
    await h.ready(extra)
    return {resourceTemplates: h.deps.catalog.templates(admittedOf(extra.authInfo).principal.scopes)}
  })
}

function registerCalls(server: Server, h: Handlers): void {
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => (await h.call('tool', request.params.name, argumentsOf(request.params), extra, request.params._meta)) as CallToolResult)
  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => (await h.call('prompt', request.params.name, argumentsOf(request.params), extra, request.params._meta)) as GetPromptResult)
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => (await h.call('resource', request.params.uri, {}, extra, request.params._meta)) as ReadResourceResult)
}

/** resources/subscribe and resources/unsubscribe, for a resource the caller may read; completion/complete. */
function registerResourceRequests(server: Server, h: Handlers): void {
  const {catalog} = h.deps
  const subscription = (method: 'subscribe' | 'unsubscribe') => async (request: {params: {uri: string}}, extra: RequestExtra) => {
    await h.ready(extra)
    const item = catalog.find('resource', admittedOf(extra.authInfo).principal.scopes, request.params.uri, h.session)
    if (!item) throw Refusal.unknownItem('resource', request.params.uri, 'unknown')
    const act = method === 'subscribe' ? item.subscribe : item.unsubscribe
    if (!act) throw Refusal.notSupported(`resource ${request.params.uri} does not support subscriptions`)
    await act.call(item, h.env(extra))
    return {}
  }
  server.setRequestHandler(SubscribeRequestSchema, subscription('subscribe'))
  server.setRequestHandler(UnsubscribeRequestSchema, subscription('unsubscribe'))
  server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    await h.ready(extra)
    const scopes = admittedOf(extra.authInfo).principal.scopes
    const ref = request.params.ref
    let source: ToolSource | undefined
    if (ref.type === 'ref/prompt') {
      const item = catalog.find('prompt', scopes, ref.name, h.session)
      source = item && catalog.sourceOf(item, h.session)
    } else {
      const item = catalog.find('resource', scopes, ref.uri, h.session)
      source = item ? catalog.sourceOf(item, h.session) : catalog.templateSource(scopes, ref.uri)
    }
    return source?.complete ? source.complete(request.params, h.env(extra)) : {completion: {values: []}}
  })
}

/** logging/setLevel and the client's roots: what the gateway passes on for this session. */
function registerSessionRequests(server: Server, h: Handlers): void {
  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    await h.deps.hooks?.setLogLevel(request.params.level, h.session)
    return {}
  })
  server.setNotificationHandler(RootsListChangedNotificationSchema, () => void h.deps.hooks?.rootsChanged(h.session))
}

/**
 * The servers with a client on the other end (stdio, stateful HTTP sessions). When the catalog
 * changes, each hears `notifications/*\/list_changed` if what its principal may see changed.
 */
export class ConnectedServers {
  private readonly servers = new Map<Server, {principal: () => Principal | undefined; seen: Partial<Record<ItemKind, string>>}>()

  constructor(private readonly catalog: Catalog) {
    catalog.onChange((kind) => this.changed(kind))
  }

  private view(kind: ItemKind, principal: Principal, server: Server): string {
    return this.catalog.list(kind, principal.scopes, sessionOf(server)).map((d) => (kind === 'resource' ? (d as {uri: string}).uri : (d as {name: string}).name)).join('\0')
  }

  add(server: Server, principal: () => Principal | undefined): void {
    const seen: Partial<Record<ItemKind, string>> = {}
    const p = principal()
    if (p) for (const kind of ['tool', 'prompt', 'resource'] as const) seen[kind] = this.view(kind, p, server)
    this.servers.set(server, {principal, seen})
  }

  delete(server: Server): void {
    this.servers.delete(server)
  }

  private changed(kind: ItemKind): void {
    for (const [server, entry] of this.servers) {
      const principal = entry.principal()
      if (!principal) continue
      const now = this.view(kind, principal, server)
      if (now === entry.seen[kind]) continue
      entry.seen[kind] = now
      const send = kind === 'tool' ? server.sendToolListChanged() : kind === 'prompt' ? server.sendPromptListChanged() : server.sendResourceListChanged()
      void send.catch(() => {})
    }
  }
}

