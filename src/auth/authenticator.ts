/**
 * What every way of authenticating implements, modelled on the MCP SDK's OAuthTokenVerifier:
 * turn a presented credential into a Principal or refuse it with a reason, build its own
 * WWW-Authenticate challenge, and say whether a principal is still valid after the vault (or
 * the world) changed. Several can be active at once; each claims the credentials it recognises.
 */
import type {Challenge} from './challenge.js'
import type {AuthType, Principal} from './principal.js'

/** A credential as the client presented it. Never logged, never echoed. */
export interface Credential {
  /** Where it was found: the Authorization header (with its scheme), X-API-Key, or the environment (stdio). */
  source: 'authorization' | 'x-api-key' | 'environment'
  value: string
}

/** The facts of a request that an authenticator may need besides the credential. */
export interface AuthRequest {
  transport: 'stdio' | 'http'
  peer?: string
  /** Lower-cased header names; only those a proxy authenticator was told to read. */
  headers?: Readonly<Record<string, string | undefined>>
  /** Those of `headers` the request carried more than once (their values above are joined with commas). */
  repeated?: readonly string[]
  /** HTTP: the Host the client used, already checked against the names the server answers to; the resource it named. */
  host?: string
}

/**
 * Why a credential was refused. `reason` is a stable word (missing, malformed, not_found,
 * revoked, expired, not_yet_valid, invalid_token, ambiguous, unsupported_scheme, ...); `error`
 * is the RFC 6750 error code for the challenge, if any.
 */
export class AuthFailure extends Error {
  /** The authenticator that claimed the credential and refused it, set by Authenticators. */
  by?: Authenticator

  constructor(
    readonly reason: string,
    message: string,
    readonly error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
    readonly status: 400 | 401 | 403 | 503 = error === 'invalid_request' ? 400 : error === 'insufficient_scope' ? 403 : 401,
    /** For insufficient_scope: the scope that would have been enough. */
    readonly scope?: string,
  ) {
    super(message)
    this.name = 'AuthFailure'
  }
}

export interface Authenticator {
  readonly type: AuthType
  /** True when this credential is one this authenticator recognises (it then decides alone). */
  claims(credential: Credential | undefined, request: AuthRequest): boolean
  /** The principal, or an AuthFailure. */
  authenticate(credential: Credential | undefined, request: AuthRequest): Principal | Promise<Principal>
  /** This authenticator's WWW-Authenticate challenge, for a refusal (with its failure) or for a request with no credential. */
  challenge(failure?: AuthFailure, request?: AuthRequest): Challenge | undefined
  /** Whether a principal this authenticator made is still valid now (after a vault reload, or as time passes). */
  stillValid(principal: Principal): boolean
  /**
   * A still valid principal as it stands now, when what it may do can change without a new
   * credential: a key re-scoped by `keys scope` (its record in the vault), a token's scopes or a
   * proxy's groups mapped again under reloaded settings. None when it would no longer be admitted.
   * What lives longer than one request (a session, a subscription, a listen stream) is held to it.
   * Absent: the principal never changes.
   */
  current?(principal: Principal): Principal | undefined
}

/**
 * `current` for an authenticator whose settings never change under one instance (a reload makes
 * a new one): each principal is derived once, so a scope set is compiled once and an unchanged
 * principal stays the same object (nothing is told of a change that did not happen).
 */
export function derivedOnce(derive: (principal: Principal) => Principal | undefined): (principal: Principal) => Principal | undefined {
  const derived = new WeakMap<Principal, Principal | null>()
  return (principal) => {
    const cached = derived.get(principal)
    if (cached !== undefined) return cached ?? undefined
    const now = derive(principal)
    derived.set(principal, now ?? null)
    return now
  }
}
