/**
 * Stateful HTTP: a request names its session; only the principal that opened a session may use
 * it. A session presented with another credential is, to that caller, a session that does not exist.
 * A 2026-07-28 request has no session (the era stage, before this one, says which era).
 */
import type {Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'
import type {SessionStore} from '../transports/sessions.js'

export function bindSession(store: SessionStore): Stage<RequestContext> {
  return (ctx, next) => {
    // 2026-07-28 has no sessions: a modern request stands on its own credential (Mcp-Session-Id is ignored).
    if (ctx.transport !== 'http' || ctx.era === 'modern') return next()
    const ids = ctx.headers['mcp-session-id']
    if (!ids) {
      if (ctx.method === 'POST' && ctx.message?.method === 'initialize') return next()
      throw Refusal.protocol(400, 'no_session', 'Bad Request: no valid session id; start with an initialize request')
    }
    if (ctx.message?.method === 'initialize') {
      throw Refusal.invalidRequest('already_initialized', 'Invalid Request: this session is initialized already; start a new one without Mcp-Session-Id')
    }
    const session = ids.length === 1 ? store.find(ids[0], ctx.principal!) : undefined
    if (!session) throw Refusal.unknownSession()
    session.lastSeen = Date.now()
    session.principal = ctx.principal!
    ctx.session = session
    return next()
  }
}
