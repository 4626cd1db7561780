/**
 * Secret redaction on the way out: every vault secret and known token format in a result, or in
 * the text of an error an upstream returned, becomes [REDACTED:NAME] before the client sees it.
 */
import type {CallContext} from '../context.js'
import {RpcError, type Stage} from '../pipeline/chain.js'
import type {Protection} from '../protection.js'

export function redactResults(protection: () => Protection): Stage<CallContext> {
  return async (ctx, next) => {
    const {redactor} = protection()
    if (!redactor.active) return next()
    const found = new Set<string>()
    try {
      await next()
      if (ctx.result) ctx.result = redactor.value(ctx.result, found)
    } catch (err) {
      if (!(err instanceof RpcError)) throw err
      const message = redactor.text(err.message, found)
      const data = redactor.value(err.data, found)
      throw found.size > 0 ? new RpcError(err.code, message, data) : err
    } finally {
      if (found.size > 0) ctx.redacted = [...found].sort()
    }
  }
}
