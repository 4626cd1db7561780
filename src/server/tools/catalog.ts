/**
 * The catalog: every tool, prompt and resource of every source, indexed by name (a resource by
 * its URI), with per-principal views. It is rebuilt whole when a source changes and swapped in,
 * so a request sees either the old or the new catalog, never a mix. Scopes decide what a
 * principal sees and may use; an item outside them is exactly as absent as one that does not
 * exist.
 */
import type {Prompt, Resource, Tool} from '@modelcontextprotocol/sdk/types.js'

import type {Kind as ScopeKind, ScopeSet} from '../../policy/index.js'
import type {CatalogItem, ItemKind, SourcePrompt, SourceResource, SourceTool, ToolSource} from './source.js'

type Descriptor = Tool | Prompt | Resource

interface Index {
  version: number
  tool: Map<string, SourceTool>
  prompt: Map<string, SourcePrompt>
  resource: Map<string, SourceResource>
}

export type CollisionLogger = (kind: ItemKind, name: string, kept: string, dropped: string) => void

function keyOf(item: CatalogItem): string {
  return item.kind === 'resource' ? item.descriptor.uri : item.descriptor.name
}

export class Catalog {
  private index: Index = {version: 0, tool: new Map(), prompt: new Map(), resource: new Map()}
  private readonly views = new WeakMap<ScopeSet, Partial<Record<ItemKind, {version: number; list: Descriptor[]}>>>()
  private readonly listeners = new Set<(kind: ItemKind) => void>()
  private readonly sources: ToolSource[] = []

  constructor(
    sources: readonly ToolSource[],
    private readonly onCollision: CollisionLogger = () => {},
  ) {
    for (const source of sources) this.add(source, false)
    this.rebuild()
  }

  /** Adds a source; its items appear at once, and a change of its items rebuilds the catalog. */
  add(source: ToolSource, rebuild = true): void {
    this.sources.push(source)
    source.onChange?.((kind) => {
      this.rebuild()
      for (const listener of this.listeners) listener(kind)
    })
    if (rebuild) {
      this.rebuild()
      for (const kind of ['tool', 'prompt', 'resource'] as const) for (const listener of this.listeners) listener(kind)
    }
  }

  /** Sources listed first win a name collision; the loser is logged, not served. */
  private rebuild(): void {
    const next: Index = {version: this.index.version + 1, tool: new Map(), prompt: new Map(), resource: new Map()}
    const owner = new Map<string, string>()
    for (const source of this.sources) {
      const items: CatalogItem[] = [...source.tools(), ...source.prompts(), ...source.resources()]
      for (const item of items) {
        const map = next[item.kind] as Map<string, CatalogItem>
        const key = keyOf(item)
        const kept = owner.get(`${item.kind}\0${key}`)
        if (kept !== undefined) {
          this.onCollision(item.kind, key, kept, source.name)
          continue
        }
        owner.set(`${item.kind}\0${key}`, source.name)
        map.set(key, item)
      }
    }
    this.index = next
  }

  get version(): number {
    return this.index.version
  }

  onChange(listener: (kind: ItemKind) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** What these scopes allow of one kind, as listed to the client; cached per scope set until the catalog changes. */
  list(kind: 'tool', scopes: ScopeSet): Tool[]
  list(kind: 'prompt', scopes: ScopeSet): Prompt[]
  list(kind: 'resource', scopes: ScopeSet): Resource[]
  list(kind: ItemKind, scopes: ScopeSet): Descriptor[] {
    let views = this.views.get(scopes)
    if (!views) this.views.set(scopes, (views = {}))
    const index = this.index
    const cached = views[kind]
    if (cached && cached.version === index.version) return cached.list
    const list: Descriptor[] = []
    for (const [key, item] of index[kind] as Map<string, CatalogItem>) if (scopes.allows(kind as ScopeKind, key)) list.push(item.descriptor)
    views[kind] = {version: index.version, list}
    return list
  }

  /** The item, if it exists and these scopes allow it. Callers cannot tell the two misses apart. */
  find(kind: 'tool', scopes: ScopeSet, name: string): SourceTool | undefined
  find(kind: 'prompt', scopes: ScopeSet, name: string): SourcePrompt | undefined
  find(kind: 'resource', scopes: ScopeSet, uri: string): SourceResource | undefined
  find(kind: ItemKind, scopes: ScopeSet, name: string): CatalogItem | undefined
  find(kind: ItemKind, scopes: ScopeSet, name: string): CatalogItem | undefined {
    const item = (this.index[kind] as Map<string, CatalogItem>).get(name)
    return item && scopes.allows(kind as ScopeKind, name) ? item : undefined
  }

  /** Every name of a kind, whatever the scopes (for prompts that offer a choice of tools). */
  names(kind: ItemKind): string[] {
    return [...(this.index[kind] as Map<string, CatalogItem>).keys()]
  }
}
