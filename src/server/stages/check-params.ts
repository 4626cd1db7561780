/**
 * The params of the requests keyward routes itself must have the fields it routes by; a missing
 * one is an invalid-params error with a sentence, not an internal error with a schema dump.
 */
import type {Stage} from '../pipeline/chain.js'
import type {MessageContext} from '../context.js'
import {Refusal} from '../refusal.js'

const REQUIRED: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
}

/** Methods 2026-07-28 removed (subscriptions/listen replaced them): in that era the server answers METHOD_NOT_FOUND, whatever their params. */
const REMOVED_IN_MODERN: ReadonlySet<string> = new Set(['resources/subscribe', 'resources/unsubscribe'])

export function checkParams(): Stage<MessageContext> {
  return (ctx, next) => {
    const removed = ctx.request.era === 'modern' && ctx.method !== undefined && REMOVED_IN_MODERN.has(ctx.method)
    const field = ctx.method && !removed && REQUIRED[ctx.method]
    if (field && ctx.id !== undefined) {
      const value = ctx.params?.[field]
      if (typeof value !== 'string' || value === '') {
        throw Refusal.invalidParams(`Invalid params: ${ctx.method} needs params.${field} (a string)`)
      }
      const args = ctx.params?.arguments
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
        throw Refusal.invalidParams(`Invalid params: ${ctx.method} needs params.arguments to be an object`)
      }
    }
    return next()
  }
}
