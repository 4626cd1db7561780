/** Every refusal of a request is logged with its facts, never the credential (just inside the audit stage, which runs outermost). */
import type {Logger} from '../log.js'
import type {Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'

export function logRefusals(log: Logger): Stage<RequestContext> {
  return async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      if (err instanceof Refusal) {
        const what = ctx.transport === 'http' ? `${ctx.method} ${ctx.path} from ${ctx.peer ?? '?'}` : `stdio ${methodOf(ctx)}`
        log('info', `refused ${what}${ctx.era ? ` (${ctx.era} era)` : ''}: ${err.status} ${err.reason}`)
      }
      throw err
    }
  }
}

/** The method, if it looks like one: a client's string never reaches the log as it is (no line breaks, no escapes). */
function methodOf(ctx: RequestContext): string {
  const method = ctx.message?.method
  return method !== undefined && /^[\w./-]{1,64}$/.test(method) ? method : 'message'
}
