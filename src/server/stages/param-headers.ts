/**
 * HTTP, 2026-07-28: a tools/call's `Mcp-Param-*` headers must agree with its arguments, for the
 * tools that declare them (era/param-headers.ts says why and how). Runs after the era stage,
 * which checked the standard headers, and before anything serves the call; a tool the caller
 * may not see is left to the call stages, which refuse it as unknown.
 */
import type {RequestContext} from '../context.js'
import {checkParamHeaders} from '../era/param-headers.js'
import type {Stage} from '../pipeline/chain.js'
import {Refusal} from '../refusal.js'
import type {Catalog} from '../tools/catalog.js'

export function checkMcpParamHeaders(catalog: Catalog): Stage<RequestContext> {
  return (ctx, next) => {
    const message = ctx.message
    if (ctx.era !== 'modern' || message?.method !== 'tools/call' || message.id === undefined || !ctx.header) return next()
    const params = message.params as {name?: unknown; arguments?: unknown} | undefined
    const declared = typeof params?.name === 'string' ? catalog.paramHeaders(ctx.principal!.scopes, params.name) : undefined
    const refusal = declared && checkParamHeaders(declared, params?.arguments, ctx.header)
    if (refusal) throw Refusal.era(refusal)
    return next()
  }
}
