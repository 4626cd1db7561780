/** The stages of a tools/call after admission: authorize, validate input, execute. */
import {ErrorCode, McpError} from '@modelcontextprotocol/sdk/types.js'
import {z} from 'zod'

import type {CallContext, Stage} from './chain.js'
import type {Logger} from './log.js'
import type {ServerInfo} from './mcp.js'
import type {ToolRegistry} from './registry.js'

/** Deny by default; an out-of-scope tool gets exactly the error an unknown tool gets. */
export function authorize(registry: ToolRegistry): Stage<CallContext> {
  return (ctx, next) => {
    ctx.tool = registry.find(ctx.principal.scopes, ctx.name)
    if (!ctx.tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${ctx.name}`)
    return next()
  }
}

/** Bad arguments are a tool error (isError), so a model can correct itself (MCP 2025-11-25). */
export function validateInput(): Stage<CallContext> {
  return (ctx, next) => {
    const parsed = ctx.tool!.input.safeParse(ctx.arguments ?? {})
    if (!parsed.success) {
      ctx.result = {isError: true, content: [{type: 'text', text: `Invalid arguments for ${ctx.name}: ${z.prettifyError(parsed.error)}`}]}
      return
    }
    ctx.input = parsed.data
    return next()
  }
}

export function execute(info: ServerInfo, log: Logger): Stage<CallContext> {
  return async (ctx) => {
    try {
      ctx.result = await ctx.tool!.run(ctx.input as never, {principal: ctx.principal, server: info, signal: ctx.signal})
    } catch (err) {
      // The error text could hold anything the tool touched; the client gets a fixed message.
      log('error', `tool ${ctx.name} failed for ${ctx.principal.id} (${(err as Error).name})`)
      ctx.result = {isError: true, content: [{type: 'text', text: `Tool ${ctx.name} failed`}]}
    }
  }
}
