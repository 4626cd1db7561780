/**
 * How a rate reaches a client: over HTTP the `Retry-After` header and the IETF RateLimit fields
 * (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "principal";q=1000;w=60` and
 * `RateLimit: "principal";r=0;t=37`); over stdio, the same facts in the JSON-RPC error's data.
 */
import type {Allowance} from './limits.js'

/** Whole seconds until the window ends, at least 1 once anything was counted. */
export function secondsLeft(allowance: Allowance): number {
  return allowance.resetMs > 0 ? Math.max(1, Math.ceil(allowance.resetMs / 1000)) : allowance.rate.windowSeconds
}

export function rateLimitHeaders(allowance: Allowance): Record<string, string> {
  const name = JSON.stringify(allowance.policy)
  return {
    'ratelimit-policy': `${name};q=${allowance.rate.limit};w=${allowance.rate.windowSeconds}`,
    ratelimit: `${name};r=${allowance.remaining};t=${secondsLeft(allowance)}`,
  }
}

/** What a refusal says, in headers and data alike. */
export function refusalFacts(allowance: Allowance): {headers: Record<string, string>; data: Record<string, unknown>} {
  const retryAfter = secondsLeft(allowance)
  return {
    headers: {'retry-after': String(retryAfter), ...rateLimitHeaders(allowance)},
    data: {reason: 'rate_limited', policy: allowance.policy, limit: allowance.rate.limit, windowSeconds: allowance.rate.windowSeconds, retryAfterSeconds: retryAfter},
  }
}
