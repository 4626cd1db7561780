/**
 * The input guard's patterns, in every string of a tool's or prompt's arguments (keys too),
 * before it runs. The client hears that the guard refused, not which pattern matched: that is
 * in the log and the audit, for the operator.
 */
import {findPattern} from '../../guard/patterns.js'
import type {CallContext} from '../context.js'
import type {Logger} from '../log.js'
import type {Stage} from '../pipeline/chain.js'
import {Refusal} from '../refusal.js'

export function guardArguments(log: Logger): Stage<CallContext> {
  return (ctx, next) => {
    if (ctx.kind === 'resource') return next()
    const {patterns, skipTools} = ctx.runtime.protection
    if (ctx.kind === 'tool' && skipTools.has(ctx.name)) return next()
    const hit = findPattern(ctx.arguments, patterns)
    if (!hit) return next()
    log('warn', `guard: refused ${ctx.kind} ${ctx.name} for ${ctx.principal.id}: its arguments match the pattern ${hit.name}`)
    throw Refusal.blockedArguments(ctx.kind, ctx.name, hit.name)
  }
}
