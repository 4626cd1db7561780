/**
 * `keyward upstream logout`: token revocation (RFC 7009) where the authorization server offers
 * it, refresh token first (which ends the whole grant on most servers), then the access token.
 * The client authenticates as it does at the token endpoint.
 */
import {assertSecureTokenEndpoint, buildDiscoveryUrls, selectClientAuthMethod} from '@modelcontextprotocol/client'

import type {VaultData} from '../../vault/index.js'
import type {OAuthUpstream} from '../definition.js'
import {describeFailure} from './failure.js'
import {clientCredentialsOf, VaultOAuthProvider} from './provider.js'
import type {OAuthState} from './store.js'

export type Revocation = {outcome: 'revoked'} | {outcome: 'unsupported'} | {outcome: 'failed'; why: string}

const REVOKE_TIMEOUT_MS = 10_000

type LooseMetadata = {issuer?: unknown; revocation_endpoint?: unknown; revocation_endpoint_auth_methods_supported?: unknown; token_endpoint_auth_methods_supported?: unknown}

/**
 * The metadata with its revocation endpoint: the SDK keeps it from RFC 8414 metadata, but drops
 * it from an OpenID Connect discovery document, so that one is read again (same issuer only).
 */
async function revocationMetadata(state: OAuthState, fetchFn: typeof fetch): Promise<LooseMetadata | undefined> {
  const kept = state.discovery?.authorizationServerMetadata as LooseMetadata | undefined
  if (!state.discovery || typeof kept?.revocation_endpoint === 'string') return kept
  for (const {url} of buildDiscoveryUrls(state.discovery.authorizationServerUrl)) {
    const response = await fetchFn(url, {headers: {accept: 'application/json'}, redirect: 'error', signal: AbortSignal.timeout(REVOKE_TIMEOUT_MS)}).catch(() => undefined)
    if (!response?.ok) {
      await response?.body?.cancel().catch(() => {})
      continue
    }
    const document = (await response.json().catch(() => undefined)) as LooseMetadata | undefined
    if (document && document.issuer === kept?.issuer && typeof document.revocation_endpoint === 'string') return {...kept, ...document}
  }
  return kept
}

export async function revokeTokens(def: OAuthUpstream, state: OAuthState, data: VaultData, fetchFn: typeof fetch = fetch): Promise<Revocation> {
  const loose = (await revocationMetadata(state, fetchFn)) ?? {}
  const endpoint = typeof loose.revocation_endpoint === 'string' ? loose.revocation_endpoint : undefined
  if (!endpoint || !state.tokens) return {outcome: 'unsupported'}
  const metadata = state.discovery?.authorizationServerMetadata
  try {
    const url = assertSecureTokenEndpoint(endpoint)
    const provider = new VaultOAuthProvider(def, clientCredentialsOf(def, data), {client: state.client})
    const client = provider.clientInformation()
    const listed = loose.revocation_endpoint_auth_methods_supported ?? loose.token_endpoint_auth_methods_supported
    const methods = Array.isArray(listed) ? listed.filter((m): m is string => typeof m === 'string') : []
    const tokens: [string, string][] = []
    if (state.tokens.refresh_token) tokens.push([state.tokens.refresh_token, 'refresh_token'])
    tokens.push([state.tokens.access_token, 'access_token'])
    for (const [token, hint] of tokens) {
      const headers = new Headers({'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'})
      const params = new URLSearchParams({token, token_type_hint: hint})
      if (provider.addClientAuthentication) await provider.addClientAuthentication(headers, params, url, metadata)
      else if (client) authenticate(selectClientAuthMethod(client, methods), client, headers, params)
      const response = await fetchFn(url, {method: 'POST', headers, body: params, redirect: 'error', signal: AbortSignal.timeout(REVOKE_TIMEOUT_MS)})
      await response.body?.cancel().catch(() => {})
      // RFC 7009 2.2: 200 for a revoked token and for one the server did not know alike.
      if (!response.ok) return {outcome: 'failed', why: `the revocation endpoint answered HTTP ${response.status}`}
    }
    return {outcome: 'revoked'}
  } catch (err) {
    return {outcome: 'failed', why: describeFailure(err)}
  }
}

function authenticate(method: string, client: {client_id: string; client_secret?: string}, headers: Headers, params: URLSearchParams): void {
  if (method === 'client_secret_basic' && client.client_secret) {
    // RFC 6749 2.3.1: both parts form-encoded before the Basic encoding.
    const pair = `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`
    headers.set('authorization', `Basic ${Buffer.from(pair).toString('base64')}`)
    return
  }
  params.set('client_id', client.client_id)
  if (method === 'client_secret_post' && client.client_secret) params.set('client_secret', client.client_secret)
}
