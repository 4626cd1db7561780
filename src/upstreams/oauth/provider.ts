/**
 * keyward's side of the MCP SDK's OAuth client: an `OAuthClientProvider` over a working copy of
 * an upstream's OAuth state. The SDK does discovery, registration, PKCE, the code exchange and the
 * token requests; this says which client keyward is, where the person's browser goes, and keeps
 * what the SDK hands back until the caller saves it in the vault (one write per flow).
 */
import {
  createPrivateKeyJwtAuth,
  discoverAndRequestJwtAuthGrant,
  requestJwtAuthorizationGrant,
  type AddClientAuthentication,
  type OAuthClientInformationContext,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client'

import {KeywardError} from '../../errors/index.js'
import type {VaultData} from '../../vault/index.js'
import {isUnattended, type OAuthUpstream} from '../definition.js'
import {clientKeyFrom, type ClientKey} from './client-key.js'
import {checkTokenType} from './failure.js'
import type {OAuthState, StoredTokens} from './store.js'

/** The client's own credentials, from the vault: a pre-registered id, and its secret or key. */
export interface ClientCredentials {
  clientId?: string
  clientSecret?: string
  key?: ClientKey
  /** cross_app_access: what the identity provider is shown. */
  idp?: {clientSecret?: string; idToken: string}
}

export function clientCredentialsOf(def: OAuthUpstream, data: VaultData): ClientCredentials {
  const secret = (name: string) => {
    const record = data.secrets.get(name)
    if (!record) throw new KeywardError('NOT_FOUND', `upstream ${def.name} refers to secret ${name}, which the vault does not hold; store it with \`keyward secrets set ${name}\``)
    return record.value
  }
  const {clientId, clientSecret, clientKey, idp} = def.oauth
  return {
    clientId,
    clientSecret: clientSecret ? secret(clientSecret).toString('utf8') : undefined,
    key: clientKey ? clientKeyFrom(clientKey, secret(clientKey)) : undefined,
    idp: idp ? {idToken: secret(idp.idToken).toString('utf8').trim(), clientSecret: idp.clientSecret ? secret(idp.clientSecret).toString('utf8') : undefined} : undefined,
  }
}

/** What one flow fills in, for the caller to save. */
export type Working = Pick<OAuthState, 'tokens' | 'obtainedAt' | 'client' | 'discovery' | 'resource'>

/** A person signing in: where the browser comes back, the state to expect, and how the URL reaches them. */
export interface Interactive {
  redirectUrl: string
  state: string
  open(url: URL): Promise<void>
}

/**
 * The longest lifetime believed of an access token: one said to last longer is renewed after a
 * year anyway. An absurd `expires_in` (1e306 s) would give an expiry of Infinity, which the vault
 * (JSON) keeps as null: a token taken for expired, renewed on every call.
 */
const MAX_EXPIRES_IN_S = 366 * 86_400

/** Every token answer keyward keeps passes here (login, renewal, client_credentials): only a Bearer token is kept. */
export function storedTokens(tokens: StoredOAuthTokens, now: number): StoredTokens {
  checkTokenType(tokens.token_type)
  const out: StoredTokens = {access_token: tokens.access_token, token_type: tokens.token_type}
  if (tokens.refresh_token) out.refresh_token = tokens.refresh_token
  if (tokens.scope) out.scope = tokens.scope
  if (tokens.id_token) out.id_token = tokens.id_token
  if (typeof tokens.expires_in === 'number' && tokens.expires_in > 0) out.expires_at = now + Math.min(tokens.expires_in, MAX_EXPIRES_IN_S) * 1000
  if (tokens.issuer) out.issuer = tokens.issuer
  return out
}

function sdkTokens(tokens: StoredTokens): StoredOAuthTokens {
  const {expires_at: _expiresAt, ...rest} = tokens
  return rest as StoredOAuthTokens
}

function sameIssuer(a: string, b: string): boolean {
  return a === b || a.replace(/\/$/, '') === b.replace(/\/$/, '')
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'

export class VaultOAuthProvider implements OAuthClientProvider {
  private verifier?: string
  readonly addClientAuthentication?: AddClientAuthentication

  constructor(
    private readonly def: OAuthUpstream,
    private readonly credentials: ClientCredentials,
    readonly working: Working,
    private readonly interactive?: Interactive,
    private readonly fetchFn: typeof fetch = fetch,
  ) {
    const {key, clientId} = credentials
    if (key && clientId) this.addClientAuthentication = createPrivateKeyJwtAuth({issuer: clientId, subject: clientId, privateKey: key.jwk, alg: key.alg})
  }

  get redirectUrl(): string | undefined {
    return this.interactive?.redirectUrl
  }

  get clientMetadataUrl(): string | undefined {
    return this.def.oauth.clientMetadataUrl
  }

  get clientMetadata(): OAuthClientMetadata {
    if (!this.interactive) return {client_name: 'keyward', redirect_uris: [], grant_types: [this.def.oauth.grant === 'cross_app_access' ? JWT_BEARER : 'client_credentials']}
    return {client_name: 'keyward', redirect_uris: [this.interactive.redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code']}
  }

  state(): string {
    if (!this.interactive) throw new KeywardError('UNEXPECTED', 'an unattended grant asked for an authorization state')
    return this.interactive.state
  }

  /**
   * A pre-registered client is sent only to the authorization server it belongs to: the one
   * `--issuer` names, or else the one it was first used with. Otherwise the registered client
   * (dynamic, or a metadata document) of this issuer.
   */
  clientInformation(ctx?: OAuthClientInformationContext): StoredOAuthClientInformation | undefined {
    const {clientId, clientSecret} = this.credentials
    if (!clientId) return this.working.client
    const pinned = this.def.oauth.issuer ?? (this.working.client?.client_id === clientId ? this.working.client.issuer : undefined)
    if (ctx && pinned && !sameIssuer(pinned, ctx.issuer)) {
      throw new KeywardError('LOGIN_FAILED', `wrong issuer: upstream ${this.def.name} names authorization server ${JSON.stringify(ctx.issuer.slice(0, 100))}, but client ${clientId} belongs to ${pinned}; its credentials are not sent there`)
    }
    // Unpinned: bound to the first authorization server it is used with (kept with the login).
    const issuer = pinned ?? ctx?.issuer
    if (!pinned && issuer) this.working.client = {client_id: clientId, issuer}
    return {client_id: clientId, ...(clientSecret ? {client_secret: clientSecret} : {}), ...(this.credentials.key ? {token_endpoint_auth_method: 'private_key_jwt'} : {}), ...(issuer ? {issuer} : {})}
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    // A pre-registered client's secret stays where it is (a vault secret); only the issuer it is bound to is kept.
    this.working.client = this.credentials.clientId ? {client_id: info.client_id, issuer: info.issuer} : info
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.working.tokens && sdkTokens(this.working.tokens)
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    const now = Date.now()
    this.working.tokens = storedTokens(tokens, now)
    this.working.obtainedAt = now
  }

  /**
   * The URL comes from the authorization server's metadata, which the upstream chose: only a web
   * page is opened. A file: or custom-scheme URL handed to the platform's opener (open,
   * xdg-open, url.dll) can start a program.
   */
  async redirectToAuthorization(url: URL): Promise<void> {
    if (!this.interactive) throw new KeywardError('UNEXPECTED', 'an unattended grant asked a person to sign in')
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new KeywardError('LOGIN_FAILED', `the authorization server's authorization endpoint is not a web address (${JSON.stringify(url.protocol.slice(0, 20))}); keyward opens only http(s) URLs for a sign-in`)
    }
    await this.interactive.open(url)
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier
  }

  codeVerifier(): string {
    if (!this.verifier) throw new KeywardError('UNEXPECTED', 'no PKCE code verifier was made for this login')
    return this.verifier
  }

  /**
   * The unattended grants are asked for explicitly; the authorization code grant uses the SDK's
   * default request. cross_app_access first exchanges the identity provider's ID token for a JWT
   * authorization grant for this authorization server and resource (RFC 8693), then presents it.
   */
  async prepareTokenRequest(scope?: string): Promise<URLSearchParams | undefined> {
    const {grant, idp} = this.def.oauth
    if (!isUnattended(grant)) return undefined
    if (grant === 'client_credentials' || !idp || !this.credentials.idp) {
      const params = new URLSearchParams({grant_type: 'client_credentials'})
      if (scope) params.set('scope', scope)
      return params
    }
    const discovery = this.working.discovery
    const audience = discovery?.authorizationServerMetadata?.issuer ?? discovery?.authorizationServerUrl
    if (!audience || !this.working.resource) throw new KeywardError('UNEXPECTED', 'the authorization server was not discovered before the token request')
    const exchange = {audience, resource: this.working.resource, idToken: this.credentials.idp.idToken, clientId: idp.clientId, clientSecret: this.credentials.idp.clientSecret, scope, fetchFn: this.fetchFn}
    const {jwtAuthGrant} = idp.tokenEndpoint
      ? await requestJwtAuthorizationGrant({...exchange, tokenEndpoint: idp.tokenEndpoint})
      : await discoverAndRequestJwtAuthGrant({...exchange, idpUrl: idp.issuer!})
    return new URLSearchParams({grant_type: JWT_BEARER, assertion: jwtAuthGrant})
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.working.discovery = state
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.working.discovery
  }

  saveResourceUrl(url: string): void {
    this.working.resource = url
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'client') this.working.client = undefined
    if (scope === 'all' || scope === 'tokens') this.working.tokens = undefined
    if (scope === 'all' || scope === 'discovery') this.working.discovery = undefined
    if (scope === 'all' || scope === 'verifier') this.verifier = undefined
  }
}
