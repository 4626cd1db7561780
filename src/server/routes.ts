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

/** RFC 9728 metadata, at the root and with the MCP path appended, while OAuth is on. */
function metadataRoute(req: IncomingMessage, res: ServerResponse, path: string, runtime: Runtime): boolean {
  if (path !== '/.well-known/oauth-protected-resource' && path !== `/.well-known/oauth-protected-resource${MCP_PATH}`) return false
  if (runtime.resourceMetadataUrl() === undefined) return false
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, {error: 'method not allowed'}, {allow: 'GET'})
    return true
  }
  sendJson(res, 200, protectedResourceMetadata(runtime), {'cache-control': 'max-age=300'})
  return true
}

function protectedResourceMetadata(runtime: Runtime): unknown {
  return {
    resource: runtime.resourceUrl(),
    authorization_servers: [runtime.config.get('oauth.issuer')],
    scopes_supported: scopesSupported(runtime.config),
    bearer_methods_supported: ['header'],
    resource_name: 'keyward',
  }
}
