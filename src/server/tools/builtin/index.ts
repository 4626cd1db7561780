import type {Tool} from '@modelcontextprotocol/server'
import {z} from 'zod'

import type {SourceTool, ToolSource} from '../source.js'
import {debugInfo} from './debug-info.js'
import type {ToolDefinition} from './define.js'
import {echo} from './echo.js'
import {getTime} from './get-time.js'
import {helloWorld} from './hello-world.js'

/** The built-in tools. Registering a tool is one line here. */
export const builtinTools = [helloWorld, echo, getTime, debugInfo] as unknown as ToolDefinition[]

function toSourceTool(definition: ToolDefinition): SourceTool {
  const {$schema: _ignored, ...inputSchema} = z.toJSONSchema(definition.input, {io: 'input'}) as Record<string, unknown>
  const descriptor: Tool = {name: definition.name, title: definition.title, description: definition.description, inputSchema: inputSchema as Tool['inputSchema']}
  // Arguments reach run() already checked against inputSchema (see stages/validate-input.ts).
  return {kind: 'tool', descriptor, call: (args, env) => definition.run(args as never, env), neverAsks: true}
}

export function builtinSource(): ToolSource {
  const tools = builtinTools.map(toSourceTool)
  return {name: 'built-in', tools: () => tools, prompts: () => [], resources: () => []}
}

export {defineTool, text, type ToolDefinition} from './define.js'
