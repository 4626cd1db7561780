/**
 * `keyward upstream login`: the operator signs in once. For the authorization code grant: the
 * upstream's challenge, discovery (RFC 9728, then RFC 8414 or OpenID Connect), the client
 * (pre-registered, a metadata document, or dynamic registration, in the MCP spec's order),
 * PKCE (S256), `resource` (RFC 8707) and `state`, through the loopback listener. For
 * client_credentials: a token, no person involved. The SDK's `auth()` does the protocol; this
 * chooses the scope, runs the listener and builds the state the vault keeps.
 */
import {randomBytes} from 'node:crypto'

import {KeywardError} from '../../errors/index.js'
import type {VaultData} from '../../vault/index.js'
import {isUnattended, type OAuthUpstream} from '../definition.js'
import {upstreamHeaders} from '../environment.js'
import {authorize} from './authorize.js'
import {probeChallenge} from './challenge.js'
import {loginFailure} from './failure.js'
import {signedInAs} from './identity.js'
import {startLoopback} from './loopback.js'
import {clientCredentialsOf, VaultOAuthProvider, type Working} from './provider.js'
import {newGrantId, oauthStateOf, type OAuthState} from './store.js'

export interface LoginOptions {
  def: OAuthUpstream
  data: VaultData
  /** `--scope` of the login: beats the scope a 403 asked for, the definition's, and the challenge's. */
  scope?: string
  timeoutMs: number
  /** Shows the authorization URL to the person (opens a browser, or prints it). */
  open(url: URL): Promise<void>
  /** A line for the person that is not a failure. */
  note?(message: string): void
  fetchFn?: typeof fetch
}

export interface LoginResult {
  state: OAuthState
  /** The scope asked for (undefined: the server's default). */
  requested?: string
}

/** Which scope to ask for: the operator's, then what a 403 asked for, then the definition's; else the challenge's or scopes_supported (the SDK's choice). */
function scopeFor(options: LoginOptions, previous: OAuthState | undefined, challenged?: string): string | undefined {
  return options.scope ?? previous?.needsLogin?.scope ?? options.def.oauth.scope ?? challenged
}

function stateFrom(def: OAuthUpstream, working: Working, previous: OAuthState | undefined, clientId: string | undefined): OAuthState {
  const tokens = working.tokens
  if (!tokens) throw new KeywardError('LOGIN_FAILED', 'the authorization server issued no token')
  const unattended = isUnattended(def.oauth.grant)
  return {
    grant: def.oauth.grant,
    grantId: newGrantId(),
    version: (previous?.version ?? 0) + 1,
    tokens,
    obtainedAt: working.obtainedAt,
    client: working.client,
    discovery: working.discovery,
    resource: working.resource,
    signedInAs: signedInAs(tokens, clientId, unattended),
    loggedInAt: new Date().toISOString(),
    refreshes: 0,
  }
}

export async function login(options: LoginOptions): Promise<LoginResult> {
  const {def, data} = options
  const fetchFn = options.fetchFn ?? fetch
  const previous = oauthStateOf(data, def.name)
  const credentials = clientCredentialsOf(def, data)
  // A dynamically registered client was registered for the last login's redirect port: register again.
  // A pre-registered client keeps the issuer it was first used with.
  const keep = previous?.client && (credentials.clientId ? previous.client.client_id === credentials.clientId : previous.client.client_id === def.oauth.clientMetadataUrl)
  const working: Working = {client: keep ? previous!.client : undefined}
  try {
    const {headers} = upstreamHeaders(def, data)
    const challenge = await probeChallenge(def.url, headers, fetchFn)
    const scope = scopeFor(options, previous, challenge.scope)
    const serverUrl = def.url
    const resourceMetadataUrl = challenge.resourceMetadataUrl
    if (isUnattended(def.oauth.grant)) {
      const provider = new VaultOAuthProvider(def, credentials, working, undefined, fetchFn)
      await authorize(provider, {serverUrl, scope, resourceMetadataUrl, fetchFn}, options.note)
      return {state: stateFrom(def, working, previous, credentials.clientId), requested: scope}
    }
    const state = randomBytes(32).toString('base64url')
    const loopback = await startLoopback(state)
    try {
      const provider = new VaultOAuthProvider(def, credentials, working, {redirectUrl: loopback.redirectUrl, state, open: options.open}, fetchFn)
      const first = await authorize(provider, {serverUrl, scope, resourceMetadataUrl, fetchFn}, options.note)
      if (first === 'REDIRECT') {
        const {code, iss} = await loopback.callback(options.timeoutMs)
        await authorize(provider, {serverUrl, scope, resourceMetadataUrl, authorizationCode: code, iss, fetchFn}, options.note)
      }
      return {state: stateFrom(def, working, previous, credentials.clientId), requested: scope}
    } finally {
      await loopback.close()
    }
  } catch (err) {
    throw loginFailure(err)
  }
}
