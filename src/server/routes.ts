/** The HTTP routes besides the MCP endpoint: health, and RFC 9728 metadata while OAuth is on. */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {scopesSupported} from '../auth/index.js'
import type {Cluster} from './cluster.js'
import {MCP_PATH} from './defaults.js'
import type {Runtime} from './runtime.js'
import {sendJson} from './transports/respond.js'

export type Routes = (req: IncomingMessage, res: ServerResponse, path: string) => boolean

export function routes(runtime: () => Runtime, cluster: () => Cluster | undefined): Routes {
  return (req, res, path) => healthRoute(req, res, path, cluster()) || metadataRoute(req, res, path, runtime())
}

/** Healthy whatever Redis does: a replica without Redis still serves (rate limits fall back to its share). */
function healthRoute(req: IncomingMessage, res: ServerResponse, path: string, cluster: Cluster | undefined): boolean {
  if (path !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) return false
  sendJson(res, 200, {status: 'ok', ...(cluster ? {redis: cluster.status} : {})})
  return true
}

/** The metadata is public: any web page may read it (CORS), as browser-based clients must. */
const METADATA_CORS = {'access-control-allow-origin': '*', 'access-control-expose-headers': 'cache-control'}

/**
 * RFC 9728 metadata while OAuth is on: at `/.well-known/oauth-protected-resource/mcp`, of the MCP
 * URL; at the root, of the origin, as RFC 9728 3.3 has it (the resource is the identifier the
 * well-known URL was derived from). The resource is the one the Host the client used names
 * (runtime.resourceUrl), so http://localhost:PORT/mcp discovers itself.
 */
function metadataRoute(req: IncomingMessage, res: ServerResponse, path: string, runtime: Runtime): boolean {
  const root = path === '/.well-known/oauth-protected-resource'
  if (!root && path !== `/.well-known/oauth-protected-resource${MCP_PATH}`) return false
  if (runtime.resourceMetadataUrl() === undefined) return false
  if (req.method === 'OPTIONS') {
    res.writeHead(204, {...METADATA_CORS, 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': 'mcp-protocol-version', 'access-control-max-age': '600'})
    res.end()
    return true
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, {error: 'method not allowed'}, {allow: 'GET', ...METADATA_CORS})
    return true
  }
  const resource = runtime.resourceUrl(req.headersDistinct.host?.length === 1 ? req.headersDistinct.host[0] : undefined)
  sendJson(res, 200, protectedResourceMetadata(runtime, root ? new URL(resource).origin : resource), {'cache-control': 'max-age=300', vary: 'host', ...METADATA_CORS})
  return true
}

function protectedResourceMetadata(runtime: Runtime, resource: string): unknown {
  return {
    resource,
    authorization_servers: [runtime.config.get('oauth.issuer')],
    scopes_supported: scopesSupported(runtime.config),
    bearer_methods_supported: ['header'],
    resource_name: 'keyward',
  }
}
