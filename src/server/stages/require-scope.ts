/**
 * OAuth over HTTP: a call the token's scopes do not cover is refused on the POST that carries it,
 * with 403 and `WWW-Authenticate: Bearer error="insufficient_scope", scope="mcp:tool:NAME"`, so a
 * client can ask for more (MCP authorization, scope challenge handling). The same answer for a
 * name that does not exist: the scopes, not the catalog, decide. API keys keep answering an out-of-
 * scope call exactly as an unknown tool.
 */
import {requiredScope} from '../../auth/index.js'
import {renderChallenges} from '../../auth/challenge.js'
import type {Stage} from '../pipeline/chain.js'
import type {MessageContext} from '../context.js'
import {Refusal} from '../refusal.js'

const KIND: Record<string, {kind: 'tool' | 'prompt' | 'resource'; field: string}> = {
  'tools/call': {kind: 'tool', field: 'name'},
  'prompts/get': {kind: 'prompt', field: 'name'},
  'resources/read': {kind: 'resource', field: 'uri'},
}

export function requireScope(): Stage<MessageContext> {
  return (ctx, next) => {
    const target = ctx.method ? KIND[ctx.method] : undefined
    if (!target || ctx.principal.authType !== 'oauth2' || ctx.request.transport !== 'http') return next()
    const name = ctx.params?.[target.field]
    if (typeof name !== 'string' || ctx.principal.scopes.allows(target.kind, name)) return next()
    const scope = requiredScope(target.kind, name)
    const {runtime} = ctx.request
    const metadata = runtime.resourceMetadataUrl(ctx.request.headers.host?.[0])
    const challenge = renderChallenges(
      [{scheme: 'Bearer', params: {error: 'insufficient_scope', scope, error_description: `the token lacks scope ${scope}`, ...(metadata ? {resource_metadata: metadata} : {})}}],
      runtime.authenticators.types,
    )
    throw Refusal.insufficientScope(scope, challenge)
  }
}
