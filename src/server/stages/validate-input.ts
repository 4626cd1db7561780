/**
 * Tool arguments against the tool's JSON Schema; prompt arguments against the prompt's declared
 * arguments. Bad tool arguments are refused as a tool error (isError), so a model can correct
 * itself (MCP 2025-11-25); the message names the field. A tool whose schema keyward cannot check
 * in linear time (src/server/tools/validate.ts) is refused, and the operator told once.
 */
import type {Stage} from '../pipeline/chain.js'
import type {CallContext} from '../context.js'
import type {Logger} from '../log.js'
import {Refusal} from '../refusal.js'
import {validateArguments} from '../tools/validate.js'

/** Uncheckable schemas already logged, by tool and reason: bounded, as tool names come from upstreams. */
const MAX_LOGGED = 1000

export function validateInput(log: Logger = () => {}): Stage<CallContext> {
  const logged = new Set<string>()
  return async (ctx, next) => {
    const item = ctx.item!
    if (item.kind === 'tool') {
      const verdict = await validateArguments(item.descriptor.inputSchema, ctx.arguments)
      if (verdict.uncheckable !== undefined) {
        const seen = `${ctx.name}\0${verdict.uncheckable}`
        if (!logged.has(seen) && logged.size < MAX_LOGGED) {
          logged.add(seen)
          log('warn', `tool ${ctx.name}: its input schema has a pattern keyward cannot check in linear time (${verdict.uncheckable}); its calls are refused`)
        }
        throw Refusal.uncheckableSchema(ctx.name, verdict.uncheckable)
      }
      if (!verdict.ok) throw Refusal.invalidToolArguments(ctx.name, verdict.problem ?? 'they do not match its schema')
    } else if (item.kind === 'prompt') {
      for (const arg of item.descriptor.arguments ?? []) {
        if (arg.required && typeof ctx.arguments[arg.name] !== 'string') throw Refusal.invalidPromptArguments(ctx.name, `${arg.name} is required`)
      }
      for (const [name, value] of Object.entries(ctx.arguments)) {
        if (typeof value !== 'string') throw Refusal.invalidPromptArguments(ctx.name, `${name} must be a string`)
      }
    }
    return next()
  }
}
