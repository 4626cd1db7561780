/** HTTP: the header rules of Streamable HTTP (MCP 2025-11-25 and 2026-07-28), for the stateful and stateless modes alike. */
import type {RequestContext} from '../context.js'
import type {Stage} from '../pipeline/chain.js'
import {LEGACY_VERSIONS} from '../era/protocol.js'
import {Refusal} from '../refusal.js'

export function checkStreamableHeaders(): Stage<RequestContext> {
  return (ctx, next) => {
    check(ctx)
    return next()
  }
}

function check(ctx: RequestContext): void {
  const accept = ctx.headers.accept?.join(',') ?? ''
  if (ctx.method === 'POST') {
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      throw Refusal.protocol(406, 'not_acceptable', 'Not Acceptable: Accept must include application/json and text/event-stream')
    }
    const type = (ctx.headers['content-type']?.[0] ?? '').split(';')[0].trim().toLowerCase()
    if (type !== 'application/json') {
      throw Refusal.protocol(415, 'unsupported_media_type', 'Unsupported Media Type: Content-Type must be application/json')
    }
  } else if (ctx.method === 'GET' && !accept.includes('text/event-stream')) {
    throw Refusal.protocol(406, 'not_acceptable', 'Not Acceptable: Accept must include text/event-stream')
  }
  // A 2026-07-28 request's version header was checked against its body by the era stage.
  if (ctx.era === 'modern') return
  const version = ctx.headers['mcp-protocol-version']?.[0]
  if (version !== undefined && !LEGACY_VERSIONS.includes(version)) {
    throw Refusal.protocol(400, 'unsupported_version', `Bad Request: unsupported MCP-Protocol-Version ${version.slice(0, 40)}; supported: ${LEGACY_VERSIONS.join(', ')}`)
  }
}
