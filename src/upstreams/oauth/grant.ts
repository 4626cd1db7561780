/**
 * Renewing an upstream's tokens without a person: the refresh token grant (RFC 6749 6) against
 * the authorization server recorded at login, never one the upstream names later; or a new
 * client_credentials token. The SDK makes the requests; the caller saves the result.
 */
import {refreshAuthorization} from '@modelcontextprotocol/client'

import {boundedResponse} from '../../net/bounded-response.js'
import type {VaultData} from '../../vault/index.js'
import {isUnattended, type OAuthUpstream} from '../definition.js'
import {authorize} from './authorize.js'
import {UpstreamNeedsLogin} from './errors.js'
import {clientCredentialsOf, storedTokens, VaultOAuthProvider, type Working} from './provider.js'
import type {OAuthState} from './store.js'

/** A token request may take this long: it runs under the vault's write lock. */
export const TOKEN_REQUEST_TIMEOUT_MS = 8000

/** The most an answer to a login or renewal request may be: metadata, a registration and a token response are a few KiB. */
export const MAX_RESPONSE_BYTES = 1024 * 1024

/** Each request bounded in time and in the size of its answer (the SDK reads every answer whole). */
export const timedFetch: typeof fetch = async (url, init) =>
  boundedResponse(await fetch(url, {...init, signal: init?.signal ?? AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS)}), MAX_RESPONSE_BYTES, "a server's answer")

export async function renewTokens(def: OAuthUpstream, state: OAuthState | undefined, data: VaultData, fetchFn: typeof fetch = timedFetch): Promise<Working> {
  const credentials = clientCredentialsOf(def, data)
  const working: Working = {client: state?.client, discovery: state?.discovery, resource: state?.resource}
  const provider = new VaultOAuthProvider(def, credentials, working, undefined, fetchFn)
  if (isUnattended(def.oauth.grant)) {
    await authorize(provider, {serverUrl: def.url, scope: def.oauth.scope, fetchFn})
    return working
  }
  const tokens = state?.tokens
  if (!tokens?.refresh_token) throw new UpstreamNeedsLogin(def.name, 'its token expired, and the authorization server issued no refresh token to renew it')
  const discovery = state?.discovery
  if (!discovery) throw new UpstreamNeedsLogin(def.name, 'no authorization server was recorded at login')
  const client = provider.clientInformation()
  if (!client) throw new UpstreamNeedsLogin(def.name, 'no OAuth client was recorded at login')
  const renewed = await refreshAuthorization(discovery.authorizationServerUrl, {
    metadata: discovery.authorizationServerMetadata,
    clientInformation: client,
    refreshToken: tokens.refresh_token,
    resource: state.resource,
    addClientAuthentication: provider.addClientAuthentication,
    fetchFn,
  })
  const now = Date.now()
  // A response that leaves `scope` out grants the scope of the refresh token (RFC 6749 5.1).
  working.tokens = storedTokens({...renewed, scope: renewed.scope ?? tokens.scope, issuer: tokens.issuer}, now)
  working.obtainedAt = now
  return working
}
