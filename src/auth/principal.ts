import type {RateLimit} from '../ratelimit/rate.js'
import type {ScopeSet} from '../policy/index.js'

export type AuthType = 'api_key' | 'oauth2' | 'proxy_header' | 'none'

/** Who is calling: established by an authenticator, carried with every request through the chain. */
export interface Principal {
  /** Stable id for session binding, rate limits and audit: `key:<id>`, `oauth:<iss>#<sub>`, `anonymous`. */
  id: string
  authType: AuthType
  /** A human name: the key's name, the token's subject. */
  name: string
  scopes: ScopeSet
  keyId?: string
  subject?: string
  clientId?: string
  /** When the credential stops being valid (ms since the epoch); absent for keys without expiry. */
  expiresAt?: number
  /** The credential's own rate (a key's --rate): it beats the default for the auth type. */
  rate?: RateLimit
}
