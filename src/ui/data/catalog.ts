/**
 * What the keys' scopes are checked against: the built-in tools, and each upstream's tools and
 * prompts as clients are served them, which are its pinned definitions in the vault (serve's pin
 * gate holds back anything not approved), under the names clients see. Resources are not
 * pinned: they come from the last look at the upstream. An upstream with no pins yet is known
 * from a look only.
 *
 * A look starts or connects to the upstream once, as `upstream test` does (same environment,
 * private HOME and sandbox), and is kept until the next one; one asked for on the page also
 * records what it saw against the pins, as `upstream test` does.
 */
import {checkIsolation} from '../../cli/pins.js'
import type {Session} from '../../cli/session.js'
import {withUpstreamFetch} from '../../cli/upstream-tokens.js'
import {KeywardError} from '../../errors/index.js'
import {checkScopeSet, expandScopes, ScopeSet, type Kind} from '../../policy/index.js'
import type {UpstreamContext} from '../../server/gateway/resolve.js'
import {exposedName} from '../../server/gateway/naming.js'
import {findUpstream, upstreamsOf, vaultRedactor, type UpstreamDefinition} from '../../upstreams/index.js'
import {pinsFor} from '../../upstreams/pin-store.js'
import type {FetchLike} from '../../upstreams/oauth/index.js'
import type {Listing} from '../../upstreams/pins.js'
import type {VaultData} from '../../vault/index.js'
import type {Items, Preview, UpstreamState} from '../wire.js'

export type {Items, Preview, UpstreamState} from '../wire.js'

const TIMEOUT_MS = 30_000

interface Look {
  state: UpstreamState
  listing?: Listing
}

/** Starts or connects to the upstream once and lists what it offers, as `upstream test` does (an upstream that takes OAuth with its tokens, through `session`). */
async function look(def: UpstreamDefinition, data: VaultData, version: string, context: UpstreamContext, session: Session | undefined): Promise<Look> {
  const testedAt = new Date().toISOString()
  try {
    await checkIsolation(def)
    const {probeUpstream} = await import('../../server/gateway/probe.js')
    const probe = (fetch?: FetchLike) => probeUpstream(def, data, {timeoutMs: TIMEOUT_MS, version, log: () => {}, context, fetch})
    const r = session ? await withUpstreamFetch(session, def, data, undefined, probe) : await probe()
    const items = {tools: r.tools, prompts: r.prompts, resources: r.resourceUris}
    return {state: {name: def.name, state: 'ready', ms: Math.round(r.ms), server: r.server, items, testedAt, definition: def.updated}, listing: r.listing}
  } catch (err) {
    return {state: {name: def.name, state: 'failed', error: vaultRedactor(data).text((err as Error).message), testedAt, definition: def.updated}}
  }
}

/** The pinned tools and prompts of an upstream (what serve serves of it), or undefined before its first pins. */
function pinnedItems(data: VaultData, def: UpstreamDefinition): {tools: string[]; prompts: string[]} | undefined {
  const pins = pinsFor(data, def.name)
  const present = Object.values(pins?.items ?? {}).filter((p) => !p.missingSince)
  if (present.length === 0) return undefined
  const prefix = def.prefix ? def.name : undefined
  const named = (kind: string) => present.filter((p) => p.kind === kind).map((p) => exposedName(prefix, p.name))
  return {tools: named('tool'), prompts: named('prompt')}
}

export class CatalogSource {
  private readonly states = new Map<string, UpstreamState>()
  private readonly inFlight = new Map<string, Promise<Look>>()
  private builtins?: string[]

  constructor(
    private readonly version: string,
    private readonly context: UpstreamContext,
    /** The console's session: what renews an upstream's OAuth tokens for a look. */
    private readonly session?: Session,
  ) {}

  /** Each upstream's last known state (those never tested yet, or changed since, as untested). */
  list(data: VaultData): UpstreamState[] {
    return [...upstreamsOf(data).values()]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((def) => {
        const known = this.states.get(def.name)
        return known && (known.definition === def.updated || known.state === 'testing') ? known : {name: def.name, state: 'untested' as const}
      })
  }

  /** Looks at one upstream now (or joins the look under way); `record` then gets what it listed. */
  async test(data: VaultData, name: string, record?: (listing: Listing) => Promise<unknown>): Promise<UpstreamState> {
    const def = findUpstream(data, name)
    let running = this.inFlight.get(def.name)
    if (!running) {
      this.states.set(def.name, {...(this.states.get(def.name) ?? {name: def.name}), state: 'testing'})
      running = look(def, data, this.version, this.context, this.session).finally(() => this.inFlight.delete(def.name))
      this.inFlight.set(def.name, running)
    }
    const {state, listing} = await running
    this.states.set(def.name, state)
    if (record && listing) await record(listing)
    return state
  }

  /** Looks at every upstream not looked at yet (or changed since); resolves when all have answered. */
  async testUntested(data: VaultData): Promise<void> {
    await Promise.all(this.list(data).filter((s) => s.state === 'untested' || s.state === 'testing').map((s) => this.test(data, s.name)))
  }

  /** Everything a scope can match: the built-in tools, and each upstream's pinned items (else its last look). */
  async items(data: VaultData): Promise<Items & {untested: string[]}> {
    this.builtins ??= (await import('../../server/tools/builtin/index.js')).builtinTools.map((t) => t.name)
    const out = {tools: [...this.builtins], prompts: [] as string[], resources: [] as string[], untested: [] as string[]}
    const states = new Map(this.list(data).map((s) => [s.name, s]))
    for (const def of upstreamsOf(data).values()) {
      const looked = states.get(def.name)?.items
      const served = pinnedItems(data, def) ?? looked
      if (!served) out.untested.push(def.name)
      out.tools.push(...(served?.tools ?? []))
      out.prompts.push(...(served?.prompts ?? []))
      out.resources.push(...(looked?.resources ?? []))
    }
    return out
  }
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
