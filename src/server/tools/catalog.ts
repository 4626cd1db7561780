/**
 * The catalog: every tool, prompt and resource of every source, indexed by name (a resource by
 * its URI), with per-principal views. An index is rebuilt whole when a source changes and
 * swapped in, so a request sees either the old or the new catalog, never a mix. Scopes decide
 * what a principal sees and may use; an item outside them is exactly as absent as one that does
 * not exist. Sources are ordered (built-in first, then upstreams as defined): the first to
 * offer a name, or a resource URI (listed or by template), keeps it.
 *
 * A source may offer one client session items of its own (an upstream with a connection per
 * session lists what that connection offers); such a session gets an index of its own, built
 * when it is first asked for after a change.
 *
 * Every source is held wrapped (redacting.ts): what the catalog lists, finds and routes to is
 * the redacted view, so there is no way from the catalog to a client around redaction.
 */
import type {Prompt, Resource, ResourceTemplateType as ResourceTemplate, Tool} from '@modelcontextprotocol/server'

import type {Kind as ScopeKind, ScopeSet} from '../../policy/index.js'
import {type ParamHeader, paramHeadersOf} from '../era/param-headers.js'
import {redactingSource, type CurrentRedactor} from './redacting.js'
import type {CatalogItem, ClientSession, ItemKind, SourcePrompt, SourceResource, SourceTool, ToolSource} from './source.js'

type Descriptor = Tool | Prompt | Resource

interface Index {
  tool: Map<string, SourceTool>
  prompt: Map<string, SourcePrompt>
  resource: Map<string, SourceResource>
  /** The tools that mirror arguments into `Mcp-Param-*` headers, found once per build: most declare none, and a call of those looks nothing up. */
  paramHeaders: Map<string, readonly ParamHeader[]>
  views: WeakMap<ScopeSet, Partial<Record<ItemKind, Descriptor[]>>>
}

/** Collisions remembered as logged; names come from upstreams, so the memory is bounded. */
const MAX_LOGGED_COLLISIONS = 10_000

export type CollisionLogger = (kind: ItemKind, name: string, kept: string, dropped: string) => void

function keyOf(item: CatalogItem): string {
  return item.kind === 'resource' ? item.descriptor.uri : item.descriptor.name
}

export class Catalog {
  private version = 0
  private index: Index
  private readonly sessionIndexes = new WeakMap<ClientSession, {version: number; index: Index}>()
  private readonly listeners = new Set<(kind: ItemKind) => void>()
  /** The sources, wrapped, in the order they win collisions. */
  private readonly sources: ToolSource[] = []
  /** Each source as given, and its wrapped view with the listener that stops following it. */
  private readonly attached = new Map<ToolSource, {wrapped: ToolSource; stop?: () => void}>()
  private readonly logged = new Set<string>()

  /** `redactor`: the newest runtime's, for lists and session messages (a call brings its own). */
  constructor(
    sources: readonly ToolSource[],
    private readonly redactor: CurrentRedactor,
    private readonly onCollision: CollisionLogger = () => {},
  ) {
    for (const source of sources) this.attach(source)
    this.index = this.build(undefined, true)
  }

  private attach(source: ToolSource): void {
    const wrapped = redactingSource(source, this.redactor)
    this.sources.push(wrapped)
    this.attached.set(source, {wrapped, stop: wrapped.onChange?.((kind) => this.changed([kind]))})
  }

  private detach(source: ToolSource): number {
    const entry = this.attached.get(source)
    const at = entry ? this.sources.indexOf(entry.wrapped) : -1
    if (at === -1) return -1
    this.sources.splice(at, 1)
    entry!.stop?.()
    this.attached.delete(source)
    return at
  }

  /** Adds a source; its items appear at once, and a change of its items rebuilds the catalog. */
  add(source: ToolSource): void {
    this.attach(source)
    this.changed(['tool', 'prompt', 'resource'])
  }

  /** Removes a source; its items disappear at once. */
  remove(source: ToolSource): void {
    if (this.detach(source) !== -1) this.changed(['tool', 'prompt', 'resource'])
  }

  /** Puts `next` where `previous` was, in one swap: no request sees neither. */
  replace(previous: ToolSource, next: ToolSource): void {
    const at = this.detach(previous)
    if (at === -1) return this.add(next)
    this.attach(next)
    const wrapped = this.sources.pop()!
    this.sources.splice(at, 0, wrapped)
    this.changed(['tool', 'prompt', 'resource'])
  }

  /** Rebuilds every index: the redactor changed (a new runtime), so every list is redacted again. */
  refresh(): void {
    this.changed(['tool', 'prompt', 'resource'])
  }

  private changed(kinds: ItemKind[]): void {
    this.version++
    this.index = this.build(undefined, true)
    for (const kind of kinds) for (const listener of this.listeners) listener(kind)
  }

  /**
   * The sources whose resources are served: each up to the first that has not listed yet, which
   * may still claim the URIs that later ones offer.
   */
  private resourceSources(): ToolSource[] {
    const out: ToolSource[] = []
    for (const source of this.sources) {
      out.push(source)
      if (source.listedOnce === false) break
    }
    return out
  }

  /**
   * Sources listed first win a name collision; the loser is logged (once), not served. A
   * resource URI belongs to the first source that lists it or has a template matching it: a
   * later source cannot take it over, whichever started or listed first (docs/gateway.md).
   */
  private build(session: ClientSession | undefined, log: boolean): Index {
    const next: Index = {tool: new Map(), prompt: new Map(), resource: new Map(), paramHeaders: new Map(), views: new WeakMap()}
    const owner = new Map<string, string>()
    const serving = this.resourceSources()
    const withTemplates: ToolSource[] = []
    for (const source of this.sources) {
      const resources = serving.includes(source) ? source.resources(session) : []
      const items: CatalogItem[] = [...source.tools(session), ...source.prompts(session), ...resources]
      for (const item of items) {
        const map = next[item.kind] as Map<string, CatalogItem>
        const key = keyOf(item)
        const kept = owner.get(`${item.kind}\0${key}`) ?? (item.kind === 'resource' ? withTemplates.find((s) => s.resourceFor?.(key))?.name : undefined)
        if (kept !== undefined) {
          if (log) this.collision(item.kind, key, kept, source.name)
          continue
        }
        owner.set(`${item.kind}\0${key}`, source.name)
        map.set(key, item)
        if (item.kind === 'tool') {
          const declared = paramHeadersOf(item.descriptor.inputSchema)
          if (declared.length > 0) next.paramHeaders.set(key, declared)
        }
      }
      if (serving.includes(source) && (source.resourceTemplates?.().length ?? 0) > 0) withTemplates.push(source)
    }
    return next
  }

  /** Logs a collision the first time it is seen (the catalog is rebuilt at every change of any source). */
  private collision(kind: ItemKind, key: string, kept: string, dropped: string): void {
    const id = `${kind}\0${key}\0${kept}\0${dropped}`
    if (this.logged.has(id) || this.logged.size >= MAX_LOGGED_COLLISIONS) return
    this.logged.add(id)
    this.onCollision(kind, key, kept, dropped)
  }

  /** The index a session sees: its own when a source has items for it, else the shared one. */
  private indexFor(session: ClientSession | undefined): Index {
    if (!session || !this.sources.some((s) => s.hasSessionItems?.(session))) return this.index
    const cached = this.sessionIndexes.get(session)
    if (cached && cached.version === this.version) return cached.index
    const index = this.build(session, false)
    this.sessionIndexes.set(session, {version: this.version, index})
    return index
  }

  onChange(listener: (kind: ItemKind) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** What these scopes allow of one kind, as listed to the client; cached per scope set until the catalog changes. */
  list(kind: 'tool', scopes: ScopeSet, session?: ClientSession): Tool[]
  list(kind: 'prompt', scopes: ScopeSet, session?: ClientSession): Prompt[]
  list(kind: 'resource', scopes: ScopeSet, session?: ClientSession): Resource[]
  list(kind: ItemKind, scopes: ScopeSet, session?: ClientSession): Descriptor[]
  list(kind: ItemKind, scopes: ScopeSet, session?: ClientSession): Descriptor[] {
    const index = this.indexFor(session)
    let views = index.views.get(scopes)
    if (!views) index.views.set(scopes, (views = {}))
    const cached = views[kind]
    if (cached) return cached
    const list: Descriptor[] = []
    for (const [key, item] of index[kind] as Map<string, CatalogItem>) if (scopes.allows(kind as ScopeKind, key)) list.push(item.descriptor)
    views[kind] = list
    return list
  }

  /** The item, if it exists and these scopes allow it. Callers cannot tell the two misses apart. */
  find(kind: 'tool', scopes: ScopeSet, name: string, session?: ClientSession): SourceTool | undefined
  find(kind: 'prompt', scopes: ScopeSet, name: string, session?: ClientSession): SourcePrompt | undefined
  find(kind: 'resource', scopes: ScopeSet, uri: string, session?: ClientSession): SourceResource | undefined
  find(kind: ItemKind, scopes: ScopeSet, name: string, session?: ClientSession): CatalogItem | undefined
  find(kind: ItemKind, scopes: ScopeSet, name: string, session?: ClientSession): CatalogItem | undefined {
    if (!scopes.allows(kind as ScopeKind, name)) return undefined
    const item = (this.indexFor(session)[kind] as Map<string, CatalogItem>).get(name)
    if (item || kind !== 'resource') return item
    // A URI no listed resource has may still match a source's resource template.
    for (const source of this.resourceSources()) {
      const found = source.resourceFor?.(name)
      if (found) return found
    }
    return undefined
  }

  /**
   * The arguments a tool mirrors into `Mcp-Param-*` headers (SEP-2243), if these scopes allow
   * the tool and it declares any. 2026-07-28 requests only, which have no session: the shared index.
   */
  paramHeaders(scopes: ScopeSet, name: string): readonly ParamHeader[] | undefined {
    const declared = this.index.paramHeaders.get(name)
    return declared && scopes.allows('tool', name) ? declared : undefined
  }

  /** Resource templates whose template text these scopes allow (`resource:file:///**` allows `file:///{path}`). */
  templates(scopes: ScopeSet): ResourceTemplate[] {
    const out: ResourceTemplate[] = []
    for (const source of this.resourceSources()) for (const t of source.resourceTemplates?.() ?? []) if (scopes.allows('resource', t.uriTemplate)) out.push(t)
    return out
  }

  /** The source with this resource template, if the scopes allow it. */
  templateSource(scopes: ScopeSet, uriTemplate: string): ToolSource | undefined {
    if (!scopes.allows('resource', uriTemplate)) return undefined
    return this.resourceSources().find((s) => s.resourceTemplates?.().some((t) => t.uriTemplate === uriTemplate))
  }

  /** The source that offers this item, for requests that name it (completion). */
  sourceOf(item: CatalogItem, session?: ClientSession): ToolSource | undefined {
    const found = this.sources.find((s) => (item.kind === 'tool' ? s.tools(session) : item.kind === 'prompt' ? s.prompts(session) : s.resources(session)).includes(item as never))
    return found ?? (item.kind === 'resource' ? this.resourceSources().find((s) => s.resourceFor?.(item.descriptor.uri)) : undefined)
  }

  /** Every name of a kind, whatever the scopes. */
  names(kind: ItemKind): string[] {
    return [...(this.index[kind] as Map<string, CatalogItem>).keys()]
  }
}
