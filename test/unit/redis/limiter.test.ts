/** Shared rate limits (src/redis/limiter.ts): the in-memory insurance limiter used while Redis does not answer. */
import assert from 'node:assert/strict'

import {Redis} from 'ioredis'

import {RateLimits} from '../../../src/ratelimit/limits.js'
import {redisLimiter} from '../../../src/redis/limiter.js'
import {sleep} from '../../helpers/cli.js'

describe('redis: rate limiter', () => {
  it('while Redis is not ready, the insurance limiter counts a window longer than a timer holds (a key rate stored before windows were bounded)', async () => {
    const redis = new Redis({lazyConnect: true, enableOfflineQueue: false})
    try {
      const limits = new RateLimits(redisLimiter(redis, () => 1))
      const rate = {limit: 1, windowSeconds: 30 * 86_400}
      assert.equal((await limits.consume('p', 'a', rate)).allowed, true)
      await sleep(20) // Node fires a timer of more than 2^31-1 ms after 1 ms: the count was dropped
      assert.equal((await limits.consume('p', 'a', rate)).allowed, false)
    } finally {
      redis.disconnect()
    }
  })
})
