/**
 * The protection settings of one serve run, as the stages read them: rates, the input guard and
 * the redactor. Built from the effective settings and the vault at start-up and again on every
 * reload (a new secret must be redacted from the next result on), then swapped whole.
 */
import type {AuthType, Principal} from '../auth/index.js'
import {parseSize, splitList} from '../config/index.js'
import {guardPatterns, type GuardPattern} from '../guard/patterns.js'
import {Redactor} from '../guard/redactor.js'
import {parseRate} from '../keys/limits.js'
import {AddressList} from '../net/addresses.js'
import type {RateLimit} from '../ratelimit/limits.js'
import {oauthSecretsOf} from '../upstreams/oauth/store.js'
import type {VaultData} from '../vault/index.js'

export interface Protection {
  /** The largest HTTP body or stdio line. */
  maxBody: number
  /** HTTP peers: when `allow` is set only its networks pass; `deny` wins over it. */
  allow?: AddressList
  deny?: AddressList
  patterns: readonly GuardPattern[]
  skipTools: ReadonlySet<string>
  redactor: Redactor
  rates: {
    byAuth: Readonly<Record<AuthType, RateLimit>>
    authFailures: RateLimit
    tools: ReadonlyMap<string, RateLimit>
  }
  audit: {args: boolean; failClosed: boolean}
}

const TOOL_RATE = 'ratelimit.tool.'

export function protectionFrom(config: ReadonlyMap<string, string>, data: VaultData): Protection {
  const rate = (key: string) => parseRate(config.get(key)!)
  const tools = new Map<string, RateLimit>()
  for (const [key, value] of config) if (key.startsWith(TOOL_RATE)) tools.set(key.slice(TOOL_RATE.length), parseRate(value))
  const allow = config.get('guard.allow-cidrs')
  const deny = config.get('guard.deny-cidrs')
  return {
    maxBody: parseSize(config.get('guard.max-body')!)!,
    allow: allow ? AddressList.parse(allow) : undefined,
    deny: deny ? AddressList.parse(deny) : undefined,
    patterns: guardPatterns(config.get('guard.patterns')),
    skipTools: new Set(splitList(config.get('guard.skip-tools') ?? '')),
    redactor: config.get('guard.redact') === 'false' ? Redactor.none : redactorFor(data),
    rates: {
      byAuth: {api_key: rate('ratelimit.api-key'), oauth2: rate('ratelimit.oauth2'), proxy_header: rate('ratelimit.proxy-header'), none: rate('ratelimit.anonymous')},
      authFailures: rate('ratelimit.auth-failures'),
      tools,
    },
    audit: {args: config.get('audit.args') === 'true', failClosed: config.get('audit.fail-closed') === 'true'},
  }
}

/** One matcher over every secret the vault holds, upstream OAuth tokens included (an upstream may echo its token). */
function redactorFor(data: VaultData): Redactor {
  const pairs: [string, string][] = []
  for (const [name, record] of data.secrets) pairs.push([name, record.value.toString('utf8')])
  pairs.push(...oauthSecretsOf(data))
  return new Redactor(pairs)
}

/** The rate a principal is held to: its credential's own (a key's --rate), else its auth type's. */
export function rateFor(principal: Principal, protection: Protection): RateLimit {
  return principal.rate ?? protection.rates.byAuth[principal.authType]
}

/** The key a principal is counted under: an OAuth subject per client, so one client cannot spend another's allowance. */
export function rateKey(principal: Principal): string {
  return principal.clientId ? `${principal.id}|${principal.clientId}` : principal.id
}
