/**
 * Host and Origin values against the names a server answers to (DNS rebinding protection, the
 * resource identifier derived from the Host a client used, CORS): one matching rule for all.
 */
import {isLoopback} from './addresses.js'

/**
 * Host header values a server bound to `bindHost:port` answers to: the bound address itself, plus
 * the loopback names when bound to loopback, plus the operator's extra names (--allowed-host).
 */
export function allowedHosts(bindHost: string, port: number, extra: readonly string[]): string[] {
  const bound = bindHost.includes(':') ? `[${bindHost}]` : bindHost
  const hosts = new Set([bound, ...(isLoopback(bindHost) ? ['localhost', '127.0.0.1', '[::1]'] : [])])
  return [...[...hosts].map((h) => `${h}:${port}`), ...extra]
}

/** Whether a Host value (`name:port`) is one of `allowed`; an allowed name without a port matches that name on any port. */
export function hostAllowed(value: string, allowed: readonly string[]): boolean {
  const host = value.toLowerCase()
  return allowed.some((a) => a === host || (!/:\d+$/.test(a) && host.replace(/:\d+$/, '') === a))
}

/** The host of an Origin value (`http://name:port`, one value, http or https), if it is one of `allowed`. */
export function originAllowed(origin: readonly string[] | undefined, allowed: readonly string[]): boolean {
  if (origin?.length !== 1) return false
  try {
    const url = new URL(origin[0])
    return (url.protocol === 'http:' || url.protocol === 'https:') && hostAllowed(url.host, allowed)
  } catch {
    return false
  }
}
