/**
 * What a request must look like before the console looks at its cookie: addressed to this
 * console by name (Host, against DNS rebinding), and sent by a page of this console's own origin
 * (Origin and Sec-Fetch-Site). Other ports of the same host count as other origins: cookies do
 * not tell ports apart, so these checks are what keeps a page served on another local port out.
 */
import {escapeText} from '../../text/visible.js'

export interface Refusal {
  status: number
  reason: string
}

export interface GuardedRequest {
  method: string
  path: string
  host?: string
  origin?: string
  fetchSite?: string
}

const SAFE_METHODS = new Set(['GET', 'HEAD'])

/** The Host values this console answers to: the loopback address it is bound to, and localhost when that is 127.0.0.1. */
export function consoleHosts(host: string, port: number): string[] {
  return host === '127.0.0.1' ? [`${host}:${port}`, `localhost:${port}`] : [`${host}:${port}`]
}

export function checkRequest(req: GuardedRequest, host: string, port: number): Refusal | undefined {
  const hosts = consoleHosts(host, port)
  if (!req.host || !hosts.includes(req.host.toLowerCase())) return {status: 421, reason: `this console answers only to ${hosts.join(' and ')}`}
  const self = `http://${req.host.toLowerCase()}`
  if (req.origin !== undefined && req.origin !== self) return {status: 403, reason: `the request comes from a page of another origin (${escapeText(JSON.stringify(req.origin.slice(0, 100)), 120)})`}
  // Changes come from the console's own page, and browsers always send Origin with them.
  if (!SAFE_METHODS.has(req.method) && req.origin === undefined) return {status: 403, reason: 'a change must come from the console page (no Origin)'}
  if (req.fetchSite !== undefined && !allowedSite(req)) return {status: 403, reason: `the request comes from another site (${escapeText(req.fetchSite, 40)})`}
  return undefined
}

/**
 * Same-origin requests always pass. A navigation the user started (a typed URL, a bookmark, the
 * terminal's link: `none`) may open a page; only the login link may be reached from another
 * site (the private file the opener hands the browser redirects to it).
 */
function allowedSite(req: GuardedRequest): boolean {
  if (req.fetchSite === 'same-origin') return true
  if (!SAFE_METHODS.has(req.method)) return false
  if (req.path === '/login') return true
  return req.fetchSite === 'none' && !req.path.startsWith('/api/')
}
