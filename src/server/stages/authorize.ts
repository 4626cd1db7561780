/** Deny by default: the item must exist and the principal's scopes must allow it, and both misses look the same. */
import {RpcError, RPC, type Stage} from '../pipeline/chain.js'
import type {CallContext} from '../context.js'
import type {Catalog} from '../tools/catalog.js'

const UNKNOWN = {tool: 'Unknown tool', prompt: 'Unknown prompt', resource: 'Unknown resource'} as const

export function authorize(catalog: Catalog): Stage<CallContext> {
  return (ctx, next) => {
    ctx.item = catalog.find(ctx.kind, ctx.principal.scopes, ctx.name, ctx.session)
    if (!ctx.item) throw new RpcError(ctx.kind === 'resource' ? -32002 : RPC.INVALID_PARAMS, `${UNKNOWN[ctx.kind]}: ${ctx.name}`)
    return next()
  }
}
