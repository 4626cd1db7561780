/**
 * Rate limits per principal, per JSON-RPC message (request or notification; a response to the
 * server's own request is free): the credential's own rate, else its auth type's. A tool with
 * ratelimit.tool.NAME is also counted per principal and tool. HTTP responses carry the IETF
 * RateLimit headers; a refusal is 429 with Retry-After (over stdio, an error whose data says when).
 */
import {rateLimitHeaders, refusalFacts} from '../../ratelimit/headers.js'
import type {RateLimits, Verdict} from '../../ratelimit/limits.js'
import type {MessageContext} from '../context.js'
import type {Stage} from '../pipeline/chain.js'
import {rateFor, rateKey} from '../protection.js'
import {Refusal} from '../refusal.js'

function refusal(verdict: Verdict, what: string): Refusal {
  const facts = refusalFacts(verdict)
  return Refusal.rateLimited(`Too Many Requests: ${what}; retry in ${facts.data.retryAfterSeconds}s`, facts)
}

export function limitRates(limits: RateLimits): Stage<MessageContext> {
  return async (ctx, next) => {
    if (ctx.method === undefined) return next()
    const p = ctx.request.runtime.protection
    const key = rateKey(ctx.principal)
    const verdict = await limits.consume('principal', key, rateFor(ctx.principal, p))
    Object.assign(ctx.request.responseHeaders, rateLimitHeaders(verdict))
    if (!verdict.allowed) throw refusal(verdict, `this credential may make ${verdict.rate.limit} requests per ${verdict.rate.windowSeconds}s`)
    const tool = ctx.method === 'tools/call' ? ctx.params?.name : undefined
    const toolRate = typeof tool === 'string' ? p.rates.tools.get(tool) : undefined
    if (toolRate) {
      const perTool = await limits.consume('tool', `${key}|${tool}`, toolRate)
      if (!perTool.allowed) throw refusal(perTool, `${tool} may be called ${toolRate.limit} times per ${toolRate.windowSeconds}s`)
    }
    return next()
  }
}
