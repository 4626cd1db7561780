/**
 * The MCP server: the SDK's low-level Server with keyward's handlers, so that tools/list can
 * differ per principal. The principal reaches handlers as extra.authInfo.extra.principal, put
 * there by the transport front after the admission chain.
 */
import type {AuthInfo} from '@modelcontextprotocol/sdk/server/auth/types.js'
import {Server} from '@modelcontextprotocol/sdk/server/index.js'
import {CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError} from '@modelcontextprotocol/sdk/types.js'

import type {Chains} from './chain.js'
import type {Principal} from './principal.js'
import type {ToolRegistry} from './registry.js'

export interface ServerInfo {
  name: string
  version: string
  startedAt: number
}

export interface McpDeps {
  info: ServerInfo
  registry: ToolRegistry
  chains: Chains
  auth: {required: boolean; types: string[]}
}

/** What the transport front attaches to each admitted request. */
export function authInfoFor(principal: Principal): AuthInfo {
  return {token: '', clientId: principal.id, scopes: [...principal.scopes.sources], extra: {principal}}
}

function principalOf(authInfo: AuthInfo | undefined): Principal {
  const principal = authInfo?.extra?.principal as Principal | undefined
  // Unreachable when the fronts are wired right; deny rather than serve an unknown caller.
  if (!principal) throw new McpError(ErrorCode.InvalidRequest, 'Unauthorized')
  return principal
}

export function createMcpServer(deps: McpDeps): Server {
  const server = new Server(
    {name: deps.info.name, version: deps.info.version},
    {
      capabilities: {
        tools: {listChanged: false},
        // As the seed declared it: whether this server requires authentication, and which kinds.
        experimental: {authentication: {required: deps.auth.required, types: deps.auth.types}},
      },
    },
  )
  server.setRequestHandler(ListToolsRequestSchema, (_request, extra) => ({tools: deps.registry.listFor(principalOf(extra.authInfo).scopes)}))
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    deps.chains.call({principal: principalOf(extra.authInfo), name: request.params.name, arguments: request.params.arguments, signal: extra.signal}),
  )
  return server
}
