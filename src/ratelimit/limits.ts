/**
 * Counting requests against rates, with rate-limiter-flexible: one limiter per distinct rate,
 * keys prefixed by policy. A window is fixed: `limit` requests, then refusals until the window
 * that began with the first request ends.
 *
 * Memory: an entry per key seen in the current window, dropped when its window ends (the
 * library sets a timer per entry), so memory follows the callers of the last window, not all
 * callers ever seen; `npm run bench` measures it with 100,000 callers. The store is swappable
 * (Redis for several replicas) without touching the stages.
 */
import {createRequire} from 'node:module'

import type {RateLimiterAbstract, RateLimiterRes} from 'rate-limiter-flexible'

import {LONGEST_WINDOW_SECONDS, type RateLimit} from './rate.js'

export type {RateLimit} from './rate.js'

/** Where a verdict stands: the rate, what is left of it, and when the window ends. */
export interface Allowance {
  /** Which rate this is: `principal`, `tool`, `auth-failures`. */
  policy: string
  rate: RateLimit
  remaining: number
  /** Milliseconds until the window ends (0 when nothing was counted yet). */
  resetMs: number
}

export interface Verdict extends Allowance {
  allowed: boolean
}

/** Makes the limiter for one rate; the default keeps counts in this process's memory. */
export type LimiterFactory = (rate: RateLimit, keyPrefix: string) => RateLimiterAbstract

const require = createRequire(import.meta.url)

/**
 * The memory store: loaded alone, since the package's index loads every store it supports (50 ms).
 * Its window ends on a timer, which Node fires after 1 ms past 2^31-1 ms: a longer window (a key
 * rate stored before parseRate bounded windows) is kept to the longest one parseRate accepts.
 */
export const memoryLimiter: LimiterFactory = (rate, keyPrefix) => {
  const RateLimiterMemory = require('rate-limiter-flexible/lib/RateLimiterMemory.js') as typeof import('rate-limiter-flexible').RateLimiterMemory
  return new RateLimiterMemory({points: rate.limit, duration: Math.min(rate.windowSeconds, LONGEST_WINDOW_SECONDS), keyPrefix})
}

function isResult(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && 'msBeforeNext' in value && 'consumedPoints' in value
}

export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterAbstract>()

  constructor(private factory: LimiterFactory = memoryLimiter) {}

  /**
   * Makes limiters anew, with `factory` if given: when the store changes (Redis), or when the
   * share of a limit an insurance limiter holds does (the number of replicas). Counts kept in
   * a shared store live on; counts in memory start again.
   */
  reset(factory?: LimiterFactory): void {
    if (factory) this.factory = factory
    this.limiters.clear()
  }

  /** Limiters are kept across settings reloads, so that an unchanged rate keeps its counts. */
  private limiter(policy: string, rate: RateLimit): RateLimiterAbstract {
    const id = `${policy}:${rate.limit}/${rate.windowSeconds}`
    let limiter = this.limiters.get(id)
    if (!limiter) {
      limiter = this.factory(rate, `kw:${policy}:${rate.limit}/${rate.windowSeconds}`)
      this.limiters.set(id, limiter)
    }
    return limiter
  }

  /** Counts one request for `key`; `allowed` is false past the limit. A store that fails is thrown. */
  async consume(policy: string, key: string, rate: RateLimit): Promise<Verdict> {
    try {
      const res = await this.limiter(policy, rate).consume(key)
      return {policy, rate, allowed: true, remaining: Math.max(0, rate.limit - res.consumedPoints), resetMs: Math.max(0, res.msBeforeNext)}
    } catch (err) {
      if (!isResult(err)) throw err
      return {policy, rate, allowed: false, remaining: 0, resetMs: Math.max(0, err.msBeforeNext)}
    }
  }

  /** Where `key` stands, without counting. */
  async peek(policy: string, key: string, rate: RateLimit): Promise<Allowance> {
    const res = await this.limiter(policy, rate).get(key)
    if (!res) return {policy, rate, remaining: rate.limit, resetMs: 0}
    return {policy, rate, remaining: Math.max(0, rate.limit - res.consumedPoints), resetMs: Math.max(0, res.msBeforeNext)}
  }
}
