/**
 * The active authenticators, in the order they are asked to claim a credential. This is the one
 * place that turns the names of authentication methods into implementations.
 */
import {ApiKeyAuthenticator, type VaultView} from './api-key.js'
import {AuthFailure, type AuthRequest, type Authenticator, type Credential} from './authenticator.js'
import {renderChallenges, type Challenge} from './challenge.js'
import {NoAuthenticator} from './none.js'
import {OAuthAuthenticator, type OAuthSettings} from './oauth.js'
import {ProxyHeaderAuthenticator, type ProxySettings} from './proxy-header.js'
import {AUTH_METHOD_NAMES} from '../config/index.js'
import {KeywardError} from '../errors/index.js'
import type {Principal} from './principal.js'

export {AuthFailure, type AuthRequest, type Authenticator, type Credential} from './authenticator.js'
export {credentialFromHeaders} from './credentials.js'
export {ANONYMOUS} from './none.js'
export {keyFailure, principalForKey, type VaultView} from './api-key.js'
export {authMethods, authSettings, resourceMetadataUrl, scopesSupported, type AuthEnvironment, type AuthSettings} from './from-config.js'
export {requiredScope} from './oauth-scopes.js'
export type {AuthType, Principal} from './principal.js'

/** The method names are the setting's (auth.methods in src/config), which owns them. */
export type AuthMethod = (typeof AUTH_METHOD_NAMES)[number]

export interface AuthDeps {
  vault: VaultView
  oauth?: OAuthSettings
  proxy?: ProxySettings
}

/** How each method becomes an authenticator: a name without an entry here does not compile. */
const FACTORIES: Record<AuthMethod, (deps: AuthDeps) => Authenticator> = {
  'api-key': (deps) => new ApiKeyAuthenticator(deps.vault),
  oauth2: (deps) => {
    if (!deps.oauth) throw new KeywardError('INVALID_INPUT', 'auth method oauth2 needs oauth.issuer')
    return new OAuthAuthenticator(deps.oauth)
  },
  'proxy-header': (deps) => {
    if (!deps.proxy) throw new KeywardError('INVALID_INPUT', 'auth method proxy-header needs proxy.trusted-cidrs')
    return new ProxyHeaderAuthenticator(deps.proxy)
  },
  none: () => new NoAuthenticator(),
}

function isAuthMethod(method: string): method is AuthMethod {
  return (AUTH_METHOD_NAMES as readonly string[]).includes(method)
}

export function createAuthenticators(methods: readonly string[], deps: AuthDeps): Authenticators {
  return new Authenticators(
    methods.map((method) => {
      if (!isAuthMethod(method)) throw new KeywardError('INVALID_INPUT', `unknown auth method ${JSON.stringify(method)}; use ${AUTH_METHOD_NAMES.join(', ')}`)
      return FACTORIES[method](deps)
    }),
  )
}

/** Several authenticators as one: the first that claims a credential decides. */
export class Authenticators {
  constructor(readonly list: readonly Authenticator[]) {}

  get types(): string[] {
    return this.list.map((a) => a.type).filter((t) => t !== 'none')
  }

  /** Header names an authenticator reads besides the credential headers (a proxy's identity headers). */
  get headerNames(): string[] {
    return this.list.flatMap((a) => (a instanceof ProxyHeaderAuthenticator ? a.headerNames : []))
  }

  get required(): boolean {
    return !this.list.some((a) => a.type === 'none')
  }

  async authenticate(credential: Credential | undefined, request: AuthRequest): Promise<{principal: Principal; by: Authenticator}> {
    for (const authenticator of this.list) {
      if (!authenticator.claims(credential, request)) continue
      try {
        return {principal: await authenticator.authenticate(credential, request), by: authenticator}
      } catch (err) {
        if (err instanceof AuthFailure) err.by = authenticator
        throw err
      }
    }
    if (!credential) throw new AuthFailure('missing', 'Unauthorized: credentials are required (Authorization: Bearer <credential> or X-API-Key: <key>)')
    throw new AuthFailure('malformed', 'Unauthorized: the credential is not one this server accepts (malformed, or mistyped)', 'invalid_token')
  }

  /** Every active authenticator's challenge, merged, so a client learns all the ways in; the one that refused carries the error. */
  challenge(failure?: AuthFailure, request?: AuthRequest): string | undefined {
    const challenges = this.list.map((a) => a.challenge(!failure?.by || a === failure.by ? failure : undefined, request)).filter((c): c is Challenge => c !== undefined)
    return renderChallenges(challenges, this.types)
  }

  stillValid(principal: Principal): boolean {
    const owner = this.list.find((a) => a.type === principal.authType)
    return owner !== undefined && owner.stillValid(principal) && (principal.expiresAt === undefined || principal.expiresAt > Date.now())
  }

  /**
   * The principal as it stands now: none once it is no longer valid (revoked, expired, removed)
   * or no longer admitted under the settings (a token or proxy group no longer mapped to any
   * scope, a changed issuer or audience), else with what its credential allows now (a key's
   * scopes after `keys scope`, a token's or group's after a reload of the scope map). What outlives
   * the request that made it (a session, a resource subscription, a listen stream) is held to
   * this, not to the principal it was made under.
   */
  current(principal: Principal): Principal | undefined {
    if (!this.stillValid(principal)) return undefined
    const owner = this.list.find((a) => a.type === principal.authType)!
    const now = owner.current ? owner.current(principal) : principal
    // A record changed since (a new expiry) is checked as it is now.
    return now === undefined || now === principal || this.stillValid(now) ? now : undefined
  }
}
