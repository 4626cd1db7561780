/**
 * CORS for the MCP endpoint, for the origins the server answers to (the Host/Origin stage admits
 * exactly those): a browser-based client may read WWW-Authenticate (to discover OAuth from a 401)
 * and Mcp-Session-Id, and its preflight is answered here, before the pipeline (a preflight
 * carries no credential). Another origin gets no CORS headers, and the Host/Origin stage refuses
 * its requests.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {originAllowed} from '../../net/hosts.js'
import {TCHAR} from '../../net/http-token.js'

const EXPOSED = 'www-authenticate, mcp-session-id, mcp-protocol-version, retry-after, ratelimit, ratelimit-policy'
const ALLOWED = 'authorization, x-api-key, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id, mcp-method, mcp-name'
/** An `Mcp-Param-*` header (SEP-2243) a preflight asks for: a tool's own name, so not listed above but allowed by its prefix. */
const PARAM_HEADER = new RegExp(`^mcp-param-[${TCHAR}]+$`)

/** The allowed headers, with the `Mcp-Param-*` ones this preflight asks for: a 2026-07-28 call of a tool that declares x-mcp-header must send them. */
function allowedFor(req: IncomingMessage): string {
  const asked = (req.headersDistinct['access-control-request-headers'] ?? []).flatMap((v) => v.split(',')).map((h) => h.trim().toLowerCase())
  const params = [...new Set(asked.filter((h) => PARAM_HEADER.test(h)))].slice(0, 64)
  return params.length > 0 ? `${ALLOWED}, ${params.join(', ')}` : ALLOWED
}

/** Sets the CORS headers of a request from an allowed origin; true when it was a preflight, answered here. */
export function corsFor(hosts: () => readonly string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const origin = req.headersDistinct.origin
    if (!originAllowed(origin, hosts())) return false
    res.setHeader('access-control-allow-origin', origin![0])
    res.setHeader('vary', 'origin')
    res.setHeader('access-control-expose-headers', EXPOSED)
    if (req.method !== 'OPTIONS') return false
    res.writeHead(204, {'access-control-allow-methods': 'GET, POST, DELETE', 'access-control-allow-headers': allowedFor(req), 'access-control-max-age': '600'})
    res.end()
    return true
  }
}
