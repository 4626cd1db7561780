/** HTTP: credentials in the query string are refused (MCP forbids them: they end up in logs and history). */
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'

const QUERY_CREDENTIALS = /(?:^|&)(?:api[_-]?key|key|token|access[_-]?token|id[_-]?token|auth|authorization|bearer|password|secret)=/i

export function refuseQueryCredentials(): Stage<RequestContext> {
  return (ctx, next) => {
    if (ctx.query && QUERY_CREDENTIALS.test(ctx.query)) {
      throw new Rejection(400, 'credential_in_query', 'Bad Request: credentials must not be sent in the query string; use the Authorization or X-API-Key header', RPC.SERVER_ERROR, {kind: 'guard'})
    }
    return next()
  }
}
