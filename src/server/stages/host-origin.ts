/** HTTP: Host and Origin checked against DNS rebinding, before anything else. */
import type {Stage} from '../pipeline/chain.js'
import {isLoopback} from '../../net/addresses.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'


/**
 * Host header values this server answers to: the bound address itself, plus the loopback names
 * when bound to loopback, plus --allowed-host.
 */
export function allowedHosts(bindHost: string, port: number, extra: readonly string[]): string[] {
  const bound = bindHost.includes(':') ? `[${bindHost}]` : bindHost
  const hosts = new Set([bound, ...(isLoopback(bindHost) ? ['localhost', '127.0.0.1', '[::1]'] : [])])
  return [...[...hosts].map((h) => `${h}:${port}`), ...extra]
}

function hostMatches(value: string, allowed: readonly string[]): boolean {
  const host = value.toLowerCase()
  // An --allowed-host without a port matches that host on any port.
  return allowed.some((a) => a === host || (!/:\d+$/.test(a) && host.replace(/:\d+$/, '') === a))
}

export function guardHostOrigin(hosts: () => readonly string[]): Stage<RequestContext> {
  return (ctx, next) => {
    if (ctx.transport !== 'http') return next()
    const host = ctx.headers.host
    if (host?.length !== 1 || !hostMatches(host[0], hosts())) {
      throw Refusal.forbidden('forbidden_host', 'Forbidden: Host header not allowed (DNS rebinding protection); see --allowed-host')
    }
    const origin = ctx.headers.origin
    if (origin !== undefined) {
      let originHost: string | undefined
      try {
        const url = new URL(origin[0])
        if (origin.length === 1 && (url.protocol === 'http:' || url.protocol === 'https:')) originHost = url.host
      } catch {}
      if (!originHost || !hostMatches(originHost, hosts())) throw Refusal.forbidden('forbidden_origin', 'Forbidden: Origin not allowed')
    }
    return next()
  }
}
