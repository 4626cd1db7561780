/**
 * Stateful HTTP: a request names its session; only the principal that opened a session may use
 * it. A session presented with another credential is, to that caller, a session that does not exist.
 */
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'
import type {SessionStore} from '../transports/sessions.js'

export function bindSession(store: SessionStore): Stage<RequestContext> {
  return (ctx, next) => {
    if (ctx.transport !== 'http') return next()
    const ids = ctx.headers['mcp-session-id']
    if (!ids) {
      const m = ctx.message as {method?: unknown} | undefined
      if (ctx.method === 'POST' && m?.method === 'initialize') return next()
      throw new Rejection(400, 'no_session', 'Bad Request: no valid session id; start with an initialize request', RPC.SERVER_ERROR)
    }
    if ((ctx.message as {method?: unknown} | undefined)?.method === 'initialize') {
      throw new Rejection(400, 'already_initialized', 'Invalid Request: this session is initialized already; start a new one without Mcp-Session-Id', RPC.INVALID_REQUEST)
    }
    const session = ids.length === 1 ? store.find(ids[0], ctx.principal!) : undefined
    if (!session) throw new Rejection(404, 'unknown_session', 'Session not found', RPC.UNAUTHORIZED)
    session.lastSeen = Date.now()
    session.principal = ctx.principal!
    ctx.session = session
    return next()
  }
}
