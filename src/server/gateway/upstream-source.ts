/**
 * An upstream MCP server as a tool source. Its connections (connections.ts: one shared, or one
 * per key or per client session, as its isolation says) serve the calls; the shared one lists
 * what the upstream offers (tools, prompts, resources, resource templates) and follows its
 * list_changed notifications, and a connection of a key or session lists what it offers for the
 * sessions it serves. Every listing passes the pin gate before a client sees it. What the
 * upstream sends towards clients is routed by each connection's traffic (traffic.ts). See
 * docs/gateway.md.
 */
import type {Client, RequestOptions} from '@modelcontextprotocol/client'
import type {
  CallToolResult,
  CompleteRequest,
  CompleteResult,
  GetPromptResult,
  LoggingLevel,
  ReadResourceResult,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  Tool,
} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'
import {linearRegExp, type LinearRegExp} from '../../regex/linear-regex.js'
import type {Redactor} from '../../guard/redactor.js'
import type {UpstreamDefinition} from '../../upstreams/index.js'
import {needsLoginIn} from '../../upstreams/oauth/index.js'
import {pinnedFields, type PinKind} from '../../upstreams/pins.js'
import {withoutServerIdentity} from '../era/complete.js'
import type {Logger} from '../log.js'
import {isJsonRpcError, Refusal} from '../refusal.js'
import type {CallEnv, ClientSession, ItemKind, SourcePrompt, SourceResource, SourceTool, ToolSource} from '../tools/source.js'
import {boundedCall} from './call-bounds.js'
import {Connections, type Connection, type ProcessBudget, type ServeMode} from './connections.js'
import {callModern, type ModernCall} from './input.js'
import {cleanText, UpstreamUnavailable, type Resolved} from './link.js'
import {cutText, ITEM_KINDS, listAll, listKind, noListing, PIN_KIND_OF, type ListingCut, type ListingRefusal, type RawListing} from './listing.js'
import {exposedName} from './naming.js'
import type {ItemGate} from './pin-gate.js'
import {FAILED_LISTINGS, OutputBudget, upstreamOutput} from './output-budget.js'

/** How long a call waits for an upstream that is (re)starting before it is told to try again. */
const CALL_WAIT_MS = 10_000
/**
 * The least time from one listing of a kind on a connection to the next. An upstream that says
 * its list changed after every listing (hostile, or broken) would otherwise be listed as fast as
 * it answers, each listing spending keyward's time (the pin gate, the catalog) and, when it
 * fails, a line of the log: now at most five a second, the changes said meanwhile taken together.
 */
const RELIST_GAP_MS = 200

/** Waits `ms` (nothing when not positive); the wait alone does not keep keyward running. */
function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms).unref()) : Promise.resolve()
}

export type {ServeMode} from './connections.js'

/** A session's subscription to a resource (who the session is, the gateway's principals know). */
export interface HeldSubscription {
  uri: string
  session: ClientSession
}

export interface UpstreamSourceOptions {
  def: UpstreamDefinition
  resolve(): Resolved
  version: string
  log: Logger
  mode: ServeMode
  /** stdio: the one client session, once its client has initialized; `stdioReady` settles then. */
  stdioSession?: () => ClientSession | undefined
  stdioReady?: Promise<void>
  /** upstream.max-processes, counted over every upstream. */
  budget: ProcessBudget
  /** upstream.max-call-duration, as the newest runtime has it: the longest a call may run, progress or not (call-bounds.ts). */
  maxCallMs(): number
  /** Decides which listed tools, prompts and templates may be served (the pins); everything when absent. */
  gate?: ItemGate
  /** What the upstream prints passes through it before it is logged. */
  logRedactor(): Redactor
  /** The principal as it stands now, none once it is no longer valid (Authenticators.current): what a subscription is held to. */
  current(principal: Principal): Principal | undefined
  /**
   * The principal of each session's latest request to any upstream, kept by the gateway for all of
   * them: a source that starts later (a restart, an upstream added) knows at once whom it serves.
   */
  principals: SessionPrincipals
}

/** Each client session's latest principal (see UpstreamSourceOptions.principals). */
export type SessionPrincipals = WeakMap<ClientSession, Principal>

interface Items {
  /** What the upstream listed, before the pin gate. */
  raw: RawListing
  /** What clients get: the raw lists as the gate admits them. */
  tool: SourceTool[]
  prompt: SourcePrompt[]
  resource: SourceResource[]
  templates: ResourceTemplate[]
  /** Exposed name -> the upstream's own name. */
  originals: {tool: Map<string, string>; prompt: Map<string, string>}
}

function noItems(): Items {
  return {raw: noListing(), tool: [], prompt: [], resource: [], templates: [], originals: {tool: new Map(), prompt: new Map()}}
}

function strip(message: string): string {
  return message.replace(/^MCP error -?\d+: /, '')
}

/**
 * What a failed request to the upstream becomes: its own JSON-RPC error passes through (code,
 * message, data; the redacting wrapper redacts them); a lost connection or a timeout says which
 * upstream failed (an HTTP upstream's transport closed under a call, by a restart after a new
 * login, among them: isJsonRpcError says why that is not the upstream's answer).
 */
export function upstreamError(name: string, err: unknown): unknown {
  if (err instanceof Refusal || err instanceof UpstreamUnavailable) return err
  const login = needsLoginIn(err)
  if (login) return new UpstreamUnavailable(login.message)
  if (isJsonRpcError(err)) return Refusal.fromUpstream(err.code, strip(err.message), err.data)
  const e = err as {message?: string} | undefined
  return new UpstreamUnavailable(`upstream ${name} failed during the call (${strip(e?.message ?? 'connection lost')})`)
}

export class UpstreamSource implements ToolSource {
  readonly name: string
  /**
   * The principal of each session's latest request (a list, a call, a subscribe,
   * logging/setLevel), shared by every source of the gateway: what its subscriptions are held to
   * (mayRead; made again under it by adoptSubscriptions) and whose scopes decide what it may hear
   * outside its calls (mayHear).
   */
  private readonly principals: SessionPrincipals
  /** The URIs each session has still to be subscribed to by adoptSubscriptions: an unsubscribe meanwhile takes its URI out, so that it is not made again after. */
  private readonly adopting = new WeakMap<ClientSession, Set<string>>()
  /** offersAny's answers, per listing: the lists they were made of, and one answer per scope set. */
  private readonly offering = new WeakMap<Items, {tool: readonly SourceTool[]; prompt: readonly SourcePrompt[]; resource: readonly SourceResource[]; by: WeakMap<Principal['scopes'], boolean>}>()
  /** The source that took this one's subscriptions over (handOver). */
  private successor?: UpstreamSource
  private readonly connections: Connections
  private items: Items = noItems()
  /** What each key or session connection lists, once it has. */
  private readonly own = new WeakMap<Connection, Items>()
  /**
   * The listings again, per connection and kind: whether one is in flight (or waiting its turn),
   * `again` when a list_changed came meanwhile, and when the last one began. An upstream chooses
   * how often it says its lists changed, and whether it answers at all: a notification costs at
   * most one listing after the one in flight, never a request of its own, and none starts within
   * RELIST_GAP_MS of the one before, whether the notification came during it or after it.
   */
  private readonly relisting = new WeakMap<Connection, Map<ItemKind, {busy: boolean; again: boolean; started: number}>>()
  /** How many of the listings that failed after a list change are logged (the upstream chooses how often it says one changed). */
  private readonly failedListings: OutputBudget
  private readonly listeners = new Set<(kind: ItemKind) => void>()
  /** The lists whose cut (or tools left out) the operator was told of: once each, however often the upstream has them listed again. */
  private readonly cutsTold = new Set<string>()
  /** Settles once the first listing is done, or the first start failed. */
  readonly firstList: Promise<void>
  private listed!: () => void
  listedOnce = false

  constructor(private readonly options: UpstreamSourceOptions) {
    this.name = options.def.name
    this.failedListings = new OutputBudget(options.def.name, options.log, FAILED_LISTINGS)
    this.principals = options.principals
    this.firstList = new Promise((resolve) => {
      this.listed = () => {
        if (this.listedOnce) return
        this.listedOnce = true
        resolve()
        // The catalog holds back the resources of later upstreams until this one has listed (or failed to).
        this.changed('resource')
      }
    })
    const {def, resolve, version, log, logRedactor} = options
    this.connections = new Connections({
      def,
      mode: options.mode,
      log,
      stdioSession: options.stdioSession,
      budget: options.budget,
      // Its output (stderr, warnings about its stdout) is held to budgets, however many connections it runs on.
      link: {def, resolve, version, log, logRedactor, output: upstreamOutput(def.name, log)},
      onConnected: (connection, client) => this.connected(connection, client),
      onListChanged: (connection, kind) => void this.relist(kind, connection),
      mayRead: (session, uri) => this.mayRead(session, uri),
      mayHear: (session) => this.mayHear(session),
    })
    void this.connections.shared.listed.then(() => this.listed())
  }

  /** Starts the shared connection; over stdio, once the client has said what it can do (what the upstream is told). */
  start(): void {
    const shared = this.connections.shared.link
    if (this.options.stdioReady) void this.options.stdioReady.then(() => shared.start())
    else shared.start()
  }

  get prefix(): string | undefined {
    return this.options.def.prefix ? this.options.def.name : undefined
  }

  private itemsOf(connection: Connection): Items | undefined {
    return connection === this.connections.shared ? this.items : this.own.get(connection)
  }

  private itemsFor(session: ClientSession | undefined): Items {
    const connection = this.connections.listingOf(session)
    return (connection && this.own.get(connection)) || this.items
  }

  hasSessionItems(session: ClientSession): boolean {
    const connection = this.connections.listingOf(session)
    return connection !== undefined && this.own.has(connection)
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

  /**
   * A session is about to list or call, under its request's `principal`: a key or session
   * connection it needs is started, and the promise settles once that connection has listed (the
   * gateway bounds the wait). A session that cannot have one (upstream.max-processes) sees the
   * shared listing, and its calls say why.
   */
  attach(session: ClientSession | undefined, principal: Principal): Promise<void> {
    // Its subscriptions follow the session's latest request too (a new token, or new groups from
    // the proxy); between requests, current() holds them to the settings (mayRead).
    if (session) this.principals.set(session, principal)
    if (!session || this.connections.scope === 'shared') return Promise.resolve()
    try {
      return this.connections.of(principal, session).listed
    } catch {
      return Promise.resolve()
    }
  }

  /**
   * Whether a session may read `uri` now: its principal (the one it subscribed under) as it stands
   * now, so a key narrowed, revoked or expired since then may not. What a subscription is held to,
   * when it is made and whenever an update comes (traffic.ts).
   */
  private mayRead(session: ClientSession, uri: string): boolean {
    const principal = this.principals.get(session)
    const now = principal && this.options.current(principal)
    return now !== undefined && now.scopes.allows('resource', uri)
  }

  /**
   * Whether a session may hear what this upstream says or asks outside its own calls (its log
   * messages; a request, on a connection of its own): only when its principal, as it stands now,
   * may see something the upstream offers it. A key scoped to other upstreams shares a shared
   * upstream's process, not what it says. Undefined while that cannot be told (traffic.ts).
   */
  private mayHear(session: ClientSession): boolean | undefined {
    const principal = this.principals.get(session)
    // Not known yet: no request of the session seen by the gateway (stdio: the upstream asks as it starts, before the first list), or nothing listed.
    if (!principal) return undefined
    const now = this.options.current(principal)
    if (!now) return false
    if (!this.listedOnce) return undefined
    return this.offersAny(this.itemsFor(session), now.scopes)
  }

  /**
   * Whether `scopes` allow anything of a listing, answered once per listing and scope set (a
   * key's is one object per vault record; a token's or a proxy user's, one per principal and
   * settings): each log message then costs a lookup per session, not a scan of everything the
   * upstream lists, which it chooses, as it chooses how often it logs.
   */
  private offersAny(items: Items, scopes: Principal['scopes']): boolean {
    let memo = this.offering.get(items)
    // A new listing replaces the lists (expose): the answers go with the lists they were made of.
    if (!memo || memo.tool !== items.tool || memo.prompt !== items.prompt || memo.resource !== items.resource) {
      memo = {tool: items.tool, prompt: items.prompt, resource: items.resource, by: new WeakMap()}
      this.offering.set(items, memo)
    }
    let offers = memo.by.get(scopes)
    if (offers === undefined) {
      offers =
        items.tool.some((t) => scopes.allows('tool', t.descriptor.name)) ||
        items.prompt.some((p) => scopes.allows('prompt', p.descriptor.name)) ||
        items.resource.some((r) => scopes.allows('resource', r.descriptor.uri))
      memo.by.set(scopes, offers)
    }
    return offers
  }

  /** Takes out the subscriptions whose session may no longer read their resource (a reload narrowed its key); returns how many. */
  dropUnreadable(): number {
    return this.connections.dropUnreadable()
  }

  /** Stops connections idle for `idleMs` (upstream.idle-timeout). */
  sweep(idleMs: number): void {
    this.connections.sweep(idleMs)
  }

  /** Upstream processes running. */
  get processes(): number {
    return this.connections.processes
  }

  // ---- listing -------------------------------------------------------------------------------

  /** A connection (re)connected: it lists everything, then puts it past the gate at once (a first use pins all kinds together). */
  private async connected(connection: Connection, client: Client): Promise<void> {
    if (connection === this.connections.shared) {
      await listAll(client, this.items.raw, this.onCut)
      this.expose(this.items, ITEM_KINDS, true)
      for (const kind of ITEM_KINDS) this.changed(kind)
      this.listed()
      return
    }
    const items = noItems()
    await listAll(client, items.raw, this.onCut).catch(() => {})
    this.expose(items, ITEM_KINDS, true)
    this.own.set(connection, items)
    for (const kind of ITEM_KINDS) this.changed(kind)
  }

  /** A listing cut short by its bounds, or tools left out or changed for their x-mcp-header declarations (listing.ts): the operator is told once of each. */
  private readonly onCut = (notice: ListingCut | ListingRefusal): void => {
    const told = 'refused' in notice ? 'tools left out' : 'stripped' in notice ? 'tools stripped' : notice.what
    if (this.cutsTold.has(told)) return
    this.cutsTold.add(told)
    this.options.log('warn', cutText(this.name, notice))
  }

  private async relist(kind: ItemKind, connection: Connection): Promise<void> {
    let states = this.relisting.get(connection)
    if (!states) this.relisting.set(connection, (states = new Map()))
    let state = states.get(kind)
    if (!state) states.set(kind, (state = {busy: false, again: false, started: Number.NEGATIVE_INFINITY}))
    if (state.busy) return void (state.again = true)
    state.busy = true
    try {
      do {
        // Not at once after the listing before (RELIST_GAP_MS), however the upstream times its word;
        // what it says meanwhile is taken in by the listing that follows, which begins after it.
        await pause(state.started + RELIST_GAP_MS - Date.now())
        state.again = false
        state.started = Date.now()
        await this.listAgain(kind, connection)
      } while (state.again)
    } finally {
      state.busy = false
    }
  }

  private async listAgain(kind: ItemKind, connection: Connection): Promise<void> {
    const into = this.itemsOf(connection)
    if (!into) return
    let client: Client
    try {
      client = await connection.link.client(0)
    } catch {
      return
    }
    try {
      await listKind(client, kind, into.raw, this.onCut)
      this.expose(into, [kind], true)
      this.changed(kind)
    } catch (err) {
      // The upstream's own error text: it may quote a secret it was given. As often as the upstream says a list changed: budgeted.
      this.failedListings.line(() => `listing its ${kind}s failed (${cleanText(this.options.logRedactor(), strip((err as Error).message))})`)
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
          return {kind: 'tool', descriptor: {...shown('tool', tool), name: exposed}, call: (args, env) => this.callTool(tool, args, env)}
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
          return {kind: 'prompt', descriptor: {...shown('prompt', prompt), name: exposed}, get: (args, env) => this.getPrompt(prompt.name, args, env)}
        })
      into.originals.prompt = originals
      if (names(into.prompt) !== before) differs.push('prompt')
    }
    if (kinds.includes('resource')) {
      const before = into.templates.map((t) => t.name).join('\n')
      into.templates = into.raw.template.filter((template) => allowed('template', template.name)).map((template) => shown('template', template))
      if (fresh) into.resource = into.raw.resource.map((resource) => this.resourceItem(resource))
      if (into.templates.map((t) => t.name).join('\n') !== before) differs.push('resource')
    }
    return differs
  }

  /** The upstream's pins changed (an approval, a setting): what clients see is decided again, and they are told. */
  regate(): void {
    const differs = new Set<ItemKind>(this.expose(this.items, ITEM_KINDS, false))
    for (const connection of this.connections.all()) {
      const items = this.own.get(connection)
      if (items) for (const kind of this.expose(items, ITEM_KINDS, false)) differs.add(kind)
    }
    for (const kind of differs) this.changed(kind)
  }

  private resourceItem(descriptor: Resource): SourceResource {
    return {
      kind: 'resource',
      descriptor,
      read: (env) => this.readResource(descriptor.uri, env),
      subscribe: (env) => this.subscribe(descriptor.uri, env),
      unsubscribe: (env) => this.unsubscribe(descriptor.uri, env),
    }
  }

  /** A URI that no listed resource has but one of this upstream's templates matches. */
  resourceFor(uri: string): SourceResource | undefined {
    if (!this.items.templates.some((t) => templateMatches(t.uriTemplate, uri))) return undefined
    return this.resourceItem({uri, name: uri})
  }

  // ---- calls ---------------------------------------------------------------------------------

  /**
   * Runs `work` on the caller's connection, as a call in flight there (with the way back to its
   * client), so that what the upstream sends meanwhile can be routed to it (traffic.ts). Its
   * requests go with `options`: the client's cancellation, and the call's bounds (call-bounds.ts).
   */
  private async on<T>(env: CallEnv, work: (client: Client, connection: Connection, options: RequestOptions) => Promise<T>, onprogress?: RequestOptions['onprogress']): Promise<T> {
    const connection = this.connections.of(env.principal, env.session)
    const client = await this.connections.clientFor(connection, env.era, CALL_WAIT_MS)
    const end = connection.traffic.begin({channel: env.client, session: env.session, bridged: env.era === 'modern'})
    const call = boundedCall(this.name, env.signal, this.options.maxCallMs(), onprogress)
    try {
      return await work(client, connection, call.options)
    } catch (err) {
      throw upstreamError(this.name, call.failure(err))
    } finally {
      call.done()
      end()
    }
  }

  /** Progress from the upstream, passed on under the token the client chose (the SDK client gives each request a token of its own upstream). */
  private progressRelay(env: CallEnv) {
    const token = env.meta?.progressToken
    if ((typeof token !== 'string' && typeof token !== 'number') || !env.client) return undefined
    return (p: {progress: number; total?: number; message?: string}) =>
      void env.client!.notify({method: 'notifications/progress', params: {progressToken: token, progress: p.progress, total: p.total, message: p.message}}).catch(() => {})
  }

  /**
   * A call (tools/call, prompts/get, resources/read) on the caller's connection. No result
   * schema: the client validates the result against its protocol era's own. A 2026-07-28
   * upstream is called in manual mode, so that the input it asks for is answered per call (input.ts).
   * The answer loses the upstream's name for itself: the client's server is keyward (era/complete.ts).
   */
  private request<T>(env: CallEnv, method: ModernCall['method'], params: Record<string, unknown>, onprogress?: RequestOptions['onprogress'], tool?: Tool): Promise<T> {
    return this.on(
      env,
      async (client, _connection, options) => {
        if (client.getProtocolEra() !== 'modern') return withoutServerIdentity((await client.request({method, params}, options)) as T)
        // A 2025 session's level, or all messages when it set none (as a 2025 upstream sends them); a 2026-07-28 caller's own.
        const logLevel = env.era === 'modern' ? env.logLevel : (this.connections.levels.of(env.session) ?? 'debug')
        return withoutServerIdentity((await callModern({client, upstream: this.name, method, params, options, env, logLevel, tool})) as T)
      },
      onprogress,
    )
  }

  /** A call of `tool`, as this upstream listed it (its name there, and what its arguments declare). */
  private async callTool(tool: Tool, args: Record<string, unknown>, env: CallEnv): Promise<CallToolResult> {
    try {
      return await this.request<CallToolResult>(env, 'tools/call', {name: tool.name, arguments: args}, this.progressRelay(env), tool)
    } catch (err) {
      // An upstream that cannot serve the call is a tool error, so the model sees which server is down.
      if (err instanceof UpstreamUnavailable) return {isError: true, content: [{type: 'text', text: `${err.message}.`}]}
      throw err
    }
  }

  private getPrompt(name: string, args: Record<string, string>, env: CallEnv) {
    return this.unavailableAsRpc(() => this.request<GetPromptResult>(env, 'prompts/get', {name, arguments: args}))
  }

  private readResource(uri: string, env: CallEnv) {
    return this.unavailableAsRpc(() => this.request<ReadResourceResult>(env, 'resources/read', {uri}))
  }

  /**
   * resources/subscribe: counted per session on the caller's connection; the upstream hears of the
   * first subscriber only (a 2025-era upstream by resources/subscribe, a 2026-07-28 one on its
   * listen stream, opened again with the new set). Stateless HTTP has no sessions, and no stream
   * to send an update on: the request is passed to a 2025-era upstream as it is (so that it answers
   * as it would; a 2026-07-28 one that supports subscriptions is not asked), and nothing counted.
   */
  private async subscribe(uri: string, env: CallEnv): Promise<void> {
    // Handed over (a reload's restart took this source's place): made where it will live.
    if (this.successor) return this.successor.subscribe(uri, env)
    const {session} = env
    if (session) this.principals.set(session, env.principal)
    try {
      await this.unavailableAsRpc(() => this.on(env, (client, connection, options) => this.subscribeOn(client, connection, uri, session, options)))
    } catch (err) {
      // Stopped by the takeover while it waited: the new source serves it.
      const successor = this.handedOverTo()
      if (successor) return successor.subscribe(uri, env)
      throw err
    }
    // Handed over while it waited for this upstream: the takeover's snapshot could not hold it, so it is carried over now.
    const successor = this.handedOverTo()
    if (successor && session) await successor.adoptSubscriptions([{uri, session}])
  }

  /** The source that took this one's subscriptions over, if one has by now (read after an await: handOver may have run meanwhile). */
  private handedOverTo(): UpstreamSource | undefined {
    return this.successor
  }

  /** The upstream's side of one session's subscription, on the connection that serves it. */
  private async subscribeOn(client: Client, connection: Connection, uri: string, session: ClientSession | undefined, options: RequestOptions): Promise<void> {
    if (!client.getServerCapabilities()?.resources?.subscribe) throw Refusal.notSupported(`upstream ${this.name} does not support resource subscriptions`)
    const modern = client.getProtocolEra() === 'modern'
    // Stateless: answered as the upstream answers (it supports subscriptions), with no stream for updates, as for a 2025 upstream.
    if (!session) return modern ? undefined : void (await client.subscribeResource({uri}, options))
    // Its session may have ended while the call waited for the upstream: its end dropped its subscriptions then, and would not drop this one.
    this.connections.assertLive(session)
    // Its key may have been narrowed meanwhile (or since it subscribed, for a takeover): the reload's drop (dropUnreadable) has passed.
    if (!this.mayRead(session, uri)) throw Refusal.unknownItem('resource', uri, 'out_of_scope')
    const subscriptions = connection.traffic.subscriptions
    if (!subscriptions.add(uri, session)) return
    try {
      if (modern) await connection.link.resubscribe()
      else await client.subscribeResource({uri}, options)
    } catch (err) {
      subscriptions.remove(uri, session)
      throw err
    }
  }

  /**
   * The sessions' resource subscriptions held through this source: what `successor`, which
   * replaces it, takes over (adoptSubscriptions). An unsubscribe still on its way here is passed
   * on to it, so that the takeover does not make again what the session was told it undid.
   */
  handOver(successor: UpstreamSource): HeldSubscription[] {
    this.successor = successor
    const held: HeldSubscription[] = []
    for (const connection of this.connections.all()) {
      const subscriptions = connection.traffic.subscriptions
      for (const uri of subscriptions.uris()) {
        for (const session of subscriptions.of(uri)) held.push({uri, session})
      }
    }
    return held
  }

  /**
   * Takes over the subscriptions of the source this one replaces (a reload restarted the upstream
   * under a new definition, a rotated secret say): each session is subscribed again here, so that
   * the new process's updates reach the sessions that asked for them, as a restart of the same
   * definition does (connections.ts). One that cannot be made (the new upstream does not support
   * subscriptions) is dropped, and their count logged; one of a session that has ended, or whose
   * key may no longer read the resource, silently.
   */
  async adoptSubscriptions(held: readonly HeldSubscription[]): Promise<void> {
    // The catalog sends this source the sessions' unsubscribes from now on, before each is subscribed again here.
    for (const {uri, session} of held) {
      const uris = this.adopting.get(session) ?? new Set<string>()
      this.adopting.set(session, uris.add(uri))
    }
    let failed = 0
    for (const {uri, session} of held) {
      // Its latest: a request since the hand-over may have brought a newer one than it subscribed under.
      const principal = this.principals.get(session)
      // Every subscriber made a request (subscribe records it); one that did not is no one's to carry over.
      if (!principal) {
        this.adopting.get(session)?.delete(uri)
        continue
      }
      try {
        const connection = this.connections.of(principal, session)
        const client = await this.connections.clientFor(connection, 'legacy', CALL_WAIT_MS)
        // Unsubscribed while it waited: it stays so.
        if (!this.adopting.get(session)?.delete(uri)) continue
        await this.subscribeOn(client, connection, uri, session, {timeout: CALL_WAIT_MS})
      } catch {
        this.adopting.get(session)?.delete(uri)
        // A session that ended meanwhile wants nothing more, and one whose key may no longer read the resource may not have it: dropping either is no failure.
        if (this.connections.isLive(session) && this.mayRead(session, uri)) failed++
      }
    }
    if (failed > 0) this.options.log('warn', `upstream ${this.name} was restarted: ${failed} of its clients' ${held.length} resource subscriptions could not be made again there`)
  }

  /**
   * Takes over the log levels the sessions set on the source this one replaces (a reload
   * restarted the upstream), as adoptSubscriptions takes its subscriptions: each session keeps
   * hearing what it asked for, and the new process is asked for the level they need. Who each
   * session is (mayHear) is the gateway's to know, for both sources.
   */
  async adoptLogLevels(previous: UpstreamSource): Promise<void> {
    const levels = previous.connections.levels
    const stateless = levels.of(undefined)
    try {
      if (stateless) await this.connections.setLevel(stateless, undefined)
      for (const session of levels.sessions()) await this.connections.setLevel(levels.of(session)!, session)
    } catch {
      this.options.log('warn', `upstream ${this.name} was restarted: its clients' log levels could not all be set again there; they take effect when a client sets one again`)
    }
  }

  /** resources/unsubscribe: the upstream hears of it when the last subscriber goes (stateless: passed on as it is). */
  private async unsubscribe(uri: string, env: CallEnv): Promise<void> {
    const session = env.session
    if (session) this.adopting.get(session)?.delete(uri)
    await this.unavailableAsRpc(() =>
      this.on(env, async (client, connection, options) => {
        if (session) this.successor?.adopting.get(session)?.delete(uri)
        const last = !session || connection.traffic.subscriptions.remove(uri, session)
        if (!last) return
        if (client.getProtocolEra() === 'modern') await connection.link.resubscribe()
        else await client.unsubscribeResource({uri}, options)
      }),
    )
  }

  /** completion/complete for a prompt (by its exposed name) or a resource of this upstream. */
  async complete(params: CompleteRequest['params'], env: CallEnv): Promise<CompleteResult> {
    const originals = this.itemsFor(env.session).originals
    const ref = params.ref.type === 'ref/prompt' ? {...params.ref, name: originals.prompt.get(params.ref.name) ?? params.ref.name} : params.ref
    return this.unavailableAsRpc(() =>
      this.on(env, async (client, _connection, options) => {
        if (!client.getServerCapabilities()?.completions) return {completion: {values: []}}
        return withoutServerIdentity((await client.request({method: 'completion/complete', params: {...params, ref}}, options)) as CompleteResult)
      }),
    )
  }

  /** logging/setLevel from a client: kept per session; the upstream is asked for the most verbose level its sessions need. */
  async setLogLevel(level: LoggingLevel, session: ClientSession | undefined, principal?: Principal): Promise<void> {
    if (session && principal) this.principals.set(session, principal)
    await this.connections.setLevel(level, session)
  }

  /** The client's roots changed: a connection that declared roots (its one client's) tells the upstream. */
  async rootsChanged(session: ClientSession | undefined): Promise<void> {
    for (const connection of this.connections.all()) {
      const owner = connection.scope === 'session' ? connection.sessions.has(session!) : connection.scope === 'shared' && this.options.mode === 'stdio'
      const link = connection.legacy ?? connection.link
      if (!owner || !link.ready) continue
      const client = await link.client(0)
      if (client.getProtocolEra() === 'legacy') await client.sendRootsListChanged().catch(() => {})
    }
  }

  private async unavailableAsRpc<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      if (err instanceof UpstreamUnavailable) throw Refusal.upstreamUnavailable(err.message)
      throw err
    }
  }

  /**
   * Settles once no call is in flight on any of its connections. Asked again after each wait: a
   * call that reached this source just before a restart took its place may still begin on it.
   */
  async drained(): Promise<void> {
    for (;;) {
      const busy = this.connections.all().filter((connection) => !connection.traffic.quiet)
      if (busy.length === 0) return
      await Promise.all(busy.map((connection) => connection.traffic.whenQuiet()))
    }
  }

  async stop(): Promise<void> {
    await this.connections.stop()
  }
}

/**
 * What clients are shown of a listed tool, prompt or template: its pinned fields, no more. The
 * rest (`_meta`, a tool's `execution`, fields no revision defines) is what no pin holds, so an
 * upstream could change it unseen after its items were approved; hosts act on some of it (an
 * MCP Apps UI to render, whether the model sees a tool, whether it must be called as a task).
 */
function shown<T extends {name: string}>(kind: PinKind, item: T): T {
  return pinnedFields(kind, item) as T
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
