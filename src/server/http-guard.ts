/**
 * Checks on every HTTP request before anything else: Host and Origin against DNS rebinding,
 * and credentials in the query string, which MCP forbids (they end up in logs and history).
 */
import type {IncomingMessage} from 'node:http'

import {Rejection} from './chain.js'

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '[::1]'])

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Host header values this server answers to: the loopback names when bound to loopback, else the bind address and --allowed-host. */
export function allowedHosts(bindHost: string, port: number, extra: readonly string[]): string[] {
  const hosts = isLoopback(bindHost) ? ['localhost', '127.0.0.1', '[::1]'] : [bindHost.includes(':') ? `[${bindHost}]` : bindHost]
  return [...hosts.map((h) => `${h}:${port}`), ...extra]
}

function hostMatches(value: string, allowed: readonly string[]): boolean {
  const host = value.toLowerCase()
  // An --allowed-host without a port matches that host on any port.
  return allowed.some((a) => a === host || (!/:\d+$/.test(a) && host.replace(/:\d+$/, '') === a))
}

const QUERY_CREDENTIALS = /(?:^|&)(?:api[_-]?key|key|token|access[_-]?token|auth)=/i

export function guardRequest(req: IncomingMessage, query: string, hosts: readonly string[]): void {
  const host = req.headers.host
  if (!host || !hostMatches(host, hosts)) {
    throw new Rejection(403, 'forbidden', 'Forbidden: Host header not allowed (DNS rebinding protection); see --allowed-host')
  }
  const origin = req.headers.origin
  if (origin !== undefined) {
    let originHost: string | undefined
    try {
      const url = new URL(origin)
      if (url.protocol === 'http:' || url.protocol === 'https:') originHost = url.host
    } catch {}
    if (!originHost || !hostMatches(originHost, hosts)) throw new Rejection(403, 'forbidden', 'Forbidden: Origin not allowed')
  }
  if (query && QUERY_CREDENTIALS.test(query)) {
    throw new Rejection(400, 'forbidden', 'Bad Request: credentials must not be sent in the query string; use the Authorization or X-API-Key header')
  }
}

/** The credential from Authorization: Bearer or X-API-Key; never from anywhere else. */
export function credentialFrom(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization
  const apiKey = req.headers['x-api-key']
  let bearer: string | undefined
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)
    if (!match) throw new Rejection(401, 'unsupported_scheme', 'Unauthorized: use Authorization: Bearer <key> or X-API-Key: <key>')
    bearer = match[1]
  }
  if (Array.isArray(apiKey)) throw new Rejection(400, 'ambiguous', 'Bad Request: send one X-API-Key header')
  if (bearer !== undefined && apiKey !== undefined && bearer !== apiKey) {
    throw new Rejection(400, 'ambiguous', 'Bad Request: Authorization and X-API-Key carry different credentials; send one')
  }
  return bearer ?? apiKey?.trim()
}
