/** HTTP: only the methods the endpoint serves; anything else is 405 with Allow. */
import type {Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'

export function allowMethods(methods: readonly string[]): Stage<RequestContext> {
  const allow = methods.join(', ')
  return (ctx, next) => {
    if (ctx.transport === 'http' && !methods.includes(ctx.method ?? '')) {
      throw Refusal.methodNotAllowed(allow)
    }
    return next()
  }
}
