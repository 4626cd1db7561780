/**
 * What the keys' scopes are checked against: the built-in tools, and each upstream's tools,
 * prompts and resources under the names clients see. Upstreams are asked the way `upstream
 * test` asks them (started or connected to once), and the answer is kept until asked again.
 *
 * SEAM(pins): once upstream definitions are pinned in the vault, `upstreamItems` reads the pins
 * instead of starting the upstream; nothing else here changes.
 */
import {KeywardError} from '../../errors/index.js'
import {Redactor} from '../../guard/redactor.js'
import {expandScopes, checkScopeSet, ScopeSet, type Kind} from '../../policy/index.js'
import {findUpstream, upstreamsOf, type UpstreamDefinition} from '../../upstreams/index.js'
import type {VaultData} from '../../vault/index.js'

export interface Items {
  tools: string[]
  prompts: string[]
  resources: string[]
}

export interface UpstreamState {
  name: string
  state: 'untested' | 'testing' | 'ready' | 'failed'
  ms?: number
  server?: {name: string; version: string}
  items?: Items
  /** The last failure, with every vault secret redacted. */
  error?: string
  testedAt?: string
  /** The definition tested (its `updated` time): a changed definition counts as untested. */
  definition?: string
}

const TIMEOUT_MS = 30_000

/** One upstream's items, as clients would see them. The one function to switch to pinned definitions. */
async function upstreamItems(def: UpstreamDefinition, data: VaultData, version: string): Promise<{ms: number; server?: {name: string; version: string}; items: Items}> {
  const {probeUpstream} = await import('../../server/gateway/probe.js')
  const r = await probeUpstream(def, data, {timeoutMs: TIMEOUT_MS, version, log: () => {}})
  return {ms: r.ms, server: r.server, items: {tools: r.tools, prompts: r.prompts, resources: r.resourceUris}}
}

export class CatalogSource {
  private readonly states = new Map<string, UpstreamState>()
  private readonly inFlight = new Map<string, Promise<UpstreamState>>()
  private builtins?: string[]

  constructor(private readonly version: string) {}

  /** Each upstream's last known state (those never tested yet, or changed since, as untested). */
  list(data: VaultData): UpstreamState[] {
    return [...upstreamsOf(data).values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((def) => {
        const known = this.states.get(def.name)
        return known && (known.definition === def.updated || known.state === 'testing') ? known : {name: def.name, state: 'untested' as const}
      })
  }

  /** Tests one upstream now (or joins the test under way). */
  test(data: VaultData, name: string): Promise<UpstreamState> {
    const def = findUpstream(data, name)
    let running = this.inFlight.get(def.name)
    if (running) return running
    this.states.set(def.name, {...(this.states.get(def.name) ?? {name: def.name}), state: 'testing'})
    running = (async (): Promise<UpstreamState> => {
      const testedAt = new Date().toISOString()
      try {
        const r = await upstreamItems(def, data, this.version)
        return {name: def.name, state: 'ready', ms: Math.round(r.ms), server: r.server, items: r.items, testedAt, definition: def.updated}
      } catch (err) {
        const pairs: [string, string][] = [...data.secrets].map(([n, s]) => [n, s.value.toString('utf8')])
        return {name: def.name, state: 'failed', error: new Redactor(pairs).text((err as Error).message), testedAt, definition: def.updated}
      }
    })().then((state) => {
      this.states.set(def.name, state)
      this.inFlight.delete(def.name)
      return state
    })
    this.inFlight.set(def.name, running)
    return running
  }

  /** Tests every upstream not tested yet (or changed since); resolves when all have answered. */
  async testUntested(data: VaultData): Promise<void> {
    await Promise.all(this.list(data).filter((s) => s.state === 'untested' || s.state === 'testing').map((s) => this.test(data, s.name)))
  }

  /** Everything a scope can match: the built-in tools and what each tested upstream offers. */
  async items(data: VaultData): Promise<Items & {untested: string[]}> {
    this.builtins ??= (await import('../../server/tools/builtin/index.js')).builtinTools.map((t) => t.name)
    const out = {tools: [...this.builtins], prompts: [] as string[], resources: [] as string[], untested: [] as string[]}
    for (const state of this.list(data)) {
      if (!state.items) {
        out.untested.push(state.name)
        continue
      }
      out.tools.push(...state.items.tools)
      out.prompts.push(...state.items.prompts)
      out.resources.push(...state.items.resources)
    }
    return out
  }
}

export interface Preview {
  /** The scopes as they would be stored (presets expanded). */
  scopes: string[]
  /** Why they cannot be stored, if they cannot. */
  error?: string
  tools: {name: string; allowed: boolean}[]
  prompts: {name: string; allowed: boolean}[]
  resources: {name: string; allowed: boolean}[]
  /** Upstreams whose items are not known (not tested, or failed). */
  untested: string[]
}

/** Which items `scopes` would allow: the same ScopeSet check serve makes. */
export function previewScopes(scopes: string[], items: Items & {untested: string[]}): Preview {
  let expanded: string[]
  try {
    expanded = expandScopes(scopes)
    checkScopeSet(expanded)
  } catch (err) {
    if (err instanceof KeywardError) return {scopes: [], error: err.message, tools: [], prompts: [], resources: [], untested: items.untested}
    throw err
  }
  const set = new ScopeSet(expanded)
  const check = (kind: Kind, names: string[]) => [...new Set(names)].sort().map((name) => ({name, allowed: set.allows(kind, name)}))
  return {scopes: expanded, tools: check('tool', items.tools), prompts: check('prompt', items.prompts), resources: check('resource', items.resources), untested: items.untested}
}
