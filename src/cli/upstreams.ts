/**
 * Printing of upstream definitions: references, never secret values. Whatever is credential-
 * shaped in a stored definition (an argument, a literal, a URL, a header, as an older vault may
 * hold) is shown masked, as `***`.
 */
import {formatSecretRef} from '../secrets/ref.js'
import {CREDENTIAL_HEADERS, isCredentialName, isolationOf, isReference, maskArgs, maskCredentials, secretsOf, type Isolation, type UpstreamDefinition} from '../upstreams/index.js'
import {formatAllowPath} from '../upstreams/isolation.js'
import {style} from './style.js'
import {renderTable, shortTime} from './table.js'

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
  secrets: string[]
  /** stdio: how it is contained (docs/gateway.md, "Threat model"). */
  sandbox?: {enabled: boolean; allowPaths: string[]; network: boolean}
  /** Who shares its process or connection: shared, key or session. */
  isolation: Isolation
  prefix: boolean
  exposedAs: string
  description?: string
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

export function viewUpstream(def: UpstreamDefinition): UpstreamView {
  const common = {name: def.name, transport: def.transport, secrets: secretsOf(def), isolation: isolationOf(def), prefix: def.prefix, exposedAs: def.prefix ? `${def.name}__<tool>` : '<tool> (no prefix)', description: def.description, created: def.created, updated: def.updated}
  if (def.transport === 'stdio') {
    const env = Object.fromEntries(Object.entries(def.env).map(([k, v]) => [k, 'secret' in v ? formatSecretRef(v.secret) : maskLiteral(k, v.literal)]))
    const [command, ...args] = maskArgs([def.command, ...def.args])
    const sandbox = {enabled: def.sandbox === true, allowPaths: (def.allowPaths ?? []).map(formatAllowPath), network: def.network !== false}
    return {...common, command, args, env, sandbox}
  }
  const headers = Object.fromEntries(Object.entries(def.headers).map(([k, v]) => [k, maskHeader(k, v)]))
  return {...common, url: maskCredentials(def.url), headers}
}

function target(v: UpstreamView): string {
  return v.transport === 'stdio' ? [v.command, ...(v.args ?? [])].join(' ') : v.url!
}

export function upstreamsTable(views: UpstreamView[]): string {
  return renderTable(
    ['NAME', 'TRANSPORT', 'TARGET', 'SECRETS', 'EXPOSED AS', 'UPDATED'],
    views.map((v) => [v.name, v.transport, target(v), v.secrets.join(' ') || '-', v.exposedAs, shortTime(v.updated)]),
  )
}

export function upstreamDetails(v: UpstreamView): string {
  const rows: [string, string | undefined][] = [
    ['name', v.name],
    ['description', v.description],
    ['transport', v.transport],
    [v.transport === 'stdio' ? 'command' : 'url', target(v)],
    ['env', v.env ? Object.entries(v.env).map(([k, val]) => `${k}=${val}`).join(' ') || '-' : undefined],
    ['headers', v.headers ? Object.entries(v.headers).map(([k, val]) => `${k}: ${val}`).join('; ') || '-' : undefined],
    ['sandbox', v.sandbox ? (v.sandbox.enabled ? `on; network ${v.sandbox.network ? 'on' : 'off'}; allowed: ${v.sandbox.allowPaths.join(' ') || '-'}` : 'off') : undefined],
    ['isolation', v.isolation],
    ['exposed as', v.exposedAs],
    ['created', v.created],
    ['updated', v.updated],
  ]
  return rows
    .filter(([, value]) => value !== undefined)
    .map(([label, value]) => `${style.bold(label.padEnd(12))}${value}`)
    .join('\n')
}
