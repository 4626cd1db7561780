/**
 * Upstream MCP servers, as the vault stores them: how to start or reach each one, and which
 * secrets it gets. Definitions hold references to secrets (`secret:NAME`), never their values.
 */
import {KeywardError} from '../errors/index.js'
import {TCHAR} from '../net/http-token.js'
import {ENV_NAME_PATTERN} from '../secrets/environment.js'
import {checkSecretName} from '../secrets/index.js'
import {parseSecretRef, secretRefsIn, withoutSecretRefs} from '../secrets/ref.js'
import {credentialSpans, isCredentialName, isReference, looksLikeToken} from './credentials.js'

export {looksLikeToken} from './credentials.js'
export {ENV_NAME_PATTERN} from '../secrets/environment.js'
export {secretRefsIn} from '../secrets/ref.js'

/**
 * Documented in docs/gateway.md: a lowercase letter, then lowercase letters, digits and single
 * hyphens, at most 24 characters. No underscore, so `NAME__tool` splits one way only, and every
 * name is safe inside a tool name that model APIs accept.
 */
export const UPSTREAM_NAME_PATTERN = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,23}$/

export type PathMode = 'ro' | 'rw'

/** A path a sandboxed upstream may see (src/upstreams/isolation.ts parses and applies them). */
export interface AllowPath {
  path: string
  mode: PathMode
}

export type EnvValue = {secret: string} | {literal: string}

/**
 * Who shares one process (or one HTTP connection) of an upstream (docs/gateway.md, "Sharing"):
 * every client session (`shared`, the default), the sessions of one API key or principal
 * (`key`), or no one (`session`: a process per client session).
 */
export const ISOLATIONS = ['shared', 'key', 'session'] as const
export type Isolation = (typeof ISOLATIONS)[number]

/** A definition's isolation: absent (definitions made before there was a choice, import-config) is `shared`. */
export function isolationOf(def: {isolation?: Isolation}): Isolation {
  return def.isolation ?? 'shared'
}

/**
 * What `keyward upstream test` last found: the protocol era the upstream speaks (`legacy`: the
 * 2025 era, 2025-11-25 and earlier; `modern`: 2026-07-28), the revision negotiated, and when.
 * A note about the upstream, not part of its definition: recording it changes nothing `serve`
 * runs (definitionIdentity leaves it out).
 */
export interface UpstreamTested {
  era: 'legacy' | 'modern'
  protocolVersion: string
  /** ISO 8601. */
  at: string
}

export interface StdioUpstream {
  name: string
  transport: 'stdio'
  command: string
  args: string[]
  env: Record<string, EnvValue>
  /** Tool and prompt names are exposed as NAME__tool, unless false (`--no-prefix`). */
  prefix: boolean
  /** Runs under bubblewrap (src/upstreams/isolation.ts); absent in definitions made before there was a sandbox. */
  sandbox?: boolean
  /** What a sandboxed upstream may see besides the system (`--allow-path`). */
  allowPaths?: AllowPath[]
  /** false: a sandboxed upstream has no network (`--network off`). */
  network?: boolean
  /** Absent: `shared`. */
  isolation?: Isolation
  description?: string
  /** Absent: never tested. */
  tested?: UpstreamTested
  created: string
  updated: string
}

/**
 * authorization_code: a person signs in once. The others need no person: client_credentials (a
 * service identity), cross_app_access (enterprise-managed: an identity provider's ID token
 * exchanged for a JWT authorization grant, RFC 8693 then RFC 7523, MCP SEP-990).
 */
export type OAuthGrant = 'authorization_code' | 'client_credentials' | 'cross_app_access'

export function isUnattended(grant: OAuthGrant): boolean {
  return grant !== 'authorization_code'
}

/** The enterprise identity provider of a cross_app_access upstream. */
export interface IdentityProvider {
  /** Its issuer URL, where its metadata (and so its token endpoint) is found; or the token endpoint itself. */
  issuer?: string
  tokenEndpoint?: string
  clientId: string
  /** Secret names: the client's secret at the identity provider (optional), and the ID token to exchange. */
  clientSecret?: string
  idToken: string
}

/**
 * How keyward signs in to an upstream that takes OAuth (docs/gateway.md, "Remote servers that
 * need OAuth"). References only: the client secret and key are vault secrets, and the tokens
 * live in the vault's `upstream_oauth` table (src/upstreams/oauth/store.ts), never here.
 */
export interface UpstreamOAuth {
  grant: OAuthGrant
  /** A pre-registered client (`--client-id`); without one, a Client ID Metadata Document or dynamic registration. */
  clientId?: string
  /** Secret names: `--client-secret secret:NAME`, `--client-key secret:NAME` (a PEM private key, RFC 7523). */
  clientSecret?: string
  clientKey?: string
  /** `--issuer`: the authorization server the pre-registered client belongs to; its credentials go to no other. */
  issuer?: string
  /** `--client-metadata-url`: an HTTPS URL serving keyward's client metadata, used as its client_id where the server supports it. */
  clientMetadataUrl?: string
  /** `--scope`: what to ask for; without it, the challenge's scope or the server's scopes_supported. */
  scope?: string
  /** cross_app_access: the identity provider whose ID token is exchanged. */
  idp?: IdentityProvider
}

export interface HttpUpstream {
  name: string
  transport: 'http'
  url: string
  /** Header values; `{secret:NAME}` inside one is replaced by the secret. */
  headers: Record<string, string>
  /** Set when the upstream takes OAuth tokens that keyward obtains and refreshes. */
  oauth?: UpstreamOAuth
  prefix: boolean
  /** Absent: `shared` (one MCP session with the upstream for every client session). */
  isolation?: Isolation
  description?: string
  /** Absent: never tested. */
  tested?: UpstreamTested
  created: string
  updated: string
}

export type UpstreamDefinition = StdioUpstream | HttpUpstream

export type OAuthUpstream = HttpUpstream & {oauth: UpstreamOAuth}

/**
 * The definition as far as it decides how the upstream is started or reached: without when it
 * was made or changed, or what `upstream test` last found about it. `serve` restarts an upstream
 * when this (or a secret it resolves to) changes (server/gateway/gateway.ts); `upstream test`
 * records its finding only on the definition it tested (recordTested).
 */
export function definitionIdentity(def: UpstreamDefinition): string {
  const {created: _created, updated: _updated, tested: _tested, ...identity} = def
  return JSON.stringify(identity)
}

export function isOAuthUpstream(def: UpstreamDefinition): def is OAuthUpstream {
  return def.transport === 'http' && def.oauth !== undefined
}

export function checkUpstreamName(name: string): void {
  if (!UPSTREAM_NAME_PATTERN.test(name)) {
    throw new KeywardError(
      'INVALID_INPUT',
      `invalid upstream name ${JSON.stringify(name.slice(0, 40))}: use a lowercase letter, then lowercase letters, digits and single hyphens (at most 24 characters), such as github or pg-main`,
    )
  }
}

/** `VAR=secret:NAME` or `VAR=literal`, as `upstream add --env` takes it. */
export function parseEnvSpec(spec: string): [string, EnvValue] {
  const eq = spec.indexOf('=')
  const name = eq === -1 ? spec : spec.slice(0, eq)
  if (eq < 1 || !ENV_NAME_PATTERN.test(name)) {
    throw new KeywardError('INVALID_INPUT', `--env ${JSON.stringify(name.slice(0, 40))}… is not VAR=secret:NAME or VAR=value (VAR: letters, digits and _, not starting with a digit)`)
  }
  const value = spec.slice(eq + 1)
  const secret = parseSecretRef(value)
  if (secret !== undefined) {
    checkSecretName(secret)
    return [name, {secret}]
  }
  if (looksLikeToken(value) || credentialSpans(value).length > 0 || (isCredentialName(name) && !isReference(value))) {
    throw new KeywardError('INVALID_INPUT', `--env ${name}: the value looks like a credential (by its name or its shape); store it with \`keyward secrets set NAME\` and pass --env ${name}=secret:NAME, so it never sits in a command line or the config`)
  }
  return [name, {literal: value}]
}

const HEADER_NAME = new RegExp(`^[${TCHAR}]{1,64}$`)
/** Headers that carry credentials: their values must come from the vault. */
export const CREDENTIAL_HEADERS = /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token|private-token)$/i

/** `Name: value`, where the value may hold `{secret:NAME}`. */
export function parseHeaderSpec(spec: string): [string, string] {
  const colon = spec.indexOf(':')
  const name = colon === -1 ? '' : spec.slice(0, colon).trim()
  if (!HEADER_NAME.test(name)) throw new KeywardError('INVALID_INPUT', `--header needs "Name: value"; ${JSON.stringify(name.slice(0, 40))} is not a header name`)
  const value = spec.slice(colon + 1).trim()
  for (const ref of secretRefsIn(value)) checkSecretName(ref)
  const withoutRefs = withoutSecretRefs(value)
  if (CREDENTIAL_HEADERS.test(name) && secretRefsIn(value).length === 0 && withoutRefs !== '') {
    throw new KeywardError('INVALID_INPUT', `--header ${name}: a credential header must take its value from the vault, for example "${name}: Bearer {secret:TOKEN}"`)
  }
  if (looksLikeToken(withoutRefs.replace(/^Bearer\s+/i, ''))) {
    throw new KeywardError('INVALID_INPUT', `--header ${name}: the value looks like a credential; store it as a secret and write {secret:NAME} in its place`)
  }
  if (/[\r\n]/.test(value)) throw new KeywardError('INVALID_INPUT', `--header ${name}: a header value cannot hold a line break`)
  return [name, value]
}

/** Every secret a definition refers to. */
export function secretsOf(def: UpstreamDefinition): string[] {
  const refs = new Set<string>()
  if (def.transport === 'stdio') {
    for (const value of Object.values(def.env)) if ('secret' in value) refs.add(value.secret)
  } else {
    for (const value of Object.values(def.headers)) for (const ref of secretRefsIn(value)) refs.add(ref)
    if (def.oauth?.clientSecret) refs.add(def.oauth.clientSecret)
    if (def.oauth?.clientKey) refs.add(def.oauth.clientKey)
    if (def.oauth?.idp?.clientSecret) refs.add(def.oauth.idp.clientSecret)
    if (def.oauth?.idp) refs.add(def.oauth.idp.idToken)
  }
  return [...refs]
}

export function checkUrl(url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new KeywardError('INVALID_INPUT', `--url ${JSON.stringify(url.slice(0, 80))} is not a URL`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new KeywardError('INVALID_INPUT', '--url must be http:// or https://')
  if (parsed.username || parsed.password) throw new KeywardError('INVALID_INPUT', '--url must not carry credentials; put them in a --header with {secret:NAME}')
  if (parsed.search && /(?:^|[?&])(?:api[_-]?key|key|token|access[_-]?token|auth|password|secret)=/i.test(parsed.search)) {
    throw new KeywardError('INVALID_INPUT', '--url must not carry credentials in its query string; put them in a --header with {secret:NAME}')
  }
}

/**
 * Whether tokens obtained for `before` still fit `after` (a definition replaced or changed): the
 * same URL and the same OAuth client and grant. Otherwise the old tokens are dropped, so they
 * are never sent to another server.
 */
export function keepsSignIn(before: UpstreamDefinition, after: UpstreamDefinition): boolean {
  if (!isOAuthUpstream(before) || !isOAuthUpstream(after)) return false
  const {scope: _a, ...was} = before.oauth
  const {scope: _b, ...now} = after.oauth
  return before.url === after.url && JSON.stringify(was) === JSON.stringify(now)
}
