/** Where Redis is, as the settings say: the one place redis.password (secret:NAME) is resolved. */
import {resolveRedis, type RedisTarget} from '../redis/url.js'
import {resolveSecretRef} from '../secrets/ref.js'
import type {VaultData} from '../vault/index.js'

/**
 * The Redis to use, or undefined when none is configured: `flag` (--redis) beats
 * KEYWARD_REDIS_URL, which beats the setting redis.url; the password comes from the URL in the
 * environment, else from the vault secret redis.password names.
 */
export function redisTarget(settings: ReadonlyMap<string, string>, data: VaultData, flag?: string): RedisTarget | undefined {
  const ref = settings.get('redis.password')
  return resolveRedis(flag, settings.get('redis.url'), ref === undefined ? undefined : resolveSecretRef(data, ref, 'redis.password'))
}
