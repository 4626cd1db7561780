/**
 * What keyward holds for an upstream it signs in to: the tokens, the client it registered, and
 * what it discovered about the authorization server, in the vault's `upstream_oauth` table
 * (encrypted with everything else in the vault). The definition (src/upstreams/definition.ts)
 * says how to sign in; this says where things stand. Only `oauthView` leaves this module for
 * printing, and it carries no token.
 */
import {randomUUID} from 'node:crypto'

import type {OAuthDiscoveryState, StoredOAuthClientInformation} from '@modelcontextprotocol/client'

import {isObject} from '../../vault/format.js'
import {tableOf, type VaultData} from '../../vault/index.js'
import {isUnattended, type OAuthGrant} from '../definition.js'

export const OAUTH_TABLE = 'upstream_oauth'

/** Tokens as the token endpoint issued them, with the expiry made absolute. */
export interface StoredTokens {
  access_token: string
  token_type: string
  refresh_token?: string
  scope?: string
  id_token?: string
  /** When the access token expires, in ms since the epoch (from `expires_in`); absent when the server did not say. */
  expires_at?: number
  /** The authorization server that issued them (SEP-2352: never sent to another). */
  issuer?: string
}

export interface NeedsLogin {
  /** Why, in words: "the upstream asked for scope a b (insufficient_scope)", "the refresh token was refused". */
  reason: string
  /** The scope a new login should ask for, when the upstream named one. */
  scope?: string
  at: string
}

export interface OAuthState {
  grant: OAuthGrant
  /** New at each login and logout, never at a refresh: a running serve restarts the upstream's connections when it changes. */
  grantId: string
  /** Increases with every change of tokens: a writer that finds it moved knows someone else refreshed. */
  version: number
  tokens?: StoredTokens
  /** When the current access token was obtained (ms): with expires_at, its lifetime. */
  obtainedAt?: number
  /** A client registered dynamically or named by a metadata document (a pre-registered one comes from the definition). */
  client?: StoredOAuthClientInformation
  discovery?: OAuthDiscoveryState
  /** The RFC 8707 resource the tokens are for. */
  resource?: string
  /** Who the tokens say the operator is (an unverified label for display: email, username, subject or client). */
  signedInAs?: string
  loggedInAt: string
  lastRefresh?: string
  refreshes: number
  needsLogin?: NeedsLogin
}

function tableOfOAuth(data: VaultData): Map<string, OAuthState> {
  return tableOf<OAuthState>(data, OAUTH_TABLE)
}

export function oauthStateOf(data: VaultData, name: string): OAuthState | undefined {
  const state = data.tables.get(OAUTH_TABLE)?.get(name)
  if (!isObject(state) || typeof state.grantId !== 'string' || typeof state.version !== 'number') return undefined
  return state as unknown as OAuthState
}

export function setOAuthState(data: VaultData, name: string, state: OAuthState): void {
  tableOfOAuth(data).set(name, state)
}

export function removeOAuthState(data: VaultData, name: string): OAuthState | undefined {
  const state = oauthStateOf(data, name)
  tableOfOAuth(data).delete(name)
  return state
}

export function newGrantId(): string {
  return randomUUID()
}

/** An upstream's tokens, named for the redactor (`UPSTREAM_NAME_OAUTH`). */
export function tokenSecrets(name: string, tokens: unknown): [string, string][] {
  const out: [string, string][] = []
  const label = oauthLabel(name)
  for (const field of ['access_token', 'refresh_token', 'id_token']) {
    const value = isObject(tokens) ? tokens[field] : undefined
    if (typeof value === 'string' && value !== '') out.push([label, value])
  }
  return out
}

function oauthLabel(name: string): string {
  return `UPSTREAM_${name.toUpperCase().replace(/-/g, '_')}_OAUTH`
}

/** The secrets of the table, named for the redactor: a token an upstream echoes never reaches a client. */
export function oauthSecretsOf(data: VaultData): [string, string][] {
  const out: [string, string][] = []
  for (const [name, state] of data.tables.get(OAUTH_TABLE) ?? []) {
    out.push(...tokenSecrets(name, isObject(state) ? state.tokens : undefined))
    const label = oauthLabel(name)
    const client = isObject(state) && isObject(state.client) ? state.client : undefined
    // A dynamically registered client's secret, and the token that manages its registration (RFC 7592).
    for (const field of ['client_secret', 'registration_access_token']) {
      const value = client?.[field]
      if (typeof value === 'string' && value !== '') out.push([`${label}_CLIENT`, value])
    }
  }
  return out
}

/** What `upstream list` and `show` print: the state, never a token. */
export interface OAuthView {
  grant: OAuthGrant
  signedIn: boolean
  signedInAs?: string
  scopes: string[]
  /** Seconds until the access token expires (negative: expired); absent when unknown. */
  expiresIn?: number
  loggedInAt?: string
  lastRefresh?: string
  refreshes: number
  issuer?: string
  needsLogin: boolean
  needsLoginReason?: string
  /** The scope the next login asks for, when a 403 named a wider one. */
  needsLoginScope?: string
}

export function oauthView(grant: OAuthGrant, state: OAuthState | undefined, now = Date.now()): OAuthView {
  if (!state?.tokens) {
    const reason = state?.needsLogin?.reason ?? (isUnattended(grant) ? 'no token yet: keyward serve or `keyward upstream login` obtains one' : 'not signed in yet')
    return {grant, signedIn: false, scopes: [], refreshes: state?.refreshes ?? 0, needsLogin: !isUnattended(grant) || state?.needsLogin !== undefined, needsLoginReason: reason, needsLoginScope: state?.needsLogin?.scope}
  }
  const {tokens} = state
  return {
    grant,
    signedIn: true,
    signedInAs: state.signedInAs,
    scopes: tokens.scope ? tokens.scope.split(' ').filter(Boolean) : [],
    expiresIn: tokens.expires_at === undefined ? undefined : Math.round((tokens.expires_at - now) / 1000),
    loggedInAt: state.loggedInAt,
    lastRefresh: state.lastRefresh,
    refreshes: state.refreshes,
    issuer: tokens.issuer,
    needsLogin: state.needsLogin !== undefined,
    needsLoginReason: state.needsLogin?.reason,
    needsLoginScope: state.needsLogin?.scope,
  }
}
