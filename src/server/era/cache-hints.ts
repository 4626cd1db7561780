/**
 * Cache hints (`ttlMs`, `cacheScope`) on the cacheable results of revision 2026-07-28:
 * server/discover, tools/list, prompts/list, resources/list, resources/templates/list and
 * resources/read. A hint is a promise to every cache on the way: `public` lets a shared cache
 * hand one caller's answer to another.
 *
 * keyward's answers depend on who asks: every list is filtered by the caller's scopes, a read
 * is authorized per caller, and discover names the capabilities the caller may use. So no
 * answer of keyward's is ever `public`: each is `private` (to be kept by that caller's own
 * client, under that credential), whatever an upstream said about its own answer. The TTL is
 * keyward's own, because a list changes when a key's scopes change or an upstream restarts;
 * an upstream's longer TTL is not passed on.
 */
import {isPlainObject} from './protocol.js'

export const CACHEABLE = ['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read'] as const
export type CacheableMethod = (typeof CACHEABLE)[number]

export interface CacheHint {
  ttlMs: number
  cacheScope: 'private'
}

/** How long a caller's client may keep a list: short, since scopes and upstreams change under it. */
export const DEFAULT_TTL_MS = 0

export function isCacheable(method: string): method is CacheableMethod {
  return (CACHEABLE as readonly string[]).includes(method)
}

/**
 * The hint keyward puts on a result: `private`, and the smaller of keyward's own TTL and the
 * upstream's (an upstream that says 0 means 0). `upstream` is the result as an upstream sent
 * it, or undefined for keyward's own answers.
 */
export function cacheHintFor(method: CacheableMethod, upstream?: unknown, ttlMs: number = DEFAULT_TTL_MS): CacheHint {
  let ttl = Math.max(0, Math.floor(ttlMs))
  const theirs = isPlainObject(upstream) ? upstream.ttlMs : undefined
  if (method === 'resources/read' && typeof theirs === 'number' && Number.isFinite(theirs) && theirs >= 0) ttl = Math.min(ttl, Math.floor(theirs))
  return {ttlMs: ttl, cacheScope: 'private'}
}

/** A result with keyward's hint in place of whatever cache fields it carried (assigned, not spread: era/complete.ts says why). */
export function withCacheHint<T extends Record<string, unknown>>(method: CacheableMethod, result: T, ttlMs?: number): T & CacheHint {
  return Object.assign({}, result, cacheHintFor(method, result, ttlMs))
}
