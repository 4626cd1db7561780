/**
 * Server settings, kept in the vault's encrypted `config` table as strings: what `keyward config`
 * sets and `keyward serve` reads at start-up and on every reload. Each key has one definition
 * here: how its value is checked, its default, and the serve flag that overrides it for one run
 * (`oauth.issuer` -> `--oauth-issuer`). A value `secret:NAME` refers to a vault secret.
 */
import {parseRetention, RETENTION_HELP} from '../audit/retention.js'
import {KeywardError} from '../errors/index.js'
import {parseCidr} from '../net/addresses.js'
import {expandScopes} from '../policy/index.js'
import {formatRate, parseRate, RATE_HELP} from '../ratelimit/rate.js'
import {checkRedisUrl} from '../redis/url.js'
import {BUILTIN_PATTERN_NAMES, checkCustomPattern, splitPatternList} from '../guard/patterns.js'
import {looksLikeToken} from '../guard/token-shapes.js'
import {checkSecretName} from '../secrets/index.js'
import {parseSecretRef} from '../secrets/ref.js'
import {tableOf, type VaultData} from '../vault/index.js'

export type ValueKind = 'redis-url' | 'url' | 'string' | 'list' | 'methods' | 'algorithms' | 'duration' | 'secret' | 'cidrs' | 'scopes' | 'header' | 'rate' | 'bool' | 'size' | 'patterns' | 'path' | 'retention' | 'choice' | 'count'

export interface Setting {
  key: string
  kind: ValueKind
  description: string
  default?: string
  /** Keys that take a suffix: `oauth.scope-map.repo:read`. Their flag takes NAME=VALUE, repeatable. */
  prefix?: boolean
  /** kind choice: the values it takes. */
  choices?: readonly string[]
  /** kind duration: the shortest and longest it may be (a timer cannot run past 24.8 days; some bounds must not be 0). */
  within?: {min: string; max: string}
  /** false: not a serve flag (a setting read by other commands, such as `upstream add`). */
  flag?: false
}

export const AUTH_METHOD_NAMES = ['api-key', 'oauth2', 'proxy-header', 'none'] as const
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

export const SETTINGS: readonly Setting[] = [
  {key: 'auth.methods', kind: 'methods', default: 'api-key', description: 'How clients authenticate: any of api-key, oauth2, proxy-header, comma-separated, asked in that order (none: loopback only, alone).'},
  {key: 'server.protocol', kind: 'choice', choices: ['any', 'modern', 'legacy'], default: 'any', description: 'Which MCP protocol eras serve speaks to clients: any (2025 and 2026-07-28, per request over HTTP, per connection over stdio), modern (2026-07-28 only) or legacy (2025 only).'},
  {key: 'server.input-timeout', kind: 'duration', default: '5m', within: {min: '1s', max: '24h'}, description: 'How long a call of a 2026-07-28 client waits for the input it asked the client for (its requestState expires then, and the call ends); 1s to 24h.'},
  {key: 'server.public-url', kind: 'url', description: 'The MCP URL clients use (behind a proxy, say): the resource identifier and the default audience.'},
  {key: 'oauth.issuer', kind: 'url', description: 'The authorization server that issues access tokens (required for oauth2).'},
  {key: 'oauth.audience', kind: 'string', description: 'The audience tokens must be issued for (default: server.public-url, else the listening URL).'},
  {key: 'oauth.jwks-uri', kind: 'url', description: "The issuer's JWKS (default: from its RFC 8414 or OpenID metadata)."},
  {key: 'oauth.algorithms', kind: 'algorithms', default: ASYMMETRIC_ALGORITHMS.join(','), description: 'Accepted JWT signature algorithms; asymmetric only (none and HMAC are never accepted).'},
  {key: 'oauth.introspection-url', kind: 'url', description: 'RFC 7662 introspection endpoint, for opaque tokens.'},
  {key: 'oauth.client-id', kind: 'string', description: "keyward's client id at the introspection endpoint."},
  {key: 'oauth.client-secret', kind: 'secret', description: "keyward's client secret there: secret:NAME, a vault secret."},
  {key: 'oauth.scopes-supported', kind: 'list', description: 'Scopes listed in the protected resource metadata (default: mcp:server:access, mcp:tool:*).'},
  {key: 'oauth.clock-skew', kind: 'duration', default: '60s', description: 'Tolerance for exp and nbf.'},
  {key: 'oauth.introspection-cache', kind: 'duration', default: '60s', description: 'Longest an introspection result is cached (never past the token’s exp).'},
  {key: 'oauth.scope-map.', kind: 'scopes', prefix: true, description: 'Keyward scopes a token scope grants: oauth.scope-map.repo:read = github__get_*.'},
  {key: 'proxy.trusted-cidrs', kind: 'cidrs', description: 'Addresses of the reverse proxy allowed to set the identity headers (required for proxy-header).'},
  {key: 'proxy.user-header', kind: 'header', default: 'x-forwarded-user', description: 'The header holding the authenticated user.'},
  {key: 'proxy.groups-header', kind: 'header', default: 'x-forwarded-groups', description: 'The header holding the user’s groups, comma-separated.'},
  {key: 'proxy.scopes', kind: 'scopes', description: 'Scopes every proxy-authenticated user gets.'},
  {key: 'proxy.scope-map.', kind: 'scopes', prefix: true, description: 'Scopes a group grants: proxy.scope-map.admins = full.'},
  {key: 'ratelimit.api-key', kind: 'rate', default: '1000/min', description: 'Requests an API key may make, unless the key has its own --rate.'},
  {key: 'ratelimit.oauth2', kind: 'rate', default: '500/min', description: 'Requests an OAuth principal (subject and client) may make.'},
  {key: 'ratelimit.proxy-header', kind: 'rate', default: '500/min', description: 'Requests a proxy-authenticated user may make.'},
  {key: 'ratelimit.anonymous', kind: 'rate', default: '100/min', description: 'Requests under --auth none (all callers together).'},
  {key: 'ratelimit.auth-failures', kind: 'rate', default: '20/min', description: 'Refused credentials per client address before it gets 429 (a valid credential still passes).'},
  {key: 'ratelimit.tool.', kind: 'rate', prefix: true, description: 'Calls of one tool a principal may make: ratelimit.tool.github__create_issue = 10/min.'},
  {key: 'guard.max-body', kind: 'size', default: '1MiB', description: 'The largest HTTP body or stdio line (413 over HTTP).'},
  {key: 'guard.allow-cidrs', kind: 'cidrs', description: 'Only these client addresses may connect over HTTP (deny wins).'},
  {key: 'guard.deny-cidrs', kind: 'cidrs', description: 'These client addresses may not connect over HTTP.'},
  {key: 'guard.patterns', kind: 'patterns', default: 'traversal,script,sql-union,eval', description: 'Patterns refused in tool and prompt arguments: traversal, script, sql-union, eval, /regex/, or none.'},
  {key: 'guard.skip-tools', kind: 'list', description: 'Tools whose arguments are not checked for patterns (comma-separated names).'},
  {key: 'guard.redact', kind: 'bool', default: 'true', description: 'Replace vault secrets and known token formats in what reaches clients (results, errors, lists, completions, notifications) with [REDACTED:NAME].'},
  {key: 'redis.url', kind: 'redis-url', description: 'Redis shared by the replicas of keyward serve: redis://host:6379, or rediss:// for TLS (the flag is --redis; KEYWARD_REDIS_URL beats this setting).'},
  {key: 'redis.password', kind: 'secret', description: 'The Redis password: secret:NAME, a vault secret.'},
  {key: 'audit.path', kind: 'path', description: 'The audit log (default $XDG_STATE_HOME/keyward/audit/<vault id>.jsonl, one per vault); KEYWARD_AUDIT_LOG beats this setting, --audit-log beats both.'},
  {key: 'audit.args', kind: 'bool', default: 'false', description: 'Record tool arguments (redacted) in the audit log.'},
  {key: 'audit.fail-closed', kind: 'bool', default: 'false', description: 'Refuse requests (503) when an audit record cannot be written.'},
  {key: 'audit.max-size', kind: 'size', default: '64MiB', description: 'Start a new audit file past this size; the chain continues across files, and rotated ones are compressed (.gz).'},
  {key: 'audit.keep', kind: 'retention', description: 'Rotated audit files to keep: a number (3), or an age (30d, 12h, 8w); older ones are dropped behind a MACed checkpoint. Unset keeps all.'},
  {key: 'upstream.sandbox', kind: 'choice', choices: ['on', 'off'], default: 'off', flag: false, description: 'Whether `upstream add` runs a new stdio upstream in a sandbox (bubblewrap, Linux only) when --sandbox is not given.'},
  {key: 'upstream.idle-timeout', kind: 'duration', default: '10m', description: 'An upstream process (or HTTP connection) with no call in flight and no resource subscription for this long is stopped, and started again by the next call; 0s: never.'},
  {key: 'upstream.max-call-duration', kind: 'duration', default: '30m', within: {min: '1s', max: '24h'}, description: 'The longest a call to an upstream may run in all, however often it reports progress (which restarts its 5-minute idle timeout); then it is cancelled, and the client told which upstream ran past it.'},
  {key: 'upstream.max-processes', kind: 'count', default: '64', description: 'The most upstream processes keyward runs at once (shared ones included); past it, a session that needs a process of its own (isolation key or session) gets an error saying so.'},
  {key: 'sessions.per-principal', kind: 'count', default: '64', description: 'Stateful HTTP: open sessions one API key or principal may hold; past it, its least recently used session is closed.'},
  {key: 'pins.on-change', kind: 'choice', choices: ['block', 'warn'], default: 'block', description: 'A changed, new or renamed upstream tool, prompt or template: block holds it back until `keyward upstream approve`; warn serves it and reports it.'},
  {key: 'scan.on-finding', kind: 'choice', choices: ['block', 'warn'], default: 'warn', description: 'A finding of the description scanner in a definition seen for the first time (at first use, or a change or new item under pins.on-change warn): block holds it back until approved; warn pins it and reports it.'},
]

export function settingFor(key: string): Setting | undefined {
  return SETTINGS.find((s) => (s.prefix ? key.startsWith(s.key) && key.length > s.key.length : s.key === key))
}

/** The serve flag that overrides a key: `oauth.issuer` -> `oauth-issuer`; a prefix key `oauth.scope-map.` -> `oauth-scope-map` (it takes NAME=VALUE). */
/** Flags whose name is not the key's: the audit log's path is --audit-log, as users of audit logs expect. */
const FLAG_NAMES: Record<string, string> = {'audit.path': 'audit-log', 'server.protocol': 'protocol'}

export function flagName(key: string): string {
  return FLAG_NAMES[key] ?? key.replace(/\.$/, '').replace(/\./g, '-')
}

function invalid(key: string, why: string): KeywardError {
  return new KeywardError('INVALID_INPUT', `config ${key}: ${why}`)
}

const DURATION = /^(\d{1,7})(ms|s|m|h)$/
const DURATION_MS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/** A count setting's value (checked when it was set), or its default. */
export function countValue(config: ReadonlyMap<string, string>, key: string): number {
  return Number(config.get(key) ?? settingFor(key)?.default)
}

/**
 * A duration setting's value in milliseconds (checked when it was set), or its default's; brought
 * within the setting's bounds, since a vault may hold a value set before the bounds existed (a
 * timer given 0 or more than 2^31-1 ms fires at once).
 */
export function durationValue(config: ReadonlyMap<string, string>, key: string): number {
  const setting = settingFor(key)
  const ms = parseDurationValue(config.get(key) ?? setting?.default ?? '') ?? 0
  if (!setting?.within) return ms
  return Math.min(Math.max(ms, parseDurationValue(setting.within.min)!), parseDurationValue(setting.within.max)!)
}

export function parseDurationValue(value: string): number | undefined {
  const m = DURATION.exec(value.trim())
  return m ? Number(m[1]) * DURATION_MS[m[2]] : undefined
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '')
}

/** Checks a value for a key; returns it normalised. `data` lets `secret:NAME` be checked against the vault. */
export function checkSetting(key: string, value: string, data?: VaultData): string {
  const setting = settingFor(key)
  if (!setting) throw new KeywardError('INVALID_INPUT', `unknown config key ${JSON.stringify(key.slice(0, 80))}; see \`keyward config list --all\``)
  const v = value.trim()
  if (v === '') throw invalid(key, 'the value is empty; use `keyward config unset` to remove a setting')
  if (setting.kind !== 'secret' && looksLikeToken(v)) throw invalid(key, 'the value looks like a credential; store it with `keyward secrets set NAME` and refer to it as secret:NAME')
  return CHECKS[setting.kind](v, key, data, setting)
}

/** How a value of each kind is checked (the value trimmed, not empty), and what is stored. */
type Check = (v: string, key: string, data: VaultData | undefined, setting: Setting) => string

const CHECKS: Record<ValueKind, Check> = {
  'redis-url': (v, key) => {
    const url = checkRedisUrl(v, `config ${key}`)
    if (url.password) throw invalid(key, 'a URL must not carry the password; keyward config set redis.password secret:NAME')
    return url.href
  },
  url: (v, key) => {
    let url: URL
    try {
      url = new URL(v)
    } catch {
      throw invalid(key, `${JSON.stringify(v.slice(0, 80))} is not a URL`)
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(key, 'use an http:// or https:// URL')
    if (url.username || url.password) throw invalid(key, 'a URL must not carry credentials')
    return v
  },
  methods: (v, key) => {
    const methods = splitList(v)
    for (const m of methods) if (!(AUTH_METHOD_NAMES as readonly string[]).includes(m)) throw invalid(key, `unknown method ${JSON.stringify(m)}; use ${AUTH_METHOD_NAMES.join(', ')}`)
    if (methods.length === 0) throw invalid(key, 'name at least one method')
    if (methods.includes('none') && methods.length > 1) throw invalid(key, 'none cannot be combined with other methods')
    return [...new Set(methods)].join(',')
  },
  algorithms: (v, key) => {
    const algs = splitList(v)
    for (const a of algs) {
      if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a)) throw invalid(key, `${JSON.stringify(a)} is not accepted; use asymmetric algorithms: ${ASYMMETRIC_ALGORITHMS.join(', ')} (none and HMAC never are)`)
    }
    return algs.join(',')
  },
  duration: (v, key, _data, setting) => {
    const ms = parseDurationValue(v)
    if (ms === undefined) throw invalid(key, `${JSON.stringify(v.slice(0, 40))} is not a duration; use 500ms, 60s, 5m or 1h`)
    const {min, max} = setting.within ?? {}
    if (min && max && (ms < parseDurationValue(min)! || ms > parseDurationValue(max)!)) throw invalid(key, `give a duration from ${min} to ${max}`)
    return v
  },
  secret: (v, key, data) => {
    const name = parseSecretRef(v)
    if (name === undefined) throw invalid(key, 'give a vault secret as secret:NAME, never the value itself')
    checkSecretName(name)
    if (data && !data.secrets.has(name)) throw invalid(key, `the vault holds no secret ${name}; store it first with \`keyward secrets set ${name}\``)
    return v
  },
  cidrs: (v, key) => {
    const cidrs = splitList(v)
    if (cidrs.length === 0) throw invalid(key, 'name at least one address or network')
    for (const c of cidrs) if (!parseCidr(c)) throw invalid(key, `${JSON.stringify(c.slice(0, 60))} is not an address or network (10.0.0.0/8, ::1/128)`)
    return cidrs.join(',')
  },
  header: (v, key) => {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(v)) throw invalid(key, `${JSON.stringify(v.slice(0, 60))} is not a header name`)
    return v.toLowerCase()
  },
  scopes: (v, key) => {
    try {
      return expandScopes(splitList(v)).join(',')
    } catch (err) {
      throw invalid(key, (err as Error).message)
    }
  },
  rate: (v, key) => {
    try {
      const {limit, windowSeconds} = parseRate(v)
      return formatRate({limit, windowSeconds})
    } catch {
      throw invalid(key, `${JSON.stringify(v.slice(0, 40))} is not a rate; ${RATE_HELP}`)
    }
  },
  bool: (v, key) => {
    if (!/^(true|false)$/.test(v)) throw invalid(key, 'use true or false')
    return v
  },
  size: (v, key) => {
    const size = parseSize(v)
    if (size === undefined) throw invalid(key, `${JSON.stringify(v.slice(0, 40))} is not a size; use 512KiB, 1MiB or 64MiB`)
    if (size < 1024 || size > 1024 ** 3) throw invalid(key, 'give a size from 1KiB to 1GiB')
    return v
  },
  patterns: (v, key) => {
    for (const p of splitPatternList(v)) {
      if (p === 'none' || BUILTIN_PATTERN_NAMES.includes(p)) continue
      if (!/^\/(.+)\/$/.test(p)) throw invalid(key, `${JSON.stringify(p.slice(0, 40))}: name one of ${BUILTIN_PATTERN_NAMES.join(', ')}, none, or give /a regular expression/`)
      try {
        checkCustomPattern(p)
      } catch (err) {
        throw invalid(key, `${JSON.stringify(p.slice(0, 40))} ${(err as Error).message}`)
      }
    }
    return v
  },
  path: (v, key) => {
    if (!v.startsWith('/')) throw invalid(key, 'give an absolute path')
    return v
  },
  retention: (v, key) => {
    if (!parseRetention(v)) throw invalid(key, `${JSON.stringify(v.slice(0, 40))}: give ${RETENTION_HELP}`)
    return v
  },
  count: (v, key) => {
    if (!/^\d{1,7}$/.test(v) || Number(v) < 1) throw invalid(key, `${JSON.stringify(v.slice(0, 40))} is not a count; give a whole number from 1 to 9999999`)
    return String(Number(v))
  },
  choice: (v, key, _data, setting) => {
    if (!setting.choices?.includes(v)) throw invalid(key, `use ${setting.choices?.join(' or ')}`)
    return v
  },
  list: (v) => v,
  string: (v) => v,
}

const SIZE = /^(\d{1,10})(B|KiB|MiB|GiB)?$/
const SIZE_UNITS: Record<string, number> = {B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3}

export function parseSize(value: string): number | undefined {
  const m = SIZE.exec(value.trim())
  return m ? Number(m[1]) * SIZE_UNITS[m[2] ?? 'B'] : undefined
}

export function configOf(data: VaultData): Map<string, string> {
  return tableOf<string>(data, 'config')
}
