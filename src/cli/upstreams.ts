/**
 * Printing of upstream definitions: references, never secret values, and the OAuth state, never
 * a token. Whatever is credential-shaped in a stored definition (an argument, a literal, a URL, a
 * header, as an older vault may hold) is shown masked, as `***`.
 */
import {formatSecretRef} from '../secrets/ref.js'
import {CREDENTIAL_HEADERS, isCredentialName, isolationOf, isReference, maskArgs, maskCredentials, secretsOf, type Isolation, type UpstreamDefinition, type UpstreamTested} from '../upstreams/index.js'
import {formatAllowPath} from '../upstreams/isolation.js'
import {oauthStateOf, oauthView, type OAuthView} from '../upstreams/oauth/index.js'
import type {VaultData} from '../vault/index.js'
import {style} from './style.js'
import {renderTable, shortTime} from './table.js'
import {escapeText} from '../text/visible.js'

export interface UpstreamView {
  name: string
  transport: 'stdio' | 'http'
  command?: string
  args?: string[]
  url?: string
  /** VAR -> "secret:NAME" or the literal value. */
  env?: Record<string, string>
  /** Header -> its template, with {secret:NAME} references as written. */
  headers?: Record<string, string>
  /** An upstream that takes OAuth: how keyward signs in, and where that stands. */
  oauth?: OAuthView & {clientId?: string; clientSecret?: string; clientKey?: string; clientMetadataUrl?: string; pinnedIssuer?: string; scope?: string; idp?: {issuer?: string; tokenEndpoint?: string; clientId: string; clientSecret?: string; idToken: string}}
  secrets: string[]
  /** stdio: how it is contained (docs/gateway.md, "Threat model"). */
  sandbox?: {enabled: boolean; allowPaths: string[]; network: boolean}
  /** Who shares its process or connection: shared, key or session. */
  isolation: Isolation
  prefix: boolean
  exposedAs: string
  description?: string
  /** What `upstream test` last found (the era, the revision negotiated, when); null: never tested. */
  tested: UpstreamTested | null
  created: string
  updated: string
}

/** A literal as it may be shown: masked whole when its name says credential, else each credential in it. */
function maskLiteral(name: string, value: string): string {
  return isCredentialName(name) && !isReference(value) ? '***' : maskCredentials(value)
}

/** A header template as it may be shown: its {secret:NAME} references kept, anything else credential-shaped masked. */
function maskHeader(name: string, template: string): string {
  if (CREDENTIAL_HEADERS.test(name) && !/\{secret:[^}]*\}/.test(template)) return '***'
  return maskCredentials(template)
}

/** `data`: the vault, for the OAuth state of an upstream that takes OAuth. */
export function viewUpstream(def: UpstreamDefinition, data?: VaultData): UpstreamView {
  const common = {name: def.name, transport: def.transport, secrets: secretsOf(def), isolation: isolationOf(def), prefix: def.prefix, exposedAs: def.prefix ? `${def.name}__<tool>` : '<tool> (no prefix)', description: def.description, tested: def.tested ?? null, created: def.created, updated: def.updated}
  if (def.transport === 'stdio') {
    const env = Object.fromEntries(Object.entries(def.env).map(([k, v]) => [k, 'secret' in v ? formatSecretRef(v.secret) : maskLiteral(k, v.literal)]))
    const [command, ...args] = maskArgs([def.command, ...def.args])
    const sandbox = {enabled: def.sandbox === true, allowPaths: (def.allowPaths ?? []).map(formatAllowPath), network: def.network !== false}
    return {...common, command, args, env, sandbox}
  }
  const headers = Object.fromEntries(Object.entries(def.headers).map(([k, v]) => [k, maskHeader(k, v)]))
  const view: UpstreamView = {...common, url: maskCredentials(def.url), headers}
  if (def.oauth) {
    const o = def.oauth
    view.oauth = {
      ...oauthView(o.grant, data && oauthStateOf(data, def.name)),
      ...(o.clientId ? {clientId: o.clientId} : {}),
      ...(o.clientSecret ? {clientSecret: formatSecretRef(o.clientSecret)} : {}),
      ...(o.clientKey ? {clientKey: formatSecretRef(o.clientKey)} : {}),
      ...(o.clientMetadataUrl ? {clientMetadataUrl: o.clientMetadataUrl} : {}),
      ...(o.issuer ? {pinnedIssuer: o.issuer} : {}),
      ...(o.scope ? {scope: o.scope} : {}),
      ...(o.idp ? {idp: {...(o.idp.issuer ? {issuer: o.idp.issuer} : {tokenEndpoint: o.idp.tokenEndpoint}), clientId: o.idp.clientId, ...(o.idp.clientSecret ? {clientSecret: formatSecretRef(o.idp.clientSecret)} : {}), idToken: formatSecretRef(o.idp.idToken)}} : {}),
    }
  }
  return view
}

/** 45s, 59m, 1h, 1h30m, 3d: rounded down, so that "1h" never means 59 minutes. */
function duration(seconds: number): string {
  const abs = Math.abs(seconds)
  const [d, h, m] = [Math.floor(abs / 86_400), Math.floor((abs % 86_400) / 3600), Math.floor((abs % 3600) / 60)]
  const text = d > 0 ? `${d}d${h > 0 ? `${h}h` : ''}` : h > 0 ? `${h}h${m > 0 ? `${m}m` : ''}` : m > 0 ? `${m}m` : `${abs}s`
  return seconds < 0 ? `${text} ago` : text
}

/** One cell: who it is signed in as and for how long, or why it needs a login. */
export function oauthSummary(o: OAuthView): string {
  if (o.needsLogin) return style.yellow(`needs login${o.needsLoginReason ? `: ${o.needsLoginReason}` : ''}`)
  if (!o.signedIn) return o.needsLoginReason ?? 'not signed in'
  const who = o.signedInAs ? `as ${o.signedInAs}` : 'signed in'
  const expiry = o.expiresIn === undefined ? '' : o.expiresIn < 0 ? `, expired ${duration(o.expiresIn)}` : `, expires in ${duration(o.expiresIn)}`
  return `${who}${expiry}`
}

function target(v: UpstreamView): string {
  return v.transport === 'stdio' ? [v.command, ...(v.args ?? [])].join(' ') : v.url!
}

/** The ERA column: the revision `upstream test` negotiated (2026-07-28, 2025-11-25, …), or `-`. */
function eraCell(v: UpstreamView): string {
  return v.tested?.protocolVersion ?? '-'
}

export function upstreamsTable(views: UpstreamView[]): string {
  return renderTable(
    ['NAME', 'TRANSPORT', 'ERA', 'TARGET', 'SECRETS', 'EXPOSED AS', 'OAUTH', 'UPDATED'],
    views.map((v) => [v.name, v.transport, eraCell(v), target(v), v.secrets.join(' ') || '-', v.exposedAs, v.oauth ? oauthSummary(v.oauth) : '-', shortTime(v.updated)]),
  )
}

/** Under the table: which upstreams have no era yet, and how to find it; undefined when all have one. */
export function untestedHint(views: UpstreamView[]): string | undefined {
  const untested = views.filter((v) => !v.tested).map((v) => v.name)
  if (untested.length === 0) return undefined
  const example = untested.length === 1 ? untested[0] : 'NAME'
  return `ERA -: not tested yet (${untested.join(', ')}); run \`keyward upstream test ${example}\` to find which MCP revision it speaks.`
}

/** The era row of `upstream show`: the revision, its era and when it was found; or how to find it. */
function eraDetail(v: UpstreamView): string {
  if (!v.tested) return `- (not tested yet; run \`keyward upstream test ${v.name}\`)`
  return `${v.tested.protocolVersion}${v.tested.era === 'legacy' ? ', 2025 era' : ''} (tested ${shortTime(v.tested.at)})`
}

export function upstreamDetails(v: UpstreamView): string {
  const rows: [string, string | undefined][] = [
    ['name', v.name],
    ['description', v.description],
    ['transport', v.transport],
    ['era', eraDetail(v)],
    [v.transport === 'stdio' ? 'command' : 'url', target(v)],
    ['env', v.env ? Object.entries(v.env).map(([k, val]) => `${k}=${val}`).join(' ') || '-' : undefined],
    ['headers', v.headers ? Object.entries(v.headers).map(([k, val]) => `${k}: ${val}`).join('; ') || '-' : undefined],
    ['sandbox', v.sandbox ? (v.sandbox.enabled ? `on; network ${v.sandbox.network ? 'on' : 'off'}; allowed: ${v.sandbox.allowPaths.join(' ') || '-'}` : 'off') : undefined],
    ['isolation', v.isolation],
    ['exposed as', v.exposedAs],
    ...oauthRows(v.oauth),
    ['created', v.created],
    ['updated', v.updated],
  ]
  return rows
    .filter(([, value]) => value !== undefined)
    // Values may come from elsewhere (an authorization server's scopes and issuer): printed as they read.
    .map(([label, value]) => `${style.bold(label.padEnd(12))}${escapeText(value!, 100_000)}`)
    .join('\n')
}

function oauthRows(o: UpstreamView['oauth']): [string, string | undefined][] {
  if (!o) return []
  const client = o.clientId ? `${o.clientId}${o.clientSecret ? ` (${o.clientSecret})` : o.clientKey ? ` (private_key_jwt, ${o.clientKey})` : ''}` : o.clientMetadataUrl ? `${o.clientMetadataUrl} (metadata document)` : 'registered at login'
  return [
    ['oauth', `${o.grant}; client ${client}${o.pinnedIssuer ? `; issuer ${o.pinnedIssuer}` : ''}`],
    ['identity', o.idp ? `${o.idp.issuer ?? o.idp.tokenEndpoint}, client ${o.idp.clientId}, ID token ${o.idp.idToken}` : undefined],
    ['signed in', oauthSummary(o)],
    ['scopes', o.signedIn ? o.scopes.join(' ') || '(the server\'s default)' : o.scope],
    ['issuer', o.issuer],
    ['logged in', o.loggedInAt],
    ['renewed', o.signedIn ? `${o.lastRefresh ?? 'not yet'} (${o.refreshes} renewals)` : undefined],
    ['login scope', o.needsLoginScope],
  ]
}
