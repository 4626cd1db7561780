/**
 * Tool arguments against the tool's JSON Schema; prompt arguments against the prompt's declared
 * arguments. Bad tool arguments are refused as a tool error (isError), so a model can correct
 * itself (MCP 2025-11-25); the message names the field.
 */
import type {Stage} from '../pipeline/chain.js'
import type {CallContext} from '../context.js'
import {Refusal} from '../refusal.js'
import {validateArguments} from '../tools/validate.js'

export function validateInput(): Stage<CallContext> {
  return async (ctx, next) => {
    const item = ctx.item!
    if (item.kind === 'tool') {
      const verdict = await validateArguments(item.descriptor.inputSchema, ctx.arguments)
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
