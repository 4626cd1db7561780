/**
 * Migration from the MCP client configs that hold secrets in plaintext: the `mcpServers` of
 * Claude Desktop, Claude Code (.mcp.json) and Cursor, and the `servers` of VS Code (top level,
 * or under `mcp`). Each server becomes an upstream; each env value and each credential header
 * becomes a vault secret; the client config then starts keyward instead, with a key scoped to
 * the imported servers. This module plans; the command carries the plan out.
 */
import {KeywardError} from '../errors/index.js'
import {secretTemplate} from '../secrets/ref.js'
import {isObject} from '../vault/format.js'
import {ENV_NAME_PATTERN, looksLikeToken, type UpstreamDefinition} from './definition.js'

export type ConfigShape = 'mcpServers' | 'servers' | 'mcp.servers'

export interface PlannedSecret {
  name: string
  value: string
  /** Where it came from, for the report: `github: env GITHUB_TOKEN`. */
  origin: string
}

export interface ImportPlan {
  shape: ConfigShape
  upstreams: UpstreamDefinition[]
  secrets: PlannedSecret[]
  /** Entries left as they are, with why. */
  skipped: {entry: string; why: string}[]
  /** The config with the imported entries taken out, for the keyward entry to be added to. */
  rest: Record<string, unknown>
}

const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token|private-token)$/i

/** A server entry's name as an upstream name: lowercase, hyphens, at most 24 characters, unique. */
function upstreamName(entry: string, taken: Set<string>): string {
  let base = entry
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/^(\d)/, 's$1')
    .slice(0, 24)
    .replace(/-+$/, '')
  if (!/^[a-z]/.test(base)) base = `server${base ? `-${base}` : ''}`.slice(0, 24)
  let name = base
  for (let i = 2; taken.has(name); i++) name = `${base.slice(0, 24 - String(i).length - 1)}-${i}`
  taken.add(name)
  return name
}

/** A secret name from an upstream and a variable: GITHUB_GITHUB_TOKEN, unique. */
function secretName(upstream: string, what: string, taken: Set<string>): string {
  const base = `${upstream}_${what}`.toUpperCase().replace(/[^A-Z0-9_]+/g, '_').replace(/^[^A-Z]+/, '').slice(0, 120) || 'SECRET'
  let name = base
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`
  taken.add(name)
  return name
}

function isKeyward(entry: Record<string, unknown>): boolean {
  const command = typeof entry.command === 'string' ? entry.command : ''
  const args = Array.isArray(entry.args) ? entry.args.filter((a): a is string => typeof a === 'string') : []
  return /(^|[/\\])keyward(\.cmd)?$/.test(command) || (args.some((a) => /keyward|bin[/\\]run\.js$/.test(a)) && args.includes('serve'))
}

export function findServers(config: unknown, file: string): {shape: ConfigShape; servers: Record<string, unknown>} {
  if (!isObject(config)) throw new KeywardError('INVALID_INPUT', `${file} does not hold a JSON object`)
  if (isObject(config.mcpServers)) return {shape: 'mcpServers', servers: config.mcpServers}
  if (isObject(config.servers)) return {shape: 'servers', servers: config.servers}
  if (isObject(config.mcp) && isObject(config.mcp.servers)) return {shape: 'mcp.servers', servers: config.mcp.servers}
  throw new KeywardError('INVALID_INPUT', `${file} has no "mcpServers" (Claude Desktop, Claude Code, Cursor) or "servers" (VS Code) object`)
}

export function planImport(config: unknown, file: string, existing: {upstreams: Set<string>; secrets: Set<string>}, now = new Date().toISOString()): ImportPlan {
  const {shape, servers} = findServers(config, file)
  const plan: ImportPlan = {shape, upstreams: [], secrets: [], skipped: [], rest: {}}
  const names = new Set(existing.upstreams)
  const secretNames = new Set(existing.secrets)
  for (const [entryName, raw] of Object.entries(servers)) {
    const keep = (why: string) => {
      plan.skipped.push({entry: entryName, why})
      plan.rest[entryName] = raw
    }
    if (!isObject(raw)) {
      keep('not an object')
      continue
    }
    if (isKeyward(raw)) {
      keep('already keyward')
      continue
    }
    const args = Array.isArray(raw.args) ? raw.args : []
    if (!args.every((a) => typeof a === 'string')) {
      keep('its args are not all strings')
      continue
    }
    const name = upstreamName(entryName, names)
    const base = {name, prefix: true, description: `imported from ${entryName} in ${file}`, created: now, updated: now}
    if (typeof raw.command === 'string' && raw.command !== '') {
      if ((args as string[]).some((a) => looksLikeToken(a))) {
        names.delete(name)
        keep('an argument looks like a credential, which would stay visible in the process list; move it to an env variable in the config and import again')
        continue
      }
      const env: Record<string, {secret: string}> = {}
      const envRaw = isObject(raw.env) ? raw.env : {}
      for (const [variable, value] of Object.entries(envRaw)) {
        if (typeof value !== 'string' || !ENV_NAME_PATTERN.test(variable)) continue
        const secret = secretName(name, variable, secretNames)
        plan.secrets.push({name: secret, value, origin: `${entryName}: env ${variable}`})
        env[variable] = {secret}
      }
      plan.upstreams.push({...base, transport: 'stdio', command: raw.command, args: args as string[], env})
    } else if (typeof raw.url === 'string' && raw.url !== '') {
      if (raw.type === 'sse') {
        names.delete(name)
        keep('an SSE (2024-11-05) server; keyward reaches upstreams over Streamable HTTP only')
        continue
      }
      const headers: Record<string, string> = {}
      const headersRaw = isObject(raw.headers) ? raw.headers : {}
      for (const [header, value] of Object.entries(headersRaw)) {
        if (typeof value !== 'string') continue
        if (CREDENTIAL_HEADER.test(header) || looksLikeToken(value.replace(/^Bearer\s+/i, ''))) {
          const bearer = /^Bearer\s+(.+)$/i.exec(value)
          const secret = secretName(name, header, secretNames)
          plan.secrets.push({name: secret, value: bearer ? bearer[1] : value, origin: `${entryName}: header ${header}`})
          headers[header] = bearer ? `Bearer ${secretTemplate(secret)}` : secretTemplate(secret)
        } else {
          headers[header] = value
        }
      }
      plan.upstreams.push({...base, transport: 'http', url: raw.url, headers})
    } else {
      names.delete(name)
      keep('no command or url')
    }
  }
  return plan
}

/** The client config with keyward in place of the imported servers, in the same shape. */
export function rewrittenConfig(config: Record<string, unknown>, plan: ImportPlan, keyward: {command: string; args: string[]; env: Record<string, string>}): Record<string, unknown> {
  const entry = plan.shape === 'mcpServers' ? {command: keyward.command, args: keyward.args, env: keyward.env} : {type: 'stdio', command: keyward.command, args: keyward.args, env: keyward.env}
  const servers = {...plan.rest, keyward: entry}
  if (plan.shape === 'mcpServers') return {...config, mcpServers: servers}
  if (plan.shape === 'servers') return {...config, servers}
  return {...config, mcp: {...(config.mcp as Record<string, unknown>), servers}}
}
