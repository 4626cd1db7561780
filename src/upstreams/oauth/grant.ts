/**
 * Renewing an upstream's tokens without a person: the refresh token grant (RFC 6749 6) against
 * the authorization server recorded at login, never one the upstream names later; or a new
 * client_credentials token. The SDK makes the requests; the caller saves the result.
 */
import {refreshAuthorization} from '@modelcontextprotocol/client'

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

/** Statuses whose response has no body (a Response made with one throws). */
const NO_BODY = new Set([101, 103, 204, 205, 304])

/**
 * `response` with a body that fails once it passes MAX_RESPONSE_BYTES, and stops the transfer
 * then: the SDK reads every answer whole, and a hostile server could otherwise stream hundreds
 * of MiB into serve's memory within the time limit.
 */
function bounded(response: Response): Response {
  if (!response.body || NO_BODY.has(response.status)) return response
  let seen = 0
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength
        if (seen > MAX_RESPONSE_BYTES) controller.error(new Error(`a server's answer was over ${MAX_RESPONSE_BYTES / 1024} KiB, which keyward does not read`))
        else controller.enqueue(chunk)
      },
    }),
  )
  const out = new Response(body, {status: response.status, statusText: response.statusText, headers: response.headers})
  Object.defineProperty(out, 'url', {value: response.url})
  return out
}

export const timedFetch: typeof fetch = async (url, init) => bounded(await fetch(url, {...init, signal: init?.signal ?? AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS)}))

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
