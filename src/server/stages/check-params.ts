/**
 * The params of the requests keyward routes itself must have the fields it routes by; a missing
 * one is -32602 with a sentence, not an internal error with a schema dump.
 */
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {MessageContext} from '../context.js'

const REQUIRED: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
}

export function checkParams(): Stage<MessageContext> {
  return (ctx, next) => {
    const field = ctx.method && REQUIRED[ctx.method]
    if (field && ctx.id !== undefined) {
      const value = ctx.params?.[field]
      if (typeof value !== 'string' || value === '') {
        throw new Rejection(200, 'invalid_params', `Invalid params: ${ctx.method} needs params.${field} (a string)`, RPC.INVALID_PARAMS)
      }
      const args = ctx.params?.arguments
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
        throw new Rejection(200, 'invalid_params', `Invalid params: ${ctx.method} needs params.arguments to be an object`, RPC.INVALID_PARAMS)
      }
    }
    return next()
  }
}
