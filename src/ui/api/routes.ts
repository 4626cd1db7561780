/** Every API route of the console: method, path (`:name` is a parameter), handler. */
import * as audit from './audit.js'
import {auditFileOf, type Handler} from './context.js'
import * as keys from './keys.js'
import * as overview from './overview.js'
import * as secrets from './secrets.js'
import * as upstreams from './upstreams.js'

const session: Handler = async (state) => {
  const data = await state.vault.data()
  return {body: {user: state.user, vault: state.vault.file, vaultId: state.vault.vaultId, version: state.version, idleSeconds: state.idleMs / 1000, auditFile: auditFileOf(state, data)}}
}

const TABLE: [method: string, path: string, handler: Handler][] = [
  ['GET', '/api/session', session],
  ['GET', '/api/health', overview.health],
  ['GET', '/api/stats', overview.stats],
  ['GET', '/api/latencies', overview.latency],
  ['GET', '/api/keys', keys.listKeys],
  ['POST', '/api/keys', keys.generateKey],
  ['POST', '/api/keys/:id/revoke', keys.revoke],
  ['POST', '/api/keys/:id/scopes', keys.setScopes],
  ['POST', '/api/keys/:id/rotate', keys.rotate],
  ['POST', '/api/scopes/preview', keys.preview],
  ['GET', '/api/secrets', secrets.listAll],
  ['POST', '/api/secrets', secrets.set],
  ['GET', '/api/upstreams', upstreams.listAll],
  ['POST', '/api/upstreams/:name/test', upstreams.test],
  ['GET', '/api/upstreams/:name/pins', upstreams.pins],
  ['POST', '/api/upstreams/:name/pins/approve', upstreams.approve],
  ['GET', '/api/audit', audit.query],
  ['GET', '/api/audit/facets', audit.facets],
  ['GET', '/api/audit/records/:seq', audit.record],
  ['GET', '/api/audit/verify', audit.verifyState],
  ['POST', '/api/audit/verify', audit.verifyNow],
  ['GET', '/api/audit/stream', audit.stream],
]

interface Route {
  method: string
  pattern: RegExp
  names: string[]
  handler: Handler
}

const ROUTES: Route[] = TABLE.map(([method, path, handler]) => {
  const names: string[] = []
  const source = path.replace(/:([a-z]+)/g, (_, name: string) => {
    names.push(name)
    return '([^/]+)'
  })
  return {method, pattern: new RegExp(`^${source}$`), names, handler}
})

/** The handler for a request, with its path parameters; `allowed` lists the methods of a path that exists. */
export function findRoute(method: string, path: string): {handler?: Handler; params: Record<string, string>; allowed: string[]} {
  const allowed: string[] = []
  for (const route of ROUTES) {
    const m = route.pattern.exec(path)
    if (!m) continue
    allowed.push(route.method)
    if (route.method !== (method === 'HEAD' ? 'GET' : method)) continue
    const params: Record<string, string> = {}
    try {
      route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])))
    } catch {
      return {params: {}, allowed: []}
    }
    return {handler: route.handler, params, allowed}
  }
  return {params: {}, allowed}
}
