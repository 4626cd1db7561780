/**
 * Upstream OAuth: keyward signs in to remote MCP servers once, keeps the tokens in the vault and
 * renews them for every client. What is exported here is light; the modules that load the MCP
 * SDK's OAuth client (login, revoke, grant, provider, failure) are imported where they are used.
 */
import type {UpstreamDefinition} from '../definition.js'
import {isOAuthUpstream} from '../definition.js'
import type {TokenBroker} from './broker.js'
import {oauthFetch, type FetchLike} from './fetch.js'
import {oauthStateOf} from './store.js'
import type {VaultData} from '../../vault/index.js'

export {keepsSignIn} from '../definition.js'
export {TokenBroker, TokenKeeper, type BrokerHost} from './broker.js'
export {needsLoginIn, RefreshFailed, UpstreamNeedsLogin} from './errors.js'
export {bearerChallenge, oauthFetch, type FetchLike} from './fetch.js'
export {checkOAuthHeaders, checkOAuthUrl, checkScope, oauthFromFlags, type OAuthFlags} from './options.js'
export {newGrantId, oauthSecretsOf, oauthStateOf, oauthView, removeOAuthState, setOAuthState, type OAuthState, type OAuthView, type StoredTokens} from './store.js'

/** The hook for the gateway's HTTP transport: a `fetch` carrying the upstream's tokens, for an upstream that takes OAuth. */
export function upstreamFetch(broker: TokenBroker, def: UpstreamDefinition): FetchLike | undefined {
  return isOAuthUpstream(def) ? oauthFetch(broker.keeper(def), fetch, def) : undefined
}

/** What decides a restart of the upstream's connections: a login or logout changes it, a renewal does not. */
export function grantFingerprint(def: UpstreamDefinition, data: VaultData): string {
  return isOAuthUpstream(def) ? (oauthStateOf(data, def.name)?.grantId ?? '') : ''
}

