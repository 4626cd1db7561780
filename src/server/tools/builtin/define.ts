import type {CallToolResult} from '@modelcontextprotocol/server'
import type {z} from 'zod'

import type {CallEnv} from '../source.js'

/**
 * A built-in tool is a name, a description, a zod input schema and a function: one small module
 * each. The schema is published (and enforced) as JSON Schema, like any other source's.
 */
export interface ToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string
  title?: string
  description: string
  input: z.ZodObject<Shape>
  run(args: z.infer<z.ZodObject<Shape>>, env: CallEnv): CallToolResult | Promise<CallToolResult>
}

export function defineTool<Shape extends z.ZodRawShape>(tool: ToolDefinition<Shape>): ToolDefinition<Shape> {
  return tool
}

export function text(value: string): CallToolResult {
  return {content: [{type: 'text', text: value}]}
}
