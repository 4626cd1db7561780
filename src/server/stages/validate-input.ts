/**
 * Tool arguments against the tool's JSON Schema; prompt arguments against the prompt's declared
 * arguments. Bad tool arguments are a tool error (isError), so a model can correct itself
 * (MCP 2025-11-25); the message names the field.
 */
import {RpcError, RPC, type Stage} from '../pipeline/chain.js'
import type {CallContext} from '../context.js'
import {validateArguments} from '../tools/validate.js'

export function validateInput(): Stage<CallContext> {
  return async (ctx, next) => {
    const item = ctx.item!
    if (item.kind === 'tool') {
      const verdict = await validateArguments(item.descriptor.inputSchema, ctx.arguments)
      if (!verdict.ok) {
        ctx.refusal = {event: 'guard.block', reason: 'schema', problem: verdict.problem}
        ctx.result = {isError: true, content: [{type: 'text', text: `Invalid arguments for ${ctx.name}: ${verdict.problem}`}]}
        return
      }
    } else if (item.kind === 'prompt') {
      for (const arg of item.descriptor.arguments ?? []) {
        if (arg.required && typeof ctx.arguments[arg.name] !== 'string') throw new RpcError(RPC.INVALID_PARAMS, `Invalid arguments for prompt ${ctx.name}: ${arg.name} is required`)
      }
      for (const [name, value] of Object.entries(ctx.arguments)) {
        if (typeof value !== 'string') throw new RpcError(RPC.INVALID_PARAMS, `Invalid arguments for prompt ${ctx.name}: ${name} must be a string`)
      }
    }
    return next()
  }
}
