/**
 * The MCP server: the SDK's low-level Server with keyward's handlers, so that every list can
 * differ per principal and every call runs the call stages. The principal reaches handlers as
 * extra.authInfo.extra.principal, put there by the transport after the request stages.
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
  type CompleteRequest,
  type CompleteResult,
  type LoggingLevel,
  type GetPromptResult,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js'

import type {Principal} from '../auth/index.js'
import type {CallContext} from './context.js'
import {RpcError, RPC} from './pipeline/chain.js'
import type {Catalog} from './tools/catalog.js'
import type {ClientSession, ItemKind, ItemResult, ServerInfo, ToolSource} from './tools/source.js'

/** What the SDK gives a request handler: the caller, the abort signal, the way back to the client. */
interface RequestExtra {
  authInfo?: AuthInfo
  signal: AbortSignal
  sendNotification(notification: ServerNotification): Promise<void>
  sendRequest(request: ServerRequest, schema: unknown, options?: {signal?: AbortSignal; timeout?: number}): Promise<unknown>
}

/** What the gateway adds to a session: waiting for upstreams, and the session-wide requests it passes on. */
export interface SessionHooks {
  /** Awaited before a list is answered (the first one waits, bounded, for upstreams still starting). */
  ready(): Promise<void>
  setLogLevel(level: LoggingLevel, session: ClientSession | undefined): Promise<void>
  rootsChanged(session: ClientSession | undefined): Promise<void>
}

/** A source that completes arguments of its prompts and resource templates. */
interface Completing extends ToolSource {
  complete(params: CompleteRequest['params'], env: unknown): Promise<CompleteResult>
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
  /** Applied to every notification and request sent to the client (secret redaction). */
  outbound?: <T>(message: T) => T
}

let sessionCount = 0
const sessionsByServer = new WeakMap<Server, ClientSession>()

/** The client session an SDK server made by createMcpServer serves (none for the stateless one). */
export function sessionOf(server: Server): ClientSession | undefined {
  return sessionsByServer.get(server)
}

/** The client session of one SDK server: its capabilities, a channel to it, and its end. */
function clientSession(server: Server, outbound: <T>(message: T) => T): ClientSession {
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
      notify: (notification) => server.notification(outbound(notification)),
      request: (request, schema, options) => server.request(outbound(request), schema as never, options) as never,
    },
    onClose: (listener) => void listeners.push(listener),
  }
}

/** What the transport attaches to each admitted message. */
export function authInfoFor(principal: Principal): AuthInfo {
  return {token: '', clientId: principal.id, scopes: [...principal.scopes.sources], extra: {principal}}
}

function principalOf(authInfo: AuthInfo | undefined): Principal {
  const principal = authInfo?.extra?.principal as Principal | undefined
  // Unreachable when the transports are wired right; deny rather than serve an unknown caller.
  if (!principal) throw new RpcError(RPC.UNAUTHORIZED, 'Unauthorized')
  return principal
}

function argumentsOf(params: {arguments?: unknown}): Record<string, unknown> {
  return (params.arguments ?? {}) as Record<string, unknown>
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
  const {catalog} = deps
  const outbound = deps.outbound ?? (<T>(message: T) => message)
  const session = deps.sessions ? clientSession(server, outbound) : undefined
  if (session) sessionsByServer.set(server, session)
  const ready = () => deps.hooks?.ready() ?? Promise.resolve()
  // A call right after start-up waits, as a list does, for upstreams still starting.
  const call = async (kind: ItemKind, name: string, args: Record<string, unknown>, extra: RequestExtra, meta?: Record<string, unknown>) => {
    await ready()
    return deps.call({
      principal: principalOf(extra.authInfo),
      kind,
      name,
      arguments: args,
      signal: extra.signal,
      meta,
      session,
      client: {
        notify: (notification) => extra.sendNotification(outbound(notification)),
        request: (request, schema, options) => extra.sendRequest(outbound(request), schema as never, options) as never,
      },
    })
  }
  const envOf = (extra: RequestExtra) => ({principal: principalOf(extra.authInfo), server: deps.info, signal: extra.signal, session})
  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    await ready()
    return {tools: catalog.list('tool', principalOf(extra.authInfo).scopes, session)}
  })
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) =>
    (await call('tool', request.params.name, argumentsOf(request.params), extra, request.params._meta)) as CallToolResult,
  )
  server.setRequestHandler(ListPromptsRequestSchema, async (_request, extra) => {
    await ready()
    return {prompts: catalog.list('prompt', principalOf(extra.authInfo).scopes, session)}
  })
  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) =>
    (await call('prompt', request.params.name, argumentsOf(request.params), extra, request.params._meta)) as GetPromptResult,
  )
  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => {
    await ready()
    return {resources: catalog.list('resource', principalOf(extra.authInfo).scopes, session)}
  })
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (_request, extra) => {
    await ready()
    return {resourceTemplates: catalog.templates(principalOf(extra.authInfo).scopes)}
  })
  const subscription = (method: 'subscribe' | 'unsubscribe') => async (request: {params: {uri: string}}, extra: RequestExtra) => {
    const item = catalog.find('resource', principalOf(extra.authInfo).scopes, request.params.uri, session)
    if (!item) throw new RpcError(-32002, `Unknown resource: ${request.params.uri}`)
    const act = method === 'subscribe' ? item.subscribe : item.unsubscribe
    if (!act) throw new RpcError(RPC.METHOD_NOT_FOUND, `resource ${request.params.uri} does not support subscriptions`)
    await act.call(item, envOf(extra))
    return {}
  }
  server.setRequestHandler(SubscribeRequestSchema, subscription('subscribe'))
  server.setRequestHandler(UnsubscribeRequestSchema, subscription('unsubscribe'))
  server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    const scopes = principalOf(extra.authInfo).scopes
    const ref = request.params.ref
    let source: ToolSource | undefined
    if (ref.type === 'ref/prompt') {
      const item = catalog.find('prompt', scopes, ref.name, session)
      source = item && catalog.sourceOf(item, session)
    } else {
      const item = catalog.find('resource', scopes, ref.uri, session)
      source = item ? catalog.sourceOf(item, session) : catalog.templateSource(scopes, ref.uri)
    }
    const completing = source as Completing | undefined
    if (!completing?.complete) return {completion: {values: []}}
    return completing.complete(request.params, envOf(extra))
  })
  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    await deps.hooks?.setLogLevel(request.params.level, session)
    return {}
  })
  server.setNotificationHandler(RootsListChangedNotificationSchema, () => void deps.hooks?.rootsChanged(session))
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) =>
    (await call('resource', request.params.uri, {}, extra, request.params._meta)) as ReadResourceResult,
  )
  return server
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

