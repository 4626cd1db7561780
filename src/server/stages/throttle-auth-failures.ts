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
import type {Stage} from '../pipeline/chain.js'
import {Refusal} from '../refusal.js'

export function throttleAuthFailures(limits: RateLimits): Stage<RequestContext> {
  return async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      if (!(err instanceof Refusal) || err.kind !== 'auth') throw err
      const verdict = await limits.consume('auth-failures', peerKey(ctx.peer), ctx.runtime.protection.rates.authFailures)
      if (verdict.allowed) throw err
      const facts = refusalFacts(verdict)
      const message = `Too Many Requests: too many failed authentications from your address; retry in ${facts.data.retryAfterSeconds}s`
      // The challenge stays: the client still learns how to authenticate.
      throw Refusal.rateLimited(message, {headers: {...err.headers, ...facts.headers}, data: facts.data}, {auth_reason: err.reason})
    }
  }
}
