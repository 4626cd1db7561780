/** HTTP: credentials in the query string are refused (MCP forbids them: they end up in logs and history). */
import type {Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'

const QUERY_CREDENTIALS = /(?:^|&)(?:api[_-]?key|key|token|access[_-]?token|id[_-]?token|auth|authorization|bearer|password|secret)=/i

export function refuseQueryCredentials(): Stage<RequestContext> {
  return (ctx, next) => {
    if (ctx.query && QUERY_CREDENTIALS.test(ctx.query)) {
      throw Refusal.guarded('credential_in_query', 'Bad Request: credentials must not be sent in the query string; use the Authorization or X-API-Key header')
    }
    return next()
  }
}
