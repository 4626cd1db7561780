/**
 * Rate limits shared by every replica, with rate-limiter-flexible's Redis store. While Redis is
 * unreachable, each limiter falls back at once to an in-memory insurance limiter holding this
 * replica's share of the limit (the limit divided by the live replicas), so that the cluster as
 * a whole stays near its limit and valid keys keep working.
 */
import {createRequire} from 'node:module'

import {type LimiterFactory, memoryLimiter} from '../ratelimit/limits.js'
import type {Redis} from './client.js'

const require = createRequire(import.meta.url)

export function redisLimiter(redis: Redis, replicas: () => number): LimiterFactory {
  const RateLimiterRedis = require('rate-limiter-flexible/lib/RateLimiterRedis.js') as typeof import('rate-limiter-flexible').RateLimiterRedis
  return (rate, keyPrefix) =>
    new RateLimiterRedis({
      storeClient: redis,
      points: rate.limit,
      duration: rate.windowSeconds,
      keyPrefix,
      rejectIfRedisNotReady: true,
      // The memory store's window is bounded as memoryLimiter bounds it (a timer holds at most 24.8 days).
      insuranceLimiter: memoryLimiter({limit: Math.max(1, Math.ceil(rate.limit / Math.max(1, replicas()))), windowSeconds: rate.windowSeconds}, keyPrefix),
    })
}
