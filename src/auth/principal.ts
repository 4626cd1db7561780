import type {RateLimit} from '../ratelimit/rate.js'
import type {ScopeSet} from '../policy/index.js'

export type AuthType = 'api_key' | 'oauth2' | 'proxy_header' | 'none'

/**
 * What an OAuth token's principal was admitted and scoped on, besides the signature: the facts
 * of the token the settings are applied to. Kept so that a reload of those settings can apply
 * them again to a principal that outlives its request (OAuthAuthenticator.current); the token
 * itself is never kept.
 */
export interface OAuthBasis {
  kind: 'oauth2'
  /** The scopes the token grants (its scope or scp claim), before oauth.scope-map. */
  granted: readonly string[]
  /** The token's audiences (aud). */
  audiences: readonly string[]
  /** The Host the token was presented with: which resource its audience was checked against. */
  host?: string
  /** A JWT's signing algorithm, checked against oauth.algorithms; absent for an introspected token. */
  algorithm?: string
  /** The issuer setting, and the keys or endpoint that verified the token (`jwks:URI`, `jwks:discovered`, `introspection:URL`). */
  issuer: string
  verifiedBy: string
}

/** What a proxy's principal was admitted and scoped on: the groups it asserted, and the proxy that asserted them. */
export interface ProxyBasis {
  kind: 'proxy_header'
  groups: readonly string[]
  /** The proxy's address (the request's peer), checked against proxy.trusted-cidrs. */
  peer?: string
  /** The headers the identity and the groups were read from. */
  userHeader: string
  groupsHeader: string
}

/** Who is calling: established by an authenticator, carried with every request through the chain. */
export interface Principal {
  /** Stable id for session binding, rate limits and audit: `key:<id>`, `oauth:<iss>#<sub>`, `anonymous`. */
  id: string
  authType: AuthType
  /** A human name: the key's name, the token's subject. */
  name: string
  scopes: ScopeSet
  keyId?: string
  /** A key's principal: the stored hash of the secret it was authenticated with (never the secret), so that a rotation ends what that secret opened. */
  keySecret?: string
  subject?: string
  clientId?: string
  /** When the credential stops being valid (ms since the epoch); absent for keys without expiry. */
  expiresAt?: number
  /** The credential's own rate (a key's --rate): it beats the default for the auth type. */
  rate?: RateLimit
  /** What the scopes were derived from under the settings, for principals whose settings map them (OAuth, proxy header). */
  basis?: OAuthBasis | ProxyBasis
}
