/**
 * The input guard's patterns, in every string of a tool's or prompt's arguments (keys too),
 * before it runs. The client hears that the guard refused, not which pattern matched: that is
 * in the log and the audit, for the operator.
 */
import {findPattern} from '../../guard/patterns.js'
import type {CallContext} from '../context.js'
import type {Logger} from '../log.js'
import {RpcError, RPC, type Stage} from '../pipeline/chain.js'
import type {Protection} from '../protection.js'

export function guardArguments(protection: () => Protection, log: Logger): Stage<CallContext> {
  return (ctx, next) => {
    if (ctx.kind === 'resource') return next()
    const {patterns, skipTools} = protection()
    if (ctx.kind === 'tool' && skipTools.has(ctx.name)) return next()
    const hit = findPattern(ctx.arguments, patterns)
    if (!hit) return next()
    ctx.refusal = {event: 'guard.block', reason: 'pattern', pattern: hit.name}
    log('warn', `guard: refused ${ctx.kind} ${ctx.name} for ${ctx.principal.id}: its arguments match the pattern ${hit.name}`)
    const message = `Refused by keyward's input guard: the arguments of ${ctx.name} contain a blocked pattern`
    if (ctx.kind === 'prompt') throw new RpcError(RPC.INVALID_PARAMS, message)
    // A tool error, as for bad arguments: the model sees it and can change course.
    ctx.result = {isError: true, content: [{type: 'text', text: message}]}
  }
}
