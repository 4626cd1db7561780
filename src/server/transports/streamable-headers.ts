/** The header rules of Streamable HTTP (MCP 2025-11-25), shared by the stateful and stateless modes. */
import {SUPPORTED_PROTOCOL_VERSIONS} from '@modelcontextprotocol/sdk/types.js'

import type {RequestContext} from '../context.js'
import {Rejection, RPC} from '../pipeline/chain.js'

export function checkStreamableHeaders(ctx: RequestContext): void {
  const accept = ctx.headers.accept?.join(',') ?? ''
  if (ctx.method === 'POST') {
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      throw new Rejection(406, 'not_acceptable', 'Not Acceptable: Accept must include application/json and text/event-stream', RPC.SERVER_ERROR)
    }
    const type = (ctx.headers['content-type']?.[0] ?? '').split(';')[0].trim().toLowerCase()
    if (type !== 'application/json') {
      throw new Rejection(415, 'unsupported_media_type', 'Unsupported Media Type: Content-Type must be application/json', RPC.SERVER_ERROR)
    }
  } else if (ctx.method === 'GET' && !accept.includes('text/event-stream')) {
    throw new Rejection(406, 'not_acceptable', 'Not Acceptable: Accept must include text/event-stream', RPC.SERVER_ERROR)
  }
  const version = ctx.headers['mcp-protocol-version']?.[0]
  if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    throw new Rejection(400, 'unsupported_version', `Bad Request: unsupported MCP-Protocol-Version ${version.slice(0, 40)}; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}`, RPC.SERVER_ERROR)
  }
}
