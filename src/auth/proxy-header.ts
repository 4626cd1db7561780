/**
 * An identity set by a trusted reverse proxy (oauth2-proxy, Pomerium and the like): a user
 * header, and optionally a groups header, accepted only from the configured addresses. The
 * seed's "custom" authentication type, made practical. A request that carries the user header
 * from anywhere else is refused, never passed on to another authenticator: whoever can reach
 * keyward directly must not be able to claim to be the proxy.
 */
import {AddressList, type Network} from '../net/addresses.js'
import {expandScopes, ScopeSet} from '../policy/index.js'
import {AuthFailure, type AuthRequest, type Authenticator, type Credential, derivedOnce} from './authenticator.js'
import {errorParams, type Challenge} from './challenge.js'
import type {Principal, ProxyBasis} from './principal.js'

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
    // A proxy sets each identity header once; a second copy is a client's own that it passed through,
    // and a groups list joined with it would grant the groups the client named.
    if (request.repeated?.some((name) => name === this.settings.userHeader || name === this.settings.groupsHeader)) {
      throw new AuthFailure('malformed', 'Unauthorized: an identity header was sent more than once; configure the proxy to replace, not append to, the headers a client sends', 'invalid_request', 401)
    }
    const user = request.headers![this.settings.userHeader]!.trim()
    if (!USER.test(user)) throw new AuthFailure('malformed', 'Unauthorized: the identity header is malformed', 'invalid_request', 401)
    const groups = (request.headers?.[this.settings.groupsHeader] ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '')
    const basis: ProxyBasis = {kind: 'proxy_header', groups, peer: request.peer, userHeader: this.settings.userHeader, groupsHeader: this.settings.groupsHeader}
    const scopes = this.scopesOf(basis)
    if (!scopes) throw new AuthFailure('insufficient_scope', `Forbidden: ${user} has no scopes here (proxy.scopes, proxy.scope-map.GROUP)`, 'insufficient_scope', 403)
    return {id: `proxy:${user}`, authType: 'proxy_header', name: user, subject: user, scopes, basis}
  }

  /**
   * The scopes of a user the proxy asserted with these groups, under this authenticator's
   * settings: the one mapping, at authentication and in current(). None when it gets no scope.
   */
  private scopesOf(basis: ProxyBasis): ScopeSet | undefined {
    const patterns = [...this.settings.scopes, ...basis.groups.flatMap((g) => this.settings.groupScopes.get(g) ?? [])]
    return patterns.length === 0 ? undefined : new ScopeSet(expandScopes(patterns))
  }

  challenge(failure?: AuthFailure): Challenge | undefined {
    return failure?.by === this ? {scheme: 'Bearer', params: {realm: 'keyward', ...errorParams(failure)}} : undefined
  }

  stillValid(): boolean {
    // Every request carries the identity again; what the settings make of it is current()'s.
    return true
  }

  /**
   * A principal this authenticator made, under the settings it has now (a reload rebuilds it):
   * its groups mapped again, so a narrowed proxy.scope-map or proxy.scopes applies to what
   * outlives its request. None when it would not be admitted now: no scope left, its proxy no
   * longer trusted, or the identity headers renamed (what the proxy sends under the new names is
   * unknown until it sends it). The same principal when nothing changed for it.
   */
  readonly current = derivedOnce((principal) => this.derive(principal))

  private derive(principal: Principal): Principal | undefined {
    const basis = principal.basis
    // A principal with nothing to derive its scopes from again cannot be held to the settings: it is not kept.
    if (basis?.kind !== 'proxy_header') return undefined
    if (!this.trusted.has(basis.peer) || basis.userHeader !== this.settings.userHeader || basis.groupsHeader !== this.settings.groupsHeader) return undefined
    const scopes = this.scopesOf(basis)
    if (!scopes) return undefined
    return scopes.sameAs(principal.scopes) ? principal : {...principal, scopes}
  }
}
