/**
 * Brute force: refused credentials are counted per client address (an IPv6 address per /64),
 * and past ratelimit.auth-failures a refusal becomes 429 until the window ends. Only failures
 * count, and a valid credential from the same address is never held back: a shared NAT does not
 * lock out the people behind it.
 */
import {peerKey} from '../../net/addresses.js'
import {refusalFacts} from '../../ratelimit/headers.js'
import type {RateLimits} from '../../ratelimit/limits.js'
import type {RequestContext} from '../context.js'
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {Protection} from '../protection.js'

export function throttleAuthFailures(limits: RateLimits, protection: () => Protection): Stage<RequestContext> {
  return async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      if (!(err instanceof Rejection) || err.kind !== 'auth') throw err
      const verdict = await limits.consume('auth-failures', peerKey(ctx.peer), protection().rates.authFailures)
      if (verdict.allowed) throw err
      const facts = refusalFacts(verdict)
      throw new Rejection(429, 'rate_limited', `Too Many Requests: too many failed authentications from your address; retry in ${facts.data.retryAfterSeconds}s`, RPC.RATE_LIMITED, {
        kind: 'rate',
        headers: {...err.headers, ...facts.headers},
        data: facts.data,
        detail: {auth_reason: err.reason},
      })
    }
  }
}
