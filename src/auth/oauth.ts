/**
 * OAuth 2.1 bearer tokens, as an MCP resource server must take them (authorization spec
 * 2025-11-25): JWT access tokens verified with jose against the issuer's JWKS, opaque tokens
 * through RFC 7662 introspection, the audience checked (RFC 8707: a token for another resource
 * is refused), scopes mapped to keyward's, and a challenge that points to the protected
 * resource metadata (RFC 9728). The token is never logged, never forwarded upstream, and kept
 * only as a hash in a bounded cache that never outlives its exp.
 */
import type {JWTPayload, JWTVerifyOptions, createRemoteJWKSet} from 'jose'

import {ScopeSet} from '../policy/index.js'
import {AuthFailure, type AuthRequest, type Authenticator, type Credential, derivedOnce} from './authenticator.js'
import {errorParams, type Challenge} from './challenge.js'
import {mapScopes, tokenScopes} from './oauth-scopes.js'
import type {OAuthBasis, Principal} from './principal.js'
import {TokenCache} from './token-cache.js'

export interface OAuthSettings {
  issuer: string
  /**
   * The audiences a token presented with this Host may carry (any one of them): oauth.audience,
   * else the resource the Host names (docs/auth.md). Known once the server listens.
   */
  audiences(host?: string): string[]
  jwksUri?: string
  algorithms: string[]
  introspection?: {url: string; clientId: string; clientSecret: string}
  clockSkewSeconds: number
  introspectionCacheMs: number
  scopeMap: ReadonlyMap<string, readonly string[]>
  /** How often the JWKS may be fetched again for an unknown kid or a failed signature; default 5 s (tests shorten it). */
  jwksCooldownMs?: number
  /** The URL of this server's protected resource metadata for a request with this Host, for the challenge. */
  resourceMetadataUrl(host?: string): string
  /** The scopes a 401 challenge names (space-separated), as clients should ask for them. */
  scope?: string
  /** Logs facts (never a token). */
  log(message: string): void
}

/** jose, loaded with the first token: a server without OAuth never pays for it at start-up. */
let joseModule: Promise<typeof import('jose')> | undefined
const jose = () => (joseModule ??= import('jose'))

/**
 * A refetch of the JWKS for an unknown kid, or for a signature that fails under a known kid (an
 * issuer that replaced a key and kept its kid), at most this often: key rotation works, a flood
 * of random kids or forged signatures does not hammer the issuer. Both share this one budget.
 */
const JWKS_COOLDOWN_MS = 5000
const FETCH_TIMEOUT_MS = 5000
/** Inactive introspection results are remembered this long, so a flood of bad tokens does not become a flood of introspections. */
const NEGATIVE_CACHE_MS = 5000
/** RFC 9068: an access token's typ, when it has one. Plain JWT is common enough (Keycloak, Auth0) to accept. */
const ACCEPTED_TYP = new Set(['at+jwt', 'application/at+jwt', 'jwt'])
const JWT_SHAPE = /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$/

type Claims = JWTPayload & {scope?: unknown; scp?: unknown; client_id?: unknown; azp?: unknown}

/** The audiences a token names (aud: one string, or a list). */
function audiencesOf(aud: unknown): string[] {
  return (Array.isArray(aud) ? aud : [aud]).filter((a): a is string => typeof a === 'string')
}

/** RFC 8707: a token is for this resource when one of its audiences is one this server accepts. */
function audienceAccepted(audiences: readonly string[], accepted: readonly string[]): boolean {
  return audiences.some((a) => accepted.includes(a))
}

function refuse(reason: string, detail: string): AuthFailure {
  return new AuthFailure(reason, `Unauthorized: ${detail}`, 'invalid_token')
}

async function fetchJson(url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(url, {...init, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error'})
  if (!res.ok) throw new Error(`HTTP ${res.status}`)
  return res.json()
}

/** RFC 8414 metadata first (with the well-known part inserted before a path), then OpenID Connect discovery. */
export async function discoverJwksUri(issuer: string): Promise<string> {
  const url = new URL(issuer)
  const path = url.pathname.replace(/\/$/, '')
  const candidates = [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`]
  for (const candidate of candidates) {
    try {
      const metadata = (await fetchJson(candidate)) as {issuer?: unknown; jwks_uri?: unknown}
      if (metadata.issuer !== issuer && metadata.issuer !== issuer.replace(/\/$/, '')) continue
      if (typeof metadata.jwks_uri === 'string') return metadata.jwks_uri
    } catch {
      // try the next form
    }
  }
  throw new Error(`no authorization server metadata with a jwks_uri for ${issuer}`)
}

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>

export class OAuthAuthenticator implements Authenticator {
  readonly type = 'oauth2' as const
  private jwks?: Promise<RemoteKeys>
  private readonly cache = new TokenCache<Principal>(10_000)
  private readonly inactive = new TokenCache<true>(10_000)

  constructor(private readonly settings: OAuthSettings) {}

  claims(credential: Credential | undefined): boolean {
    // OAuth tokens come in the Authorization header only (RFC 6750 2.1 as the MCP spec requires).
    if (credential?.source !== 'authorization') return false
    return JWT_SHAPE.test(credential.value) || this.settings.introspection !== undefined
  }

  async authenticate(credential: Credential | undefined, request?: AuthRequest): Promise<Principal> {
    const token = credential!.value
    const audiences = this.settings.audiences(request?.host)
    // A principal is cached for the resource its audience was checked against: the same token sent to another of this server's names is checked again.
    const key = TokenCache.keyOf(`${audiences[0]}\0${token}`)
    const cached = this.cache.get(key)
    if (cached) return cached
    if (this.inactive.get(key)) throw refuse('inactive', 'the token is not active')
    return JWT_SHAPE.test(token) ? this.verifyJwt(token, audiences, key, request?.host) : this.introspect(token, key, audiences, request?.host)
  }

  private keys(): Promise<RemoteKeys> {
    this.jwks ??= (async () => {
      const uri = this.settings.jwksUri ?? (await discoverJwksUri(this.settings.issuer))
      const {createRemoteJWKSet} = await jose()
      return createRemoteJWKSet(new URL(uri), {cooldownDuration: this.settings.jwksCooldownMs ?? JWKS_COOLDOWN_MS, timeoutDuration: FETCH_TIMEOUT_MS})
    })()
    // A failed discovery is tried again on a later request, not remembered.
    this.jwks.catch(() => (this.jwks = undefined))
    return this.jwks
  }

  private async verifyJwt(token: string, audiences: string[], key: string, host: string | undefined): Promise<Principal> {
    const {decodeProtectedHeader, jwtVerify, errors} = await jose()
    let header: ReturnType<typeof decodeProtectedHeader>
    try {
      header = decodeProtectedHeader(token)
    } catch {
      throw refuse('malformed', 'the token is not a well-formed JWT')
    }
    if (typeof header.alg !== 'string' || !this.settings.algorithms.includes(header.alg)) {
      throw refuse('algorithm_not_allowed', `the token is signed with ${JSON.stringify(header.alg ?? 'none').slice(0, 20)}, which is not accepted`)
    }
    if (header.typ !== undefined && !ACCEPTED_TYP.has(String(header.typ).toLowerCase())) {
      throw refuse('wrong_token_type', 'the token is not an access token (its typ header)')
    }
    let keys: RemoteKeys
    try {
      keys = await this.keys()
    } catch (err) {
      this.settings.log(`cannot get the issuer's keys (${(err as Error).message})`)
      throw new AuthFailure('issuer_unavailable', "Service Unavailable: the authorization server's keys cannot be fetched; retry", undefined, 503)
    }
    const options: JWTVerifyOptions = {
      issuer: this.settings.issuer,
      audience: audiences,
      algorithms: this.settings.algorithms,
      clockTolerance: this.settings.clockSkewSeconds,
      requiredClaims: ['exp'],
    }
    let payload: JWTPayload
    try {
      ;({payload} = await jwtVerify(token, keys, options).catch(async (err: unknown) => {
        if (!(err instanceof errors.JWSSignatureVerificationFailed) || !(await this.refetched(keys))) throw err
        return jwtVerify(token, keys, options)
      }))
    } catch (err) {
      throw this.jwtFailure(err, errors)
    }
    const principal = this.principal(payload, this.basis(payload, {host, algorithm: header.alg, verifiedBy: this.jwtVerifier()}))
    this.cache.set(key, principal, principal.expiresAt ?? Date.now())
    return principal
  }

  /**
   * A signature failed under a kid the cached JWKS holds: the issuer may have replaced that key
   * and kept its kid, which jose's own refetch (for unknown kids only) never notices. Fetches the
   * JWKS again unless it was fetched within the cooldown; true when it fetched it.
   */
  private async refetched(keys: RemoteKeys): Promise<boolean> {
    if (keys.coolingDown) return false
    try {
      await keys.reload()
      return true
    } catch (err) {
      // The keys at hand stay; the token did not verify against them.
      this.settings.log(`cannot refetch the issuer's keys (${(err as Error).message})`)
      return false
    }
  }

  private jwtFailure(err: unknown, errors: typeof import('jose').errors): AuthFailure {
    if (err instanceof errors.JWTExpired) return refuse('expired', 'the token has expired')
    if (err instanceof errors.JWTClaimValidationFailed) {
      switch (err.claim) {
        case 'nbf':
          return refuse('not_yet_valid', 'the token is not valid yet')
        case 'aud':
          return refuse('wrong_audience', 'the token was issued for another resource (audience)')
        case 'iss':
          return refuse('wrong_issuer', 'the token comes from another issuer')
        case 'exp':
          return refuse('malformed', 'the token has no expiry')
        default:
          return refuse('invalid_claims', `the token's ${err.claim} claim is not acceptable`)
      }
    }
    if (err instanceof errors.JWKSNoMatchingKey) return refuse('unknown_key', "the token is signed by a key the issuer's JWKS does not hold")
    if (err instanceof errors.JOSEAlgNotAllowed) return refuse('algorithm_not_allowed', 'the token is signed with an algorithm that is not accepted')
    if (err instanceof errors.JWSSignatureVerificationFailed) return refuse('bad_signature', 'the token signature does not verify')
    if (err instanceof errors.JWKSTimeout) return new AuthFailure('issuer_unavailable', "Service Unavailable: the authorization server's keys cannot be fetched; retry", undefined, 503)
    return refuse('malformed', 'the token is not a valid JWT')
  }

  private principal(claims: Claims, basis: OAuthBasis): Principal {
    const scopes = this.scopesOf(basis)
    if (!scopes) {
      throw new AuthFailure('insufficient_scope', 'Forbidden: the token grants no access to this server', 'insufficient_scope', 403, 'mcp:server:access')
    }
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : undefined
    const subject = typeof claims.sub === 'string' ? claims.sub : clientId
    if (!subject) throw refuse('malformed', 'the token names no subject or client')
    // A client that acts for no user is named apart: its id could otherwise equal some user's
    // subject, and it would share that user's sessions, rate limits and requestState binding.
    const who = typeof claims.sub === 'string' ? claims.sub : `client:${subject}`
    return {
      id: `oauth:${claims.iss ?? this.settings.issuer}#${who}`,
      authType: 'oauth2',
      name: subject,
      subject,
      clientId,
      scopes,
      expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : undefined,
      basis,
    }
  }

  /** What of a verified token the settings apply to, kept with its principal for current(); never the token. */
  private basis(claims: Claims, how: Pick<OAuthBasis, 'host' | 'algorithm' | 'verifiedBy'>): OAuthBasis {
    return {kind: 'oauth2', granted: tokenScopes(claims), audiences: audiencesOf(claims.aud), issuer: this.settings.issuer, ...how}
  }

  /**
   * A token's scopes under this authenticator's settings (oauth.scope-map): the one mapping, at
   * authentication and in current(). None when the token is not admitted to the server at all.
   */
  private scopesOf(basis: OAuthBasis): ScopeSet | undefined {
    const {patterns, admitted} = mapScopes(basis.granted, this.settings.scopeMap)
    return admitted ? new ScopeSet(patterns) : undefined
  }

  private jwtVerifier(): string {
    return `jwks:${this.settings.jwksUri ?? 'discovered'}`
  }

  private introspectionVerifier(): string {
    return `introspection:${this.settings.introspection?.url ?? 'none'}`
  }

  /**
   * Whether this authenticator's settings would still accept a token it accepted under earlier
   * ones, as far as they decide and its signature and times do not: the same issuer and keys (or
   * introspection endpoint), an algorithm still allowed, an audience still this resource's.
   */
  private stillAccepted(basis: OAuthBasis): boolean {
    const verifier = basis.algorithm === undefined ? this.introspectionVerifier() : this.jwtVerifier()
    return (
      basis.issuer === this.settings.issuer &&
      basis.verifiedBy === verifier &&
      (basis.algorithm === undefined || this.settings.algorithms.includes(basis.algorithm)) &&
      audienceAccepted(basis.audiences, this.settings.audiences(basis.host))
    )
  }

  private async introspect(token: string, key: string, accepted: string[], host: string | undefined): Promise<Principal> {
    const config = this.settings.introspection
    if (!config) throw refuse('malformed', 'the token is not a JWT, and this server has no introspection endpoint')
    let body: Record<string, unknown>
    try {
      body = (await fetchJson(config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`).toString('base64')}`,
        },
        body: new URLSearchParams({token, token_type_hint: 'access_token'}).toString(),
      })) as Record<string, unknown>
    } catch (err) {
      this.settings.log(`token introspection failed (${(err as Error).message})`)
      throw new AuthFailure('issuer_unavailable', 'Service Unavailable: the token cannot be introspected now; retry', undefined, 503)
    }
    const now = Date.now()
    const skew = this.settings.clockSkewSeconds * 1000
    if (body.active !== true) {
      this.inactive.set(key, true, now + NEGATIVE_CACHE_MS)
      throw refuse('inactive', 'the token is not active')
    }
    if (typeof body.exp === 'number' && body.exp * 1000 + skew <= now) throw refuse('expired', 'the token has expired')
    if (typeof body.nbf === 'number' && body.nbf * 1000 - skew > now) throw refuse('not_yet_valid', 'the token is not valid yet')
    if (body.iss !== undefined && body.iss !== this.settings.issuer) throw refuse('wrong_issuer', 'the token comes from another issuer')
    // RFC 8707, as for a JWT: a token that names no audience could have been issued for any resource.
    if (!audienceAccepted(audiencesOf(body.aud), accepted)) throw refuse('wrong_audience', 'the token was issued for another resource, or names none (audience)')
    const principal = this.principal(body as Claims, this.basis(body as Claims, {host, verifiedBy: this.introspectionVerifier()}))
    // Cached no longer than the configured maximum, and never past the token's exp.
    this.cache.set(key, principal, Math.min(principal.expiresAt ?? Number.POSITIVE_INFINITY, now + this.settings.introspectionCacheMs))
    return principal
  }

  challenge(failure?: AuthFailure, request?: AuthRequest): Challenge {
    const params: Record<string, string> = {resource_metadata: this.settings.resourceMetadataUrl(request?.host), ...errorParams(failure)}
    // MCP 2025-11-25: a 401 names the scopes to ask for; a refusal that names its own keeps it.
    if (this.settings.scope && params.scope === undefined) params.scope = this.settings.scope
    return {scheme: 'Bearer', params}
  }

  stillValid(principal: Principal): boolean {
    return principal.expiresAt === undefined || principal.expiresAt > Date.now()
  }

  /**
   * A principal this authenticator made, under the settings it has now (a reload rebuilds it):
   * the token's scopes mapped again, so a narrowed oauth.scope-map applies to what outlives its
   * request. None when the token would not be admitted now: no access left, or a changed issuer,
   * keys, introspection endpoint, algorithms or audience that its checks would fail (the token's
   * own expiry is stillValid's). The same principal when nothing changed for it.
   */
  readonly current = derivedOnce((principal) => this.derive(principal))

  private derive(principal: Principal): Principal | undefined {
    const basis = principal.basis
    // A principal with nothing to derive its scopes from again cannot be held to the settings: it is not kept.
    if (basis?.kind !== 'oauth2' || !this.stillAccepted(basis)) return undefined
    const scopes = this.scopesOf(basis)
    if (!scopes) return undefined
    return scopes.sameAs(principal.scopes) ? principal : {...principal, scopes}
  }
}
