/** The outermost request stage for now: every refusal is logged with its facts, never the credential. */
import type {Logger} from '../log.js'
import {Rejection, type Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'

export function logRefusals(log: Logger): Stage<RequestContext> {
  return async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      if (err instanceof Rejection) {
        const what = ctx.transport === 'http' ? `${ctx.method} ${ctx.path} from ${ctx.peer ?? '?'}` : `stdio ${methodOf(ctx)}`
        log('info', `refused ${what}: ${err.status} ${err.reason}`)
      }
      throw err
    }
  }
}

/** The method, if it looks like one: a client's string never reaches the log as it is (no line breaks, no escapes). */
function methodOf(ctx: RequestContext): string {
  const m = ctx.message as {method?: unknown} | undefined
  return typeof m?.method === 'string' && /^[\w./-]{1,64}$/.test(m.method) ? m.method : 'message'
}
