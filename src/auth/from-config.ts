/** The authenticators' settings from the effective server settings (src/config): the one place auth reads config keys. */
import {KeywardError} from '../errors/index.js'
import {parseDurationValue, splitList} from '../config/index.js'
import {parseCidr} from '../net/addresses.js'
import type {OAuthSettings} from './oauth.js'
import type {ProxySettings} from './proxy-header.js'

export interface AuthEnvironment {
  /** The resource URL clients use: server.public-url, else the one the Host they used names, else the listening URL. */
  resourceUrl(host?: string): string
  /** The text of the vault secret a `secret:NAME` setting names (secrets/ref.ts resolves it). */
  secret(ref: string, setting: string): string
  log(message: string): void
}

export interface AuthSettings {
  methods: string[]
  oauth?: OAuthSettings
  proxy?: ProxySettings
}

function prefixed(config: ReadonlyMap<string, string>, prefix: string): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [key, value] of config) if (key.startsWith(prefix)) out.set(key.slice(prefix.length), splitList(value))
  return out
}

/** The RFC 9728 metadata URL for a resource: the well-known part inserted before its path. */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return `${url.origin}/.well-known/oauth-protected-resource${path}`
}

/**
 * The audiences a token may carry for a resource: the MCP URL itself, and the origin that the
 * root metadata names (RFC 9728 3.3: /.well-known/oauth-protected-resource is the metadata of
 * the origin), which a client that read the root metadata asks its token for.
 */
export function resourceAudiences(resource: string): string[] {
  const origin = new URL(resource).origin
  return [...new Set([resource, origin, `${origin}/`])]
}

/** The methods auth.methods names, in the order they claim credentials. */
export function authMethods(config: ReadonlyMap<string, string>): string[] {
  return splitList(config.get('auth.methods') ?? 'api-key')
}

export function authSettings(config: ReadonlyMap<string, string>, env: AuthEnvironment): AuthSettings {
  const methods = authMethods(config)
  const settings: AuthSettings = {methods}
  if (methods.includes('oauth2')) {
    const issuer = config.get('oauth.issuer')
    if (!issuer) throw new KeywardError('INVALID_INPUT', 'auth method oauth2 needs oauth.issuer: `keyward config set oauth.issuer https://…`, or --oauth-issuer')
    const introspectionUrl = config.get('oauth.introspection-url')
    let introspection: OAuthSettings['introspection']
    if (introspectionUrl) {
      const clientId = config.get('oauth.client-id')
      const secretRef = config.get('oauth.client-secret')
      if (!clientId || !secretRef) throw new KeywardError('INVALID_INPUT', 'oauth.introspection-url needs oauth.client-id and oauth.client-secret (secret:NAME)')
      introspection = {url: introspectionUrl, clientId, clientSecret: env.secret(secretRef, 'oauth.client-secret')}
    }
    settings.oauth = {
      issuer,
      audiences: (host) => {
        const fixed = config.get('oauth.audience')
        return fixed ? [fixed] : resourceAudiences(env.resourceUrl(host))
      },
      jwksUri: config.get('oauth.jwks-uri'),
      algorithms: splitList(config.get('oauth.algorithms') ?? ''),
      introspection,
      clockSkewSeconds: (parseDurationValue(config.get('oauth.clock-skew') ?? '60s') ?? 60_000) / 1000,
      introspectionCacheMs: parseDurationValue(config.get('oauth.introspection-cache') ?? '60s') ?? 60_000,
      scopeMap: prefixed(config, 'oauth.scope-map.'),
      resourceMetadataUrl: (host) => resourceMetadataUrl(env.resourceUrl(host)),
      // MCP 2025-11-25: a 401 says which scopes to ask for.
      scope: scopesSupported(config).join(' '),
      log: env.log,
    }
  }
  if (methods.includes('proxy-header')) {
    const cidrs = config.get('proxy.trusted-cidrs')
    if (!cidrs) throw new KeywardError('INVALID_INPUT', 'auth method proxy-header needs proxy.trusted-cidrs, the addresses of the reverse proxy')
    settings.proxy = {
      trusted: splitList(cidrs).map((c) => parseCidr(c)!),
      userHeader: config.get('proxy.user-header') ?? 'x-forwarded-user',
      groupsHeader: config.get('proxy.groups-header') ?? 'x-forwarded-groups',
      scopes: splitList(config.get('proxy.scopes') ?? ''),
      groupScopes: prefixed(config, 'proxy.scope-map.'),
    }
  }
  return settings
}

/** Scopes a server lists as supported in its metadata, unless configured. */
export function scopesSupported(config: ReadonlyMap<string, string>): string[] {
  const configured = config.get('oauth.scopes-supported')
  return configured ? splitList(configured) : ['mcp:server:access', 'mcp:tool:*']
}
