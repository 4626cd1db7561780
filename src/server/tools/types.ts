import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'
import type {z} from 'zod'

import type {Principal} from '../principal.js'

export interface ToolContext {
  principal: Principal
  server: {name: string; version: string; startedAt: number}
  signal: AbortSignal
}

/** A tool is a name, a description, a zod input schema and a function: one small module each. */
export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string
  title?: string
  description: string
  input: z.ZodObject<Shape>
  run(args: z.infer<z.ZodObject<Shape>>, context: ToolContext): CallToolResult | Promise<CallToolResult>
}

export function defineTool<Shape extends z.ZodRawShape>(tool: ToolDefinition<Shape>): ToolDefinition<Shape> {
  return tool
}

export function text(value: string): CallToolResult {
  return {content: [{type: 'text', text: value}]}
}
