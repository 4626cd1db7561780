/**
 * An upstream MCP server as a tool source. A shared connection lists what the upstream offers
 * (tools, prompts, resources, resource templates), follows its list_changed notifications, and
 * serves the calls of stdio and stateless clients. Each stateful HTTP session gets a connection
 * of its own on first use (one upstream process, or one upstream MCP session, per client
 * session), so session state (subscriptions, log level, roots, a request the upstream makes of
 * the client) never crosses from one client to another. See docs/gateway.md.
 */
import type {Client} from '@modelcontextprotocol/client'
import type {
  CallToolResult,
  ClientCapabilities,
  CompleteRequest,
  CompleteResult,
  GetPromptResult,
  LoggingLevel,
  Prompt,
  ReadResourceResult,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/server'

import {linearRegExp, type LinearRegExp} from '../../guard/linear-regex.js'
import type {Redactor} from '../../guard/redactor.js'
import type {UpstreamDefinition} from '../../upstreams/index.js'
import {needsLoginIn} from '../../upstreams/oauth/index.js'
import type {Logger} from '../log.js'
import {Refusal, RPC} from '../refusal.js'
import type {CallEnv, ClientSession, ItemKind, SourcePrompt, SourceResource, SourceTool, ToolSource} from '../tools/source.js'
import type {PinKind} from '../../upstreams/pins.js'
import {UpstreamLink, UpstreamUnavailable, type Resolved} from './link.js'
import {exposedName} from './naming.js'
import type {ItemGate} from './pin-gate.js'

/** How long a call waits for an upstream that is (re)starting before it is told to try again. */
const CALL_WAIT_MS = 10_000
/** A tool call may run this long, and longer while it reports progress. */
const CALL_TIMEOUT_MS = 5 * 60_000
/** At most this many per-session connections per upstream; the least recently used idle one makes room. */
export const MAX_SESSION_LINKS = 32
const MAX_ITEMS = 10_000

export interface UpstreamSourceOptions {
  def: UpstreamDefinition
  resolve(): Resolved
  version: string
  log: Logger
  /** Stateful HTTP: one connection per client session. Otherwise the shared one serves calls too. */
  sessionLinks: boolean
  /** The one client session of a stdio server, which the shared connection relays to. */
  defaultSession(): ClientSession | undefined
  /** Decides which listed tools, prompts and templates may be served (the pins); everything when absent. */
  gate?: ItemGate
  /** What the upstream prints passes through it before it is logged. */
  logRedactor(): Redactor
}

interface Items {
  /** What the upstream listed, before the pin gate. */
  raw: {tool: Tool[]; prompt: Prompt[]; template: ResourceTemplate[]}
  /** What clients get: the raw lists as the gate admits them. */
  tool: SourceTool[]
  prompt: SourcePrompt[]
  resource: SourceResource[]
  templates: ResourceTemplate[]
  /** Exposed name -> the upstream's own name. */
  originals: {tool: Map<string, string>; prompt: Map<string, string>}
}

function noItems(): Items {
  return {raw: {tool: [], prompt: [], template: []}, tool: [], prompt: [], resource: [], templates: [], originals: {tool: new Map(), prompt: new Map()}}
}

/** The pin kind each item kind's listing carries (resources: their templates). */
const PIN_KIND_OF: Record<ItemKind, PinKind> = {tool: 'tool', prompt: 'prompt', resource: 'template'}
const ITEM_KINDS: readonly ItemKind[] = ['tool', 'prompt', 'resource']

interface SessionState {
  link: UpstreamLink
  /** What this session's own connection lists, once it has listed. */
  items?: Items
}

/** The capabilities a connection declares upstream: what the client behind it can do. */
function relayCapabilities(client: ClientCapabilities | undefined): ClientCapabilities {
  const caps: ClientCapabilities = {}
  if (client?.sampling) caps.sampling = client.sampling
  if (client?.elicitation) caps.elicitation = client.elicitation
  if (client?.roots) caps.roots = {listChanged: true}
  return caps
}

function strip(message: string): string {
  return message.replace(/^MCP error -?\d+: /, '')
}

export class UpstreamSource implements ToolSource {
  readonly name: string
  private readonly shared: UpstreamLink
  private readonly sessions = new Map<ClientSession, SessionState>()
  private items: Items = noItems()
  private readonly listeners = new Set<(kind: ItemKind) => void>()
  private sharedLevel?: LoggingLevel
  /** The log level each session asked for, kept until (and after) its connection starts. */
  private readonly sessionLevels = new WeakMap<ClientSession, LoggingLevel>()
  /** Settles once the first listing is done, or the first start failed. */
  readonly firstList: Promise<void>
  private listed!: () => void
  listedOnce = false

  constructor(private readonly options: UpstreamSourceOptions) {
    this.name = options.def.name
    this.firstList = new Promise((resolve) => {
      this.listed = () => {
        if (this.listedOnce) return
        this.listedOnce = true
        resolve()
        // The catalog holds back the resources of later upstreams until this one has listed (or failed to).
        this.changed('resource')
      }
    })
    this.shared = new UpstreamLink({
      def: options.def,
      resolve: options.resolve,
      version: options.version,
      log: options.log,
      logRedactor: options.logRedactor,
      // Its callers are not known when it starts (the stdio client, stateless clients, and in every mode 2026-07-28 clients,
      // which have no session): offer what a relay may need; a request no caller can serve is refused.
      capabilities: {sampling: {}, elicitation: {}, roots: {listChanged: true}},
      relay: () => (options.sessionLinks ? undefined : options.defaultSession()?.channel),
      onListChanged: (kind) => void this.relist(kind, this.shared, this.items),
      onConnected: async (client) => {
        await this.listAll(client, this.items)
        for (const kind of ITEM_KINDS) this.changed(kind)
        this.listed()
      },
      logLevel: () => this.sharedLevel,
    })
    void this.shared.client(60_000).then(
      () => this.listed(),
      () => this.listed(),
    )
  }

  start(): void {
    this.shared.start()
  }

  get prefix(): string | undefined {
    return this.options.def.prefix ? this.options.def.name : undefined
  }

  private itemsFor(session: ClientSession | undefined): Items {
    return (session && this.sessions.get(session)?.items) || this.items
  }

  hasSessionItems(session: ClientSession): boolean {
    return this.sessions.get(session)?.items !== undefined
  }

  tools(session?: ClientSession): readonly SourceTool[] {
    return this.itemsFor(session).tool
  }

  prompts(session?: ClientSession): readonly SourcePrompt[] {
    return this.itemsFor(session).prompt
  }

  resources(session?: ClientSession): readonly SourceResource[] {
    return this.itemsFor(session).resource
  }

  resourceTemplates(): readonly ResourceTemplate[] {
    return this.items.templates
  }

  onChange(listener: (kind: ItemKind) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private changed(kind: ItemKind): void {
    for (const listener of this.listeners) listener(kind)
  }

  // ---- listing -------------------------------------------------------------------------------

  /** Lists everything, then puts it past the gate at once: a first use pins all kinds together. */
  private async listAll(client: Client, into: Items): Promise<void> {
    const caps = client.getServerCapabilities() ?? {}
    if (caps.tools) await this.listTools(client, into)
    if (caps.prompts) await this.listPrompts(client, into)
    if (caps.resources) await this.listResources(client, into)
    this.expose(into, ITEM_KINDS, true)
  }

  private async relist(kind: ItemKind, link: UpstreamLink, into: Items): Promise<void> {
    let client: Client
    try {
      client = await link.client(0)
    } catch {
      return
    }
    try {
      if (kind === 'tool') await this.listTools(client, into)
      else if (kind === 'prompt') await this.listPrompts(client, into)
      else await this.listResources(client, into)
      this.expose(into, [kind], true)
      this.changed(kind)
    } catch (err) {
      this.options.log('warn', `upstream ${this.name}: listing its ${kind}s failed (${strip((err as Error).message)})`)
    }
  }

  /**
   * The one place the gateway decides what of an upstream's listing clients see: the pin gate
   * admits unchanged items; a changed, new or renamed one stays out (docs/gateway.md). Returns
   * the kinds whose exposed items changed.
   */
  private expose(into: Items, kinds: readonly ItemKind[], fresh: boolean): ItemKind[] {
    const listing = Object.fromEntries(kinds.map((k) => [PIN_KIND_OF[k], into.raw[PIN_KIND_OF[k]]]))
    const admitted = this.options.gate?.admit(this.name, listing, {fresh, partial: into !== this.items})
    const allowed = (kind: PinKind, name: string) => !admitted || admitted[kind]?.has(name) === true
    const differs: ItemKind[] = []
    const names = (items: readonly {descriptor: {name: string}}[]) => items.map((i) => i.descriptor.name).join('\n')
    if (kinds.includes('tool')) {
      const before = names(into.tool)
      const originals = new Map<string, string>()
      into.tool = into.raw.tool
        .filter((tool) => allowed('tool', tool.name))
        .map((tool): SourceTool => {
          const exposed = exposedName(this.prefix, tool.name)
          originals.set(exposed, tool.name)
          return {kind: 'tool', descriptor: {...tool, name: exposed}, call: (args, env) => this.callTool(tool.name, args, env)}
        })
      into.originals.tool = originals
      if (names(into.tool) !== before) differs.push('tool')
    }
    if (kinds.includes('prompt')) {
      const before = names(into.prompt)
      const originals = new Map<string, string>()
      into.prompt = into.raw.prompt
        .filter((prompt) => allowed('prompt', prompt.name))
        .map((prompt): SourcePrompt => {
          const exposed = exposedName(this.prefix, prompt.name)
          originals.set(exposed, prompt.name)
          return {kind: 'prompt', descriptor: {...prompt, name: exposed}, get: (args, env) => this.getPrompt(prompt.name, args, env)}
        })
      into.originals.prompt = originals
      if (names(into.prompt) !== before) differs.push('prompt')
    }
    if (kinds.includes('resource')) {
      const before = into.templates.map((t) => t.name).join('\n')
      into.templates = into.raw.template.filter((template) => allowed('template', template.name))
      if (into.templates.map((t) => t.name).join('\n') !== before) differs.push('resource')
    }
    return differs
  }

  /** The upstream's pins changed (an approval, a setting): what clients see is decided again, and they are told. */
  regate(): void {
    const differs = new Set<ItemKind>(this.expose(this.items, ITEM_KINDS, false))
    for (const state of this.sessions.values()) if (state.items) for (const kind of this.expose(state.items, ITEM_KINDS, false)) differs.add(kind)
    for (const kind of differs) this.changed(kind)
  }

  private async paged<T>(fetch: (cursor?: string) => Promise<{items: T[]; nextCursor?: string}>): Promise<T[]> {
    const out: T[] = []
    let cursor: string | undefined
    for (let page = 0; page < 100 && out.length < MAX_ITEMS; page++) {
      const {items, nextCursor} = await fetch(cursor)
      out.push(...items)
      if (!nextCursor) break
      cursor = nextCursor
    }
    return out.slice(0, MAX_ITEMS)
  }

  private async listTools(client: Client, into: Items): Promise<void> {
    into.raw.tool = await this.paged<Tool>(async (cursor) => {
      const r = await client.listTools(cursor ? {cursor} : undefined)
      // The v2 client's Tool types a schema's properties as JSON values, the 1.x server's as objects: one wire shape.
      return {items: r.tools as Tool[], nextCursor: r.nextCursor}
    })
  }

  private async listPrompts(client: Client, into: Items): Promise<void> {
    into.raw.prompt = await this.paged<Prompt>(async (cursor) => {
      const r = await client.listPrompts(cursor ? {cursor} : undefined)
      return {items: r.prompts, nextCursor: r.nextCursor}
    })
  }

  private async listResources(client: Client, into: Items): Promise<void> {
    const resources = await this.paged<Resource>(async (cursor) => {
      const r = await client.listResources(cursor ? {cursor} : undefined)
      return {items: r.resources, nextCursor: r.nextCursor}
    })
    into.raw.template = await this.paged<ResourceTemplate>(async (cursor) => {
      const r = await client.listResourceTemplates(cursor ? {cursor} : undefined)
      return {items: r.resourceTemplates, nextCursor: r.nextCursor}
    }).catch(() => [])
    into.resource = resources.map((resource) => this.resourceItem(resource))
  }

  private resourceItem(descriptor: Resource): SourceResource {
    return {
      kind: 'resource',
      descriptor,
      read: (env) => this.readResource(descriptor.uri, env),
      subscribe: (env) => this.subscription('resources/subscribe', descriptor.uri, env),
      unsubscribe: (env) => this.subscription('resources/unsubscribe', descriptor.uri, env),
    }
  }

  /** A URI that no listed resource has but one of this upstream's templates matches. */
  resourceFor(uri: string): SourceResource | undefined {
    if (!this.items.templates.some((t) => templateMatches(t.uriTemplate, uri))) return undefined
    return this.resourceItem({uri, name: uri})
  }

  // ---- calls ---------------------------------------------------------------------------------

  /** The connection that serves this caller: its session's own, or the shared one. */
  private link(env: CallEnv | undefined): UpstreamLink {
    const session = env?.session
    if (!this.options.sessionLinks || !session) return this.shared
    let state = this.sessions.get(session)
    if (!state) {
      this.makeRoom()
      const entry: SessionState = {
        link: new UpstreamLink({
          def: this.options.def,
          resolve: this.options.resolve,
          version: this.options.version,
          log: this.options.log,
          logRedactor: this.options.logRedactor,
          capabilities: relayCapabilities(session.capabilities()),
          relay: () => session.channel,
          logLevel: () => this.sessionLevels.get(session),
          // The session's own connection lists what it offers, and follows its changes: its state is the session's.
          onConnected: async (client) => {
            const items = noItems()
            await this.listAll(client, items).catch(() => {})
            entry.items = items
            for (const kind of ITEM_KINDS) this.changed(kind)
          },
          onListChanged: (kind) => {
            if (entry.items) void this.relist(kind, entry.link, entry.items)
          },
        }),
      }
      state = entry
      this.sessions.set(session, entry)
      session.onClose(() => {
        if (this.sessions.get(session) === entry) this.sessions.delete(session)
        void entry.link.stop()
      })
      entry.link.start()
    }
    return state.link
  }

  private makeRoom(): void {
    if (this.sessions.size < MAX_SESSION_LINKS) return
    let oldest: [ClientSession, SessionState] | undefined
    for (const entry of this.sessions) {
      if (entry[1].link.inFlight.size > 0) continue
      if (!oldest || entry[1].link.lastUsed < oldest[1].link.lastUsed) oldest = entry
    }
    if (!oldest) throw new UpstreamUnavailable(`upstream ${this.name} serves ${MAX_SESSION_LINKS} client sessions already, all of them busy; try again shortly`)
    this.sessions.delete(oldest[0])
    void oldest[1].link.stop()
  }

  /** Runs `work` on the caller's connection, tracking it as in flight so requests it causes reach the right client. */
  private async on<T>(env: CallEnv | undefined, work: (client: Client) => Promise<T>): Promise<T> {
    const link = this.link(env)
    const client = await link.client(CALL_WAIT_MS)
    const channel = env?.client
    if (channel) link.inFlight.add(channel)
    try {
      return await work(client)
    } catch (err) {
      if (err instanceof Refusal || err instanceof UpstreamUnavailable) throw err
      const login = needsLoginIn(err)
      if (login) throw new UpstreamUnavailable(login.message)
      const e = err as {code?: unknown; message?: string; data?: unknown}
      // SERVER_ERROR is the SDK's "connection closed": the link restarts, and the caller is told which upstream.
      if (e.code === RPC.SERVER_ERROR || !Number.isInteger(e.code)) throw new UpstreamUnavailable(`upstream ${this.name} failed during the call (${strip(e.message ?? 'connection lost')})`)
      throw Refusal.fromUpstream(e.code as number, strip(e.message ?? 'upstream error'), e.data)
    } finally {
      if (channel) link.inFlight.delete(channel)
    }
  }

  private requestOptions(env: CallEnv, onprogress?: (p: {progress: number; total?: number; message?: string}) => void) {
    return {signal: env.signal, timeout: CALL_TIMEOUT_MS, resetTimeoutOnProgress: true, onprogress}
  }

  /** Progress from the upstream, passed on under the token the client chose. */
  private progressRelay(env: CallEnv) {
    const token = env.meta?.progressToken
    if ((typeof token !== 'string' && typeof token !== 'number') || !env.client) return undefined
    return (p: {progress: number; total?: number; message?: string}) =>
      void env.client!.notify({method: 'notifications/progress', params: {progressToken: token, progress: p.progress, total: p.total, message: p.message}}).catch(() => {})
  }

  private async callTool(name: string, args: Record<string, unknown>, env: CallEnv): Promise<CallToolResult> {
    try {
      return await this.on(env, (client) =>
        // No result schema: the client validates the result against its protocol era's own.
        client.request({method: 'tools/call', params: {name, arguments: args}}, this.requestOptions(env, this.progressRelay(env))) as Promise<CallToolResult>,
      )
    } catch (err) {
      // An upstream that cannot serve the call is a tool error, so the model sees which server is down.
      if (err instanceof UpstreamUnavailable) return {isError: true, content: [{type: 'text', text: `${err.message}.`}]}
      throw err
    }
  }

  private getPrompt(name: string, args: Record<string, string>, env: CallEnv) {
    return this.unavailableAsRpc(() => this.on(env, (client) => client.request({method: 'prompts/get', params: {name, arguments: args}}, this.requestOptions(env)) as Promise<GetPromptResult>))
  }

  private readResource(uri: string, env: CallEnv) {
    return this.unavailableAsRpc(() => this.on(env, (client) => client.request({method: 'resources/read', params: {uri}}, this.requestOptions(env)) as Promise<ReadResourceResult>))
  }

  private async subscription(method: 'resources/subscribe' | 'resources/unsubscribe', uri: string, env: CallEnv): Promise<void> {
    await this.unavailableAsRpc(() =>
      this.on(env, async (client) => {
        if (!client.getServerCapabilities()?.resources?.subscribe) throw Refusal.notSupported(`upstream ${this.name} does not support resource subscriptions`)
        // 2026-07-28 has no resources/subscribe: updates come on a subscriptions/listen stream, not bridged yet.
        if (client.getProtocolEra() === 'modern') throw Refusal.notSupported(`upstream ${this.name} speaks MCP 2026-07-28, whose resource subscriptions keyward does not pass on yet`)
        await (method === 'resources/subscribe' ? client.subscribeResource({uri}) : client.unsubscribeResource({uri}))
      }),
    )
  }

  /** completion/complete for a prompt (by its exposed name) or a resource of this upstream. */
  async complete(params: CompleteRequest['params'], env: CallEnv): Promise<CompleteResult> {
    const originals = this.itemsFor(env.session).originals
    const ref = params.ref.type === 'ref/prompt' ? {...params.ref, name: originals.prompt.get(params.ref.name) ?? params.ref.name} : params.ref
    return this.unavailableAsRpc(() =>
      this.on(env, async (client) => {
        if (!client.getServerCapabilities()?.completions) return {completion: {values: []}}
        return client.request({method: 'completion/complete', params: {...params, ref}}, this.requestOptions(env)) as Promise<CompleteResult>
      }),
    )
  }

  /** logging/setLevel from a client: remembered for its connection (and sent again after a restart). */
  async setLogLevel(level: LoggingLevel, session: ClientSession | undefined): Promise<void> {
    if (this.options.sessionLinks && session) this.sessionLevels.set(session, level)
    else this.sharedLevel = level
    const link = this.options.sessionLinks && session ? this.sessions.get(session)?.link : this.shared
    if (!link?.ready) return
    const client = await link.client(0)
    // A 2026-07-28 upstream takes no session log level (it is per request there).
    if (client.getProtocolEra() === 'legacy' && client.getServerCapabilities()?.logging) await client.setLoggingLevel(level).catch(() => {})
  }

  /** The client's roots changed: its connection (if it has one) tells the upstream. */
  async rootsChanged(session: ClientSession | undefined): Promise<void> {
    const link = this.options.sessionLinks && session ? this.sessions.get(session)?.link : this.shared
    if (!link?.ready) return
    const client = await link.client(0)
    if (client.getProtocolEra() === 'legacy') await client.sendRootsListChanged().catch(() => {})
  }

  private async unavailableAsRpc<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      if (err instanceof UpstreamUnavailable) throw Refusal.upstreamUnavailable(err.message)
      throw err
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.shared.stop(), ...[...this.sessions.values()].map((s) => s.link.stop())])
    this.sessions.clear()
  }
}

/** Compiled templates, by template text; bounded, as an upstream chooses them. */
const templateCache = new Map<string, LinearRegExp>()

/**
 * RFC 6570 level 1 matching, enough to route a URI: literals must match, `{var}` takes any run
 * of characters. Linear time (re2js): the template is an upstream's and the URI a client's, and
 * `{+a}{+b}{+c}…` would be polynomial in a backtracking engine.
 */
export function templateMatches(template: string, uri: string): boolean {
  let re = templateCache.get(template)
  if (!re) {
    const pattern = template
      .split(/(\{[^}]*\})/)
      .map((part) => (part.startsWith('{') ? (part.startsWith('{+') || part.startsWith('{/') ? '.*' : '[^/?#]*') : part.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')))
      .join('')
    try {
      re = linearRegExp(`^${pattern}$`)
    } catch {
      re = {test: () => false}
    }
    if (templateCache.size >= 10_000) templateCache.clear()
    templateCache.set(template, re)
  }
  return re.test(uri)
}
