/**
 * The MCP server: the SDK's low-level Server with keyward's handlers, so that every list can
 * differ per principal and every call runs the call stages. The principal reaches handlers as
 * extra.authInfo.extra.principal, put there by the transport after the request stages.
 */
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import {Server} from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  type CallToolResult,
  type GetPromptResult,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js'

import type {Principal} from '../auth/index.js'
import type {CallContext} from './context.js'
import {RpcError, RPC} from './pipeline/chain.js'
import type {Catalog} from './tools/catalog.js'
import type {ItemKind, ItemResult, ServerInfo} from './tools/source.js'

/** What the SDK gives a request handler: the caller, the abort signal, the way back to the client. */
interface RequestExtra {
  authInfo?: AuthInfo
  signal: AbortSignal
  sendNotification(notification: ServerNotification): Promise<void>
  sendRequest(request: ServerRequest, schema: unknown, options?: {signal?: AbortSignal; timeout?: number}): Promise<unknown>
}

export interface McpDeps {
  info: ServerInfo
  catalog: Catalog
  call: (ctx: CallContext) => Promise<ItemResult>
  auth: {required: boolean; types: string[]}
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
        // As the seed declared it: whether this server requires authentication, and which kinds.
        experimental: {authentication: {required: deps.auth.required, types: deps.auth.types}},
      },
    },
  )
  const {catalog} = deps
  const call = (kind: ItemKind, name: string, args: Record<string, unknown>, extra: RequestExtra, meta?: Record<string, unknown>) =>
    deps.call({
      principal: principalOf(extra.authInfo),
      kind,
      name,
      arguments: args,
      signal: extra.signal,
      meta,
      client: {
        notify: (notification) => extra.sendNotification(notification),
        request: (request, schema, options) => extra.sendRequest(request, schema as never, options) as never,
      },
    })
  server.setRequestHandler(ListToolsRequestSchema, (_request, extra) => ({tools: catalog.list('tool', principalOf(extra.authInfo).scopes)}))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) =>
    (await call('tool', request.params.name, argumentsOf(request.params), extra, request.params._meta)) as CallToolResult,
  )
  server.setRequestHandler(ListPromptsRequestSchema, (_request, extra) => ({prompts: catalog.list('prompt', principalOf(extra.authInfo).scopes)}))
  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) =>
    (await call('prompt', request.params.name, argumentsOf(request.params), extra, request.params._meta)) as GetPromptResult,
  )
  server.setRequestHandler(ListResourcesRequestSchema, (_request, extra) => ({resources: catalog.list('resource', principalOf(extra.authInfo).scopes)}))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({resourceTemplates: []}))
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

  private view(kind: ItemKind, principal: Principal): string {
    return (catalog(this.catalog, kind, principal) as {name?: string; uri?: string}[]).map((d) => d.name ?? d.uri).join('\0')
  }

  add(server: Server, principal: () => Principal | undefined): void {
    const seen: Partial<Record<ItemKind, string>> = {}
    const p = principal()
    if (p) for (const kind of ['tool', 'prompt', 'resource'] as const) seen[kind] = this.view(kind, p)
    this.servers.set(server, {principal, seen})
  }

  delete(server: Server): void {
    this.servers.delete(server)
  }

  private changed(kind: ItemKind): void {
    for (const [server, entry] of this.servers) {
      const principal = entry.principal()
      if (!principal) continue
      const now = this.view(kind, principal)
      if (now === entry.seen[kind]) continue
      entry.seen[kind] = now
      const send = kind === 'tool' ? server.sendToolListChanged() : kind === 'prompt' ? server.sendPromptListChanged() : server.sendResourceListChanged()
      void send.catch(() => {})
    }
  }
}

function catalog(c: Catalog, kind: ItemKind, principal: Principal): unknown[] {
  return kind === 'tool' ? c.list('tool', principal.scopes) : kind === 'prompt' ? c.list('prompt', principal.scopes) : c.list('resource', principal.scopes)
}
