/**
 * Where Redis is: `--redis` beats KEYWARD_REDIS_URL, which beats `keyward config set redis.url`.
 * A password never comes from the command line (ps shows it): put it in the environment's URL,
 * or in the vault as `redis.password secret:NAME`.
 */
import {KeywardError} from '../errors/index.js'

export interface RedisTarget {
  url: string
  /** The password from the URL or the vault; never shown. */
  password?: string
  /** The URL as it may be shown: no password. */
  display: string
}

export function checkRedisUrl(value: string, where: string): URL {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new KeywardError('INVALID_INPUT', `${where} is not a URL; use redis://host:6379 or rediss://host:6380 (TLS)`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new KeywardError('INVALID_INPUT', `${where} must start with redis:// or rediss:// (TLS), not ${url.protocol}//`)
  }
  return url
}

export function displayUrl(url: URL): string {
  const shown = new URL(url.href)
  shown.password = ''
  if (url.password) shown.username = url.username || 'default'
  return `${shown.protocol}//${shown.username ? `${shown.username}:***@` : ''}${shown.host}${shown.pathname === '/' ? '' : shown.pathname}`
}

/** The Redis to use, or undefined when none is configured. `password` is the vault's redis.password, resolved. */
export function resolveRedis(flag: string | undefined, configured: string | undefined, password: string | undefined, env = process.env): RedisTarget | undefined {
  if (flag) {
    const url = checkRedisUrl(flag, '--redis')
    if (url.password) {
      throw new KeywardError('INVALID_INPUT', '--redis must not carry a password (the command line is visible to other users); set KEYWARD_REDIS_URL, or keyward config set redis.password secret:NAME')
    }
  }
  const value = flag || env.KEYWARD_REDIS_URL || configured
  if (!value) return undefined
  const url = checkRedisUrl(value, flag ? '--redis' : env.KEYWARD_REDIS_URL ? 'KEYWARD_REDIS_URL' : 'redis.url')
  return {url: url.href, password: url.password ? decodeURIComponent(url.password) : password, display: displayUrl(url)}
}
