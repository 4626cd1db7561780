/**
 * The OAuth flags of `upstream add`, checked and turned into a definition's `oauth` part. A
 * client secret or key is only ever a reference to a vault secret (`secret:NAME`): a value typed
 * on the command line would sit in the shell history and in /proc.
 */
import {KeywardError} from '../../errors/index.js'
import {checkSecretName} from '../../secrets/index.js'
import type {IdentityProvider, OAuthGrant, UpstreamOAuth} from '../definition.js'

export interface OAuthFlags {
  oauth?: boolean
  grant?: string
  'client-id'?: string
  'client-secret'?: string
  'client-key'?: string
  'client-metadata-url'?: string
  issuer?: string
  scope?: string
  'idp-issuer'?: string
  'idp-token-endpoint'?: string
  'idp-client-id'?: string
  'idp-client-secret'?: string
  'id-token'?: string
}

const GRANTS: Record<string, OAuthGrant> = {
  'authorization_code': 'authorization_code',
  'authorization-code': 'authorization_code',
  'client_credentials': 'client_credentials',
  'client-credentials': 'client_credentials',
  'cross_app_access': 'cross_app_access',
  'cross-app-access': 'cross_app_access',
}

function secretRef(flag: string, value: string): string {
  if (!value.startsWith('secret:')) {
    throw new KeywardError('INVALID_INPUT', `--${flag} takes a vault secret as secret:NAME, never the value itself; store it with \`keyward secrets set NAME\` first`)
  }
  const name = value.slice('secret:'.length)
  checkSecretName(name)
  return name
}

/** A scope list as OAuth writes it: space-separated tokens of printable ASCII, no quote or backslash (RFC 6749 3.3). */
export function checkScope(flag: string, scope: string): string {
  const tokens = scope.split(/[\s,]+/).filter(Boolean)
  if (tokens.length === 0 || tokens.some((t) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(t))) {
    throw new KeywardError('INVALID_INPUT', `--${flag} ${JSON.stringify(scope.slice(0, 60))} is not a list of OAuth scopes (space-separated, printable characters, no quotes)`)
  }
  return tokens.join(' ')
}

function checkMetadataUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new KeywardError('INVALID_INPUT', `--client-metadata-url ${JSON.stringify(url.slice(0, 80))} is not a URL`)
  }
  // The MCP spec (SEP-991): an https URL with a path, which then serves as the client_id.
  if (parsed.protocol !== 'https:' || parsed.pathname === '/' || parsed.hash) {
    throw new KeywardError('INVALID_INPUT', '--client-metadata-url must be an https:// URL with a path (it becomes the client_id), such as https://example.com/keyward/client.json')
  }
  return parsed.href
}

function checkIssuer(url: string, flag = 'issuer'): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new KeywardError('INVALID_INPUT', `--${flag} ${JSON.stringify(url.slice(0, 80))} is not a URL`)
  }
  if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.search || parsed.hash || parsed.username) {
    throw new KeywardError('INVALID_INPUT', `--${flag} must be an https:// URL (http:// on loopback) with no query, fragment or credentials`)
  }
  return url
}

function identityProvider(flags: OAuthFlags): IdentityProvider {
  const issuer = flags['idp-issuer']
  const tokenEndpoint = flags['idp-token-endpoint']
  const clientId = flags['idp-client-id']
  const idToken = flags['id-token']
  if (!(issuer || tokenEndpoint) || !clientId || !idToken) {
    throw new KeywardError('INVALID_INPUT', '--grant cross_app_access needs the identity provider: --idp-issuer URL (or its --idp-token-endpoint URL), --idp-client-id ID and --id-token secret:NAME (the ID token it issued), and --idp-client-secret secret:NAME if its client has one')
  }
  if (issuer && tokenEndpoint) throw new KeywardError('INVALID_INPUT', 'give --idp-issuer (its token endpoint is then discovered) or --idp-token-endpoint, not both')
  return {
    ...(issuer ? {issuer: checkIssuer(issuer, 'idp-issuer')} : {tokenEndpoint: checkIssuer(tokenEndpoint!, 'idp-token-endpoint')}),
    clientId,
    idToken: secretRef('id-token', idToken),
    ...(flags['idp-client-secret'] ? {clientSecret: secretRef('idp-client-secret', flags['idp-client-secret'])} : {}),
  }
}

/** The definition's `oauth` part, or undefined when no OAuth flag was given. */
export function oauthFromFlags(flags: OAuthFlags): UpstreamOAuth | undefined {
  const idpFlags = flags['idp-issuer'] || flags['idp-token-endpoint'] || flags['idp-client-id'] || flags['idp-client-secret'] || flags['id-token']
  const given = flags.oauth || flags.grant || flags['client-id'] || flags['client-secret'] || flags['client-key'] || flags['client-metadata-url'] || flags.issuer || flags.scope || idpFlags
  if (!given) return undefined
  const grant = GRANTS[flags.grant ?? 'authorization_code']
  if (!grant) throw new KeywardError('INVALID_INPUT', `--grant ${JSON.stringify((flags.grant ?? '').slice(0, 40))} is not one keyward uses: authorization_code (a person signs in once), client_credentials (a service identity) or cross_app_access (an enterprise identity provider's ID token)`)
  const oauth: UpstreamOAuth = {grant}
  if (flags['client-id'] !== undefined) {
    if (!/^[\x21-\x7E]{1,255}$/.test(flags['client-id'])) throw new KeywardError('INVALID_INPUT', '--client-id must be 1 to 255 printable characters without spaces')
    oauth.clientId = flags['client-id']
  }
  if (flags['client-secret'] !== undefined) oauth.clientSecret = secretRef('client-secret', flags['client-secret'])
  if (flags['client-key'] !== undefined) oauth.clientKey = secretRef('client-key', flags['client-key'])
  if (flags['client-metadata-url'] !== undefined) oauth.clientMetadataUrl = checkMetadataUrl(flags['client-metadata-url'])
  if (flags.scope !== undefined) oauth.scope = checkScope('scope', flags.scope)
  if (flags.issuer !== undefined) oauth.issuer = checkIssuer(flags.issuer)
  if (oauth.clientSecret && oauth.clientKey) throw new KeywardError('INVALID_INPUT', 'give --client-secret or --client-key, not both: they are two ways for the client to prove who it is')
  if (oauth.issuer && !oauth.clientId) throw new KeywardError('INVALID_INPUT', '--issuer pins the authorization server of a pre-registered client: give its --client-id too')
  if ((oauth.clientSecret || oauth.clientKey) && !oauth.clientId) throw new KeywardError('INVALID_INPUT', '--client-secret and --client-key belong to a pre-registered client: give its --client-id too')
  if (grant !== 'authorization_code') {
    if (!oauth.clientId || !(oauth.clientSecret || oauth.clientKey)) {
      throw new KeywardError('INVALID_INPUT', `--grant ${grant} needs the client registered for it: --client-id, and --client-secret secret:NAME or --client-key secret:NAME`)
    }
    if (oauth.clientMetadataUrl) throw new KeywardError('INVALID_INPUT', `--client-metadata-url is for signing in as a person (authorization_code), not for --grant ${grant}`)
  }
  if (grant === 'cross_app_access') oauth.idp = identityProvider(flags)
  else if (idpFlags) throw new KeywardError('INVALID_INPUT', '--idp-issuer, --idp-client-id, --idp-client-secret and --id-token are for --grant cross_app_access')
  return oauth
}

/** The headers an OAuth upstream may not also set: keyward puts its own token there. */
export function checkOAuthHeaders(headers: Record<string, string>): void {
  const clash = Object.keys(headers).find((h) => /^authorization$/i.test(h))
  if (clash) throw new KeywardError('INVALID_INPUT', `--header ${clash} cannot be combined with OAuth: keyward sends the upstream's access token in it`)
}
