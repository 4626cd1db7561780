/** The tools the server offers, with their JSON Schemas computed once, and per-principal views. */
import type {Tool} from '@modelcontextprotocol/sdk/types.js'
import {z} from 'zod'

import type {ScopeSet} from '../policy/index.js'
import type {ToolDefinition} from './tools/index.js'

export class ToolRegistry {
  private readonly tools = new Map<string, {definition: ToolDefinition; descriptor: Tool}>()
  private readonly views = new WeakMap<ScopeSet, Tool[]>()

  constructor(definitions: readonly ToolDefinition[]) {
    for (const definition of definitions) {
      if (this.tools.has(definition.name)) throw new Error(`tool ${definition.name} is registered twice`)
      const {$schema: _ignored, ...inputSchema} = z.toJSONSchema(definition.input, {io: 'input'}) as Record<string, unknown>
      const descriptor: Tool = {
        name: definition.name,
        title: definition.title,
        description: definition.description,
        inputSchema: inputSchema as Tool['inputSchema'],
      }
      this.tools.set(definition.name, {definition, descriptor})
    }
  }

  /** The tools these scopes allow; others are not listed at all. */
  listFor(scopes: ScopeSet): Tool[] {
    let view = this.views.get(scopes)
    if (!view) {
      view = [...this.tools.values()].filter((t) => scopes.allows('tool', t.descriptor.name)).map((t) => t.descriptor)
      this.views.set(scopes, view)
    }
    return view
  }

  /** The tool, if it exists and these scopes allow it. Callers cannot tell the two misses apart. */
  find(scopes: ScopeSet, name: string): ToolDefinition | undefined {
    const entry = this.tools.get(name)
    return entry && scopes.allows('tool', name) ? entry.definition : undefined
  }

  get names(): string[] {
    return [...this.tools.keys()]
  }
}
