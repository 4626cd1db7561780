/**
 * The protection settings of one runtime (runtime.ts), as the stages read them: body size,
 * address lists, the input guard, rates and the audit's switches. Built from the effective
 * settings with the rest of the runtime, at start-up and on every reload.
 */
import type {AuthType, Principal} from '../auth/index.js'
import {parseSize, splitList} from '../config/index.js'
import {guardPatterns, splitPatternList, type GuardPattern} from '../guard/patterns.js'
import {AddressList} from '../net/addresses.js'
import {storedRate, type RateLimit} from '../ratelimit/rate.js'

export interface Protection {
  /** The largest HTTP body or stdio line. */
  maxBody: number
  /** HTTP peers: when `allow` is set only its networks pass; `deny` wins over it. */
  allow?: AddressList
  deny?: AddressList
  patterns: readonly GuardPattern[]
  skipTools: ReadonlySet<string>
  rates: {
    byAuth: Readonly<Record<AuthType, RateLimit>>
    authFailures: RateLimit
    tools: ReadonlyMap<string, RateLimit>
  }
  audit: {args: boolean; failClosed: boolean}
}

const TOOL_RATE = 'ratelimit.tool.'

export function protectionFrom(config: ReadonlyMap<string, string>): Protection {
  const rate = (key: string) => storedRate(config.get(key)!)
  const tools = new Map<string, RateLimit>()
  for (const [key, value] of config) if (key.startsWith(TOOL_RATE)) tools.set(key.slice(TOOL_RATE.length), storedRate(value))
  const allow = config.get('guard.allow-cidrs')
  const deny = config.get('guard.deny-cidrs')
  return {
    maxBody: parseSize(config.get('guard.max-body')!)!,
    allow: allow ? AddressList.parse(splitList(allow)) : undefined,
    deny: deny ? AddressList.parse(splitList(deny)) : undefined,
    patterns: guardPatterns(splitPatternList(config.get('guard.patterns') ?? '')),
    skipTools: new Set(splitList(config.get('guard.skip-tools') ?? '')),
    rates: {
      byAuth: {api_key: rate('ratelimit.api-key'), oauth2: rate('ratelimit.oauth2'), proxy_header: rate('ratelimit.proxy-header'), none: rate('ratelimit.anonymous')},
      authFailures: rate('ratelimit.auth-failures'),
      tools,
    },
    audit: {args: config.get('audit.args') === 'true', failClosed: config.get('audit.fail-closed') === 'true'},
  }
}

/** The rate a principal is held to: its credential's own (a key's --rate), else its auth type's. */
export function rateFor(principal: Principal, protection: Protection): RateLimit {
  return principal.rate ?? protection.rates.byAuth[principal.authType]
}

/** The key a principal is counted under: an OAuth subject per client, so one client cannot spend another's allowance. */
export function rateKey(principal: Principal): string {
  return principal.clientId ? `${principal.id}|${principal.clientId}` : principal.id
}
