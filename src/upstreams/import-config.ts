/**
 * Migration from the MCP client configs that hold secrets in plaintext: the `mcpServers` of
 * Claude Desktop, Claude Code (.mcp.json) and Cursor, and the `servers` of VS Code (top level,
 * or under `mcp`). Each server becomes an upstream; each credential in its env or headers
 * becomes a vault secret, and other env values stay plain literals (a secret is redacted from
 * every result, so `NODE_ENV=production` must not become one). The client config then starts
 * keyward instead, with a key scoped to the imported servers. This module plans; the command
 * carries the plan out.
 */
import {KeywardError} from '../errors/index.js'
import {secretTemplate} from '../secrets/ref.js'
import {isObject} from '../vault/format.js'
import {credentialInArgs, credentialSpans, isSecretEnvName, looksHighEntropy} from './credentials.js'
import {CREDENTIAL_HEADERS, ENV_NAME_PATTERN, looksLikeToken, type EnvValue, type UpstreamDefinition} from './definition.js'
import {expand, type PlaceholderContext} from './placeholders.js'

export type ConfigShape = 'mcpServers' | 'servers' | 'mcp.servers'

export interface PlannedSecret {
  name: string
  value: string
  /** Where it came from, for the report: `github: env GITHUB_TOKEN`. */
  origin: string
}

export interface ImportPlan {
  shape: ConfigShape
  /** Where the servers object is in the config: `['mcpServers']`, `['mcp', 'servers']`. */
  serversPath: string[]
  upstreams: UpstreamDefinition[]
  secrets: PlannedSecret[]
  /** Entries left as they are, with why. */
  skipped: {entry: string; why: string}[]
  /** Entries that become upstreams, by their name in the config. */
  imported: string[]
  /** Placeholders expanded at import time, as written (never their values). */
  resolved: {entry: string; placeholder: string}[]
  /** Env values kept as plain literals in the definition: not credentials. */
  plain: {entry: string; variable: string}[]
  /** Every variable the servers set (env and envFile), imported or not: what --secret and --plain may name. */
  variables: Set<string>
}

export interface ImportOptions extends PlaceholderContext {
  existing: {upstreams: Set<string>; secrets: Set<string>}
  /** `--secret VAR` / `--plain VAR`: what these variables are, whatever they look like. */
  secretVars?: ReadonlySet<string>
  plainVars?: ReadonlySet<string>
  /** The text of an `envFile` (absolute path); throws when it cannot be read. */
  readEnvFile?(file: string): string
  /** Parses an env file's text (Node's util.parseEnv). */
  parseEnv?(text: string): Record<string, string>
  /** The directory relative `envFile` paths start from. */
  baseDir: string
  now?: string
}

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

export function findServers(config: unknown, file: string): {shape: ConfigShape; servers: Record<string, unknown>; serversPath: string[]} {
  if (!isObject(config)) throw new KeywardError('INVALID_INPUT', `${file} does not hold a JSON object`)
  if (isObject(config.mcpServers)) return {shape: 'mcpServers', servers: config.mcpServers, serversPath: ['mcpServers']}
  if (isObject(config.servers)) return {shape: 'servers', servers: config.servers, serversPath: ['servers']}
  if (isObject(config.mcp) && isObject(config.mcp.servers)) return {shape: 'mcp.servers', servers: config.mcp.servers, serversPath: ['mcp', 'servers']}
  throw new KeywardError('INVALID_INPUT', `${file} has no "mcpServers" (Claude Desktop, Claude Code, Cursor) or "servers" (VS Code) object`)
}

/** Why an entry is left as it is. */
class Skip extends Error {}

/** One entry's part of the plan, built up as it is read. */
interface EntryPlan {
  entry: string
  name: string
  secrets: PlannedSecret[]
  resolved: string[]
  plain: string[]
  variables: string[]
}

/** The entry's string at `what`, placeholders expanded; a placeholder that cannot be known skips the entry. */
function expanded(text: string, what: string, plan: EntryPlan, options: ImportOptions): string {
  const {value, resolved, unresolved} = expand(text, options)
  if (unresolved.length > 0) {
    throw new Skip(`${what} holds ${unresolved.join(', ')}, which the client fills in when it starts the server and keyward cannot know; put the value (or \${env:NAME} of a variable set now) in its place and import again`)
  }
  plan.resolved.push(...resolved)
  return value
}

/** The variables an entry sets: its envFile's, then its env's (which win), as strings. */
function entryEnv(raw: Record<string, unknown>, plan: EntryPlan, options: ImportOptions): Record<string, string> {
  const env: Record<string, string> = {}
  if (raw.envFile !== undefined) {
    if (typeof raw.envFile !== 'string' || !options.readEnvFile || !options.parseEnv) throw new Skip('its envFile is not a path')
    const file = expanded(raw.envFile, 'its envFile', plan, options)
    const absolute = file.startsWith('/') ? file : `${options.baseDir}/${file}`
    let text: string
    try {
      text = options.readEnvFile(absolute)
    } catch (err) {
      throw new Skip(`its envFile ${absolute} cannot be read (${(err as Error).message.slice(0, 80)})`)
    }
    Object.assign(env, options.parseEnv(text))
  }
  for (const [variable, value] of Object.entries(isObject(raw.env) ? raw.env : {})) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new Skip(`its env ${variable} is not a string`)
    env[variable] = String(value)
  }
  plan.variables.push(...Object.keys(env))
  for (const [variable, value] of Object.entries(env)) {
    if (!ENV_NAME_PATTERN.test(variable)) throw new Skip(`its env ${JSON.stringify(variable.slice(0, 40))} is not a variable name`)
    env[variable] = expanded(value, `its env ${variable}`, plan, options)
  }
  return env
}

/** A variable's value is a secret by its name, its shape or its randomness, unless --secret or --plain says otherwise. */
function isSecretValue(variable: string, value: string, options: ImportOptions): boolean {
  const shaped = looksLikeToken(value) || credentialSpans(value).length > 0
  if (options.plainVars?.has(variable)) {
    if (shaped) throw new KeywardError('INVALID_INPUT', `--plain ${variable}: its value has the shape of a credential (a token, or a URL with a password), so it stays a secret`)
    return false
  }
  return Boolean(options.secretVars?.has(variable)) || shaped || isSecretEnvName(variable) || looksHighEntropy(value)
}

function stdioUpstream(raw: Record<string, unknown>, plan: EntryPlan, options: ImportOptions, taken: Set<string>) {
  const rawArgs = Array.isArray(raw.args) ? raw.args : []
  if (!rawArgs.every((a) => typeof a === 'string')) throw new Skip('its args are not all strings')
  if (raw.cwd !== undefined) throw new Skip('it sets a working directory (cwd), which keyward upstreams do not have; use absolute paths in its args and import again')
  const command = expanded(raw.command as string, 'its command', plan, options)
  const args = (rawArgs as string[]).map((a, i) => expanded(a, `argument ${i + 1}`, plan, options))
  const found = credentialInArgs([command, ...args])
  if (found) throw new Skip(`${found.index === 0 ? 'its command' : `argument ${found.index}`} holds ${found.why}, which would stay visible in the process list; move it to an env variable in the config and import again`)
  const env: Record<string, EnvValue> = {}
  for (const [variable, value] of Object.entries(entryEnv(raw, plan, options))) {
    if (!isSecretValue(variable, value, options)) {
      env[variable] = {literal: value}
      plan.plain.push(variable)
      continue
    }
    const secret = secretName(plan.name, variable, taken)
    plan.secrets.push({name: secret, value, origin: `${plan.entry}: env ${variable}`})
    env[variable] = {secret}
  }
  return {transport: 'stdio' as const, command, args, env}
}

function httpUpstream(raw: Record<string, unknown>, plan: EntryPlan, options: ImportOptions, taken: Set<string>) {
  if (raw.type === 'sse') throw new Skip('an SSE (2024-11-05) server; keyward reaches upstreams over Streamable HTTP only')
  const url = expanded(raw.url as string, 'its url', plan, options)
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) throw new Skip('its url is not an http(s) URL')
  if (credentialSpans(url).length > 0) throw new Skip('its url carries a credential (a password or a token in the query); move it to a header and import again')
  const headers: Record<string, string> = {}
  for (const [header, rawValue] of Object.entries(isObject(raw.headers) ? raw.headers : {})) {
    if (typeof rawValue !== 'string') throw new Skip(`its header ${header} is not a string`)
    const value = expanded(rawValue, `its header ${header}`, plan, options)
    const token = value.replace(/^Bearer\s+/i, '')
    if (!CREDENTIAL_HEADERS.test(header) && !looksLikeToken(token) && !looksHighEntropy(token)) {
      headers[header] = value
      continue
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(value)
    const secret = secretName(plan.name, header, taken)
    plan.secrets.push({name: secret, value: bearer ? bearer[1] : value, origin: `${plan.entry}: header ${header}`})
    headers[header] = bearer ? `Bearer ${secretTemplate(secret)}` : secretTemplate(secret)
  }
  return {transport: 'http' as const, url, headers}
}

export function planImport(config: unknown, file: string, options: ImportOptions): ImportPlan {
  const {shape, servers, serversPath} = findServers(config, file)
  const plan: ImportPlan = {shape, serversPath, upstreams: [], secrets: [], skipped: [], imported: [], resolved: [], plain: [], variables: new Set()}
  const names = new Set(options.existing.upstreams)
  const now = options.now ?? new Date().toISOString()
  for (const [entry, raw] of Object.entries(servers)) {
    const entryPlan: EntryPlan = {entry, name: upstreamName(entry, names), secrets: [], resolved: [], plain: [], variables: []}
    // Secret names are taken only when the entry is imported: a skipped one leaves no gap.
    const secretNames = new Set([...options.existing.secrets, ...plan.secrets.map((s) => s.name)])
    try {
      if (!isObject(raw)) throw new Skip('not an object')
      if (isKeyward(raw)) throw new Skip('already keyward')
      const base = {name: entryPlan.name, prefix: true, description: `imported from ${entry} in ${file}`, created: now, updated: now}
      let def: UpstreamDefinition
      if (typeof raw.command === 'string' && raw.command !== '') def = {...base, ...stdioUpstream(raw, entryPlan, options, secretNames)}
      else if (typeof raw.url === 'string' && raw.url !== '') def = {...base, ...httpUpstream(raw, entryPlan, options, secretNames)}
      else throw new Skip('no command or url')
      names.add(entryPlan.name)
      plan.upstreams.push(def)
      plan.imported.push(entry)
      plan.secrets.push(...entryPlan.secrets)
      plan.resolved.push(...entryPlan.resolved.map((placeholder) => ({entry, placeholder})))
      plan.plain.push(...entryPlan.plain.map((variable) => ({entry, variable})))
    } catch (err) {
      if (!(err instanceof Skip)) throw err
      plan.skipped.push({entry, why: err.message})
    } finally {
      for (const variable of entryPlan.variables) plan.variables.add(variable)
    }
  }
  return plan
}
