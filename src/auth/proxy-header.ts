/**
 * An identity set by a trusted reverse proxy (oauth2-proxy, Pomerium and the like): a user
 * header, and optionally a groups header, accepted only from the configured addresses. The
 * seed's "custom" authentication type, made practical. A request that carries the user header
 * from anywhere else is refused, never passed on to another authenticator: whoever can reach
 * keyward directly must not be able to claim to be the proxy.
 */
import {AddressList, type Network} from '../net/addresses.js'
import {expandScopes, ScopeSet} from '../policy/index.js'
import {AuthFailure, type AuthRequest, type Authenticator, type Credential} from './authenticator.js'
import {errorParams, type Challenge} from './challenge.js'
import type {Principal} from './principal.js'

export interface ProxySettings {
  trusted: Network[]
  userHeader: string
  groupsHeader: string
  /** Scopes every proxied user gets. */
  scopes: readonly string[]
  /** Scopes a group adds. */
  groupScopes: ReadonlyMap<string, readonly string[]>
}

const USER = /^[\w.@+-]{1,256}$/

export class ProxyHeaderAuthenticator implements Authenticator {
  readonly type = 'proxy_header' as const
  private readonly trusted: AddressList

  constructor(private readonly settings: ProxySettings) {
    this.trusted = new AddressList(settings.trusted)
  }

  /** The header names it reads, for the HTTP front to keep. */
  get headerNames(): string[] {
    return [this.settings.userHeader, this.settings.groupsHeader]
  }

  claims(_credential: Credential | undefined, request: AuthRequest): boolean {
    return request.headers?.[this.settings.userHeader] !== undefined
  }

  authenticate(_credential: Credential | undefined, request: AuthRequest): Principal {
    if (!this.trusted.has(request.peer)) {
      throw new AuthFailure('untrusted_proxy', `Unauthorized: identity headers are accepted only from the trusted proxy`, 'invalid_request', 401)
    }
    const user = request.headers![this.settings.userHeader]!.trim()
    if (!USER.test(user)) throw new AuthFailure('malformed', 'Unauthorized: the identity header is malformed', 'invalid_request', 401)
    const groups = (request.headers?.[this.settings.groupsHeader] ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '')
    const patterns = [...this.settings.scopes, ...groups.flatMap((g) => this.settings.groupScopes.get(g) ?? [])]
    if (patterns.length === 0) throw new AuthFailure('insufficient_scope', `Forbidden: ${user} has no scopes here (proxy.scopes, proxy.scope-map.GROUP)`, 'insufficient_scope', 403)
    return {id: `proxy:${user}`, authType: 'proxy_header', name: user, subject: user, scopes: new ScopeSet(expandScopes(patterns))}
  }

  challenge(failure?: AuthFailure): Challenge | undefined {
    return failure?.by === this ? {scheme: 'Bearer', params: {realm: 'keyward', ...errorParams(failure)}} : undefined
  }

  stillValid(): boolean {
    // Every request carries the identity again; a session outlives no change the proxy makes.
    return true
  }
}
