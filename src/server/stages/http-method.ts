/** HTTP: only the methods the endpoint serves; anything else is 405 with Allow. */
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'

export function allowMethods(methods: readonly string[]): Stage<RequestContext> {
  const allow = methods.join(', ')
  return (ctx, next) => {
    if (ctx.transport === 'http' && !methods.includes(ctx.method ?? '')) {
      throw new Rejection(405, 'method_not_allowed', `Method Not Allowed: this endpoint takes ${allow}`, RPC.SERVER_ERROR, {headers: {allow}})
    }
    return next()
  }
}
