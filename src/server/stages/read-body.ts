/** Reads the body of a POST (or takes the stdio line), refusing more than `maxBytes` with 413. */
import type {Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'

/** guard.max-body is the request's runtime's: it can change with the vault. */
export function readBody(): Stage<RequestContext> {
  return async (ctx, next) => {
    if (ctx.transport === 'http' && ctx.method !== 'POST') return next()
    ctx.body = await ctx.readBody(ctx.runtime.protection.maxBody)
    return next()
  }
}
