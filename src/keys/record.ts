/** An API key as the vault stores it: never the key itself, only a hash of its secret part. */
import type {RateLimit} from '../ratelimit/rate.js'

export interface KeySecret {
  /** Hex SHA-256 of the secret part (of the whole key for an imported legacy key). */
  hash: string
  /** A short visible start, for display: prefix, id and the first characters of the secret. */
  start: string
  created: string
  /** Set on an older secret kept valid during a rotation's grace period. */
  validUntil?: string
  /** An imported key not in keyward's format: looked up by the hash of the whole key. */
  legacy?: true
}

export interface KeyRecord {
  id: string
  name: string
  description?: string
  prefix: string
  secret: KeySecret
  /** Secrets replaced by `keys rotate` that are still in their grace period. */
  previous?: KeySecret[]
  scopes: string[]
  created: string
  expires?: string
  notBefore?: string
  revoked?: {at: string; reason?: string}
  rateLimit?: RateLimit
  meta?: Record<string, string>
}
