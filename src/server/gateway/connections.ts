/**
 * The connections of one upstream, and which one serves a caller (docs/gateway.md, "Sharing"):
 *
 *   shared    one connection (one process, or one MCP session with an HTTP upstream) for every
 *             client session; it also lists what the upstream offers for the catalog;
 *   key       one per API key or principal, besides the shared one that lists;
 *   session   one per client session (stateful HTTP), started when the session first lists or
 *             calls, stopped with the session.
 *
 * Over stdio there is one client: the shared connection is its own (its "owner"). Stateless HTTP
 * has no sessions: `session` upstreams get a connection per principal there, as `key` ones do.
 * A connection of its own lists what it offers, and its sessions see that listing (item 9 of
 * issue 16): never a tool that the shared listing has and their own process does not.
 *
 * Each connection has its traffic router (traffic.ts), which knows its calls in flight, the
 * sessions subscribed to each resource and the log level the upstream is asked for.
 */
import type {Client} from '@modelcontextprotocol/client'
import type {ClientCapabilities, LoggingLevel} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'
import {isolationOf, type UpstreamDefinition} from '../../upstreams/index.js'
import type {Logger} from '../log.js'
import type {ClientSession, ItemKind} from '../tools/source.js'
import {UpstreamLink, UpstreamUnavailable, type LinkOptions} from './link.js'
import {LogLevels, Traffic} from './traffic.js'

/** How keyward serves its clients: one stdio client, stateful HTTP sessions, or stateless HTTP requests. */
export type ServeMode = 'stdio' | 'stateful' | 'stateless'

export type Scope = 'shared' | 'key' | 'session'

/** upstream.max-processes, as the gateway counts it over every upstream. */
export interface ProcessBudget {
  /** Whether one more upstream process may start. */
  allows(): boolean
  max(): number
}

/** One connection to the upstream and what travels on it. */
export interface Connection {
  scope: Scope
  link: UpstreamLink
  /** A dual-era upstream's 2025 side, for 2025 clients: started at its first use (Connections.linkFor). */
  legacy?: UpstreamLink
  /** What the connection declares of its client. */
  capabilities(): ClientCapabilities
  traffic: Traffic
  /** The client sessions it serves (key and session connections; the shared one serves whoever comes). */
  sessions: Set<ClientSession>
  /** Settles once it has listed what it offers, or failed to start (key and session connections). */
  listed: Promise<void>
  /** The log level last asked of the upstream. */
  level?: LoggingLevel
}

/**
 * What a connection declares of its client (item 5 of issue 16): a connection with one client
 * behind it declares what that client declared; one shared by several declares what keyward can
 * route there (sampling and elicitation, to the one caller with a call in flight; never roots,
 * which belong to one client). Stateless HTTP declares the same: a 2025 client there has no way
 * back (its requests are refused at once, traffic.ts), but a 2026-07-28 client, in every mode, is
 * asked through the input bridge (server/bridge) within its call.
 */
export function declaredCapabilities(mode: ServeMode, owner: ClientSession | undefined): ClientCapabilities {
  if (mode === 'stateless' || !owner) return {sampling: {}, elicitation: {}}
  const client = owner.capabilities()
  const caps: ClientCapabilities = {}
  if (client?.sampling) caps.sampling = client.sampling
  if (client?.elicitation) caps.elicitation = client.elicitation
  if (client?.roots) caps.roots = {listChanged: true}
  return caps
}

export interface ConnectionsOptions {
  def: UpstreamDefinition
  mode: ServeMode
  log: Logger
  /** stdio: the one client session, once its client has initialized. */
  stdioSession?: () => ClientSession | undefined
  budget: ProcessBudget
  /** What every connection shares: how to start one, and what it does once connected. */
  link: Pick<LinkOptions, 'def' | 'resolve' | 'version' | 'log' | 'logRedactor' | 'output'>
  /** A connection (re)connected: list what it offers (into its own listing unless it is the shared one). */
  onConnected(connection: Connection, client: Client): Promise<void>
  onListChanged(connection: Connection, kind: ItemKind): void
  /** Whether a subscribed session may still read a resource (its principal as it stands now): what its updates and its subscriptions are held to. */
  mayRead(session: ClientSession, uri: string): boolean
  /** Whether a session may hear the upstream's messages that no call of its own caused; undefined while that cannot be told yet (traffic.ts). */
  mayHear(session: ClientSession): boolean | undefined
}

export class Connections {
  readonly shared: Connection
  readonly levels = new LogLevels()
  private readonly keyed = new Map<string, Connection>()
  /** The key or session connection each session is served by. */
  private readonly attached = new Map<ClientSession, Connection>()
  private readonly known = new WeakSet<ClientSession>()
  /** Sessions that have ended: a request of theirs still on its way gets no connection (see of). */
  private readonly ended = new WeakSet<ClientSession>()
  /** Set by stop(): from then on no key or session connection starts. */
  private stopped = false

  constructor(private readonly options: ConnectionsOptions) {
    const stdio = options.mode === 'stdio' ? options.stdioSession : undefined
    this.shared = this.make('shared', stdio, () => this.levels.sessions())
  }

  /** Who shares a connection, as this server serves its clients. */
  get scope(): Scope {
    const isolation = isolationOf(this.options.def)
    if (this.options.mode === 'stdio') return 'shared'
    if (this.options.mode === 'stateless' && isolation === 'session') return 'key'
    return isolation
  }

  private make(scope: Scope, owner: (() => ClientSession | undefined) | undefined, sessions: () => Iterable<ClientSession>): Connection {
    const {def, log} = this.options
    let settle!: () => void
    const connection = {scope, sessions: new Set<ClientSession>(), listed: new Promise<void>((resolve) => (settle = resolve))} as Connection
    connection.traffic = new Traffic({upstream: def.name, log, owner, levels: this.levels, sessions, mayRead: this.options.mayRead, mayHear: this.options.mayHear})
    connection.capabilities = () => declaredCapabilities(this.options.mode, owner?.())
    connection.link = new UpstreamLink({
      ...this.options.link,
      capabilities: connection.capabilities,
      traffic: connection.traffic,
      logLevel: () => (connection.level = this.levelOf(connection)),
      // 2025 clients subscribe on the 2025 side when there is one.
      subscribedUris: () => (connection.legacy && !connection.legacy.refusedLegacy ? [] : connection.traffic.subscriptions.uris()),
      onConnected: async (client) => {
        await this.options.onConnected(connection, client)
        // A 2026-07-28 upstream is asked on its listen stream instead (link.ts).
        if (client.getProtocolEra() === 'legacy') for (const uri of connection.traffic.subscriptions.uris()) await client.subscribeResource({uri}).catch(() => {})
        settle()
      },
      onListChanged: (kind) => this.options.onListChanged(connection, kind),
    })
    void connection.link.client(60_000).then(settle, settle)
    return connection
  }

  /** The connection that serves this caller; a new key or session connection is started on the way. */
  of(principal: Principal | undefined, session: ClientSession | undefined): Connection {
    if (session) this.know(session)
    const scope = this.scope
    if (scope === 'shared' || !principal) return this.shared
    const existing = session && this.attached.get(session)
    if (existing) return existing
    // A request that was on its way when its session ended, or when keyward stopped: a connection
    // started for it now would never be stopped (its session's end has passed, shutdown is done
    // with this upstream), and its process would outlive its use, and keyward.
    if (session) this.assertLive(session)
    if (this.stopped) throw new UpstreamUnavailable(`upstream ${this.options.def.name} was stopped`)
    if (scope === 'session' && session) return this.attach(session, this.start('session', session))
    let connection = this.keyed.get(principal.id)
    if (!connection) this.keyed.set(principal.id, (connection = this.start('key')))
    return session ? this.attach(session, connection) : connection
  }

  /** Whether `session` has not ended (as far as this upstream has been told: see know). */
  isLive(session: ClientSession): boolean {
    this.know(session)
    return !this.ended.has(session)
  }

  /**
   * Throws when `session` has ended: what a request of it still on its way would start or register
   * now (a connection, a subscription) would outlive it, as its end has passed (see closed).
   */
  assertLive(session: ClientSession): void {
    if (!this.isLive(session)) throw new UpstreamUnavailable(`upstream ${this.options.def.name}: the client session ended before its request was served`)
  }

  /**
   * The client that serves a caller of `era` on this connection. An upstream is connected in
   * 2026-07-28 when it speaks it; a 2025 client is served on a second connection, in the 2025 era,
   * started at its first use (an upstream that refuses initialize has no such side), so that each client meets the upstream in its own era, as it would directly (a
   * dual-era server's 2026-07-28 side may lack what its 2025 side offers, such as requests to
   * the client during a call, or resource subscriptions). Past upstream.max-processes, a 2025
   * client is served on the 2026-07-28 connection, across keyward's bridge (input.ts).
   */
  async clientFor(connection: Connection, era: 'legacy' | 'modern' | undefined, waitMs: number): Promise<Client> {
    // A 2025 side once started serves on its own: the 2026-07-28 side may idle (and stop) meanwhile.
    if (era !== 'modern' && connection.legacy && !connection.legacy.refusedLegacy && connection.legacy.ready) return connection.legacy.client(waitMs)
    const client = await connection.link.client(waitMs)
    if (era === 'modern' || client.getProtocolEra() !== 'modern') return client
    const legacy = this.legacySide(connection)
    if (!legacy) return client
    try {
      return await legacy.client(waitMs)
    } catch (err) {
      // A 2026-07-28-only upstream: its one side serves 2025 clients too, across the bridge.
      if (legacy.refusedLegacy) return client
      throw err
    }
  }

  /** A connection's 2025 side (see clientFor): started at the first 2025 caller; none when the upstream has none, or no process may start. */
  private legacySide(connection: Connection): UpstreamLink | undefined {
    if (connection.legacy) return connection.legacy.refusedLegacy ? undefined : connection.legacy
    // Stopped (a reload, the session's end) since the caller got its client: a side started now would outlive it.
    if (!connection.link.ready) return undefined
    if (this.options.def.transport === 'stdio' && !this.options.budget.allows()) return undefined
    const legacy = new UpstreamLink({
      ...this.options.link,
      era: 'legacy',
      capabilities: connection.capabilities,
      traffic: connection.traffic,
      logLevel: () => this.levelOf(connection),
      onConnected: async (client) => {
        for (const uri of connection.traffic.subscriptions.uris()) await client.subscribeResource({uri}).catch(() => {})
      },
    })
    connection.legacy = legacy
    legacy.start()
    return legacy
  }

  /** The connection whose listing this session sees, once it has one of its own. */
  listingOf(session: ClientSession | undefined): Connection | undefined {
    return session && this.attached.get(session)
  }

  private start(scope: 'key' | 'session', owner?: ClientSession): Connection {
    const {def, budget} = this.options
    if (def.transport === 'stdio' && !budget.allows()) {
      const isolation = isolationOf(def)
      throw new UpstreamUnavailable(
        `upstream ${def.name} cannot start a process for this ${scope === 'key' ? 'key' : 'session'}: keyward runs ${budget.max()} upstream processes already, the most upstream.max-processes allows; close idle sessions, raise it (keyward config set upstream.max-processes N), or share the upstream (keyward upstream set ${def.name} --isolation ${isolation === 'session' ? 'key or shared' : 'shared'})`,
      )
    }
    const connection = this.make(scope, owner && (() => owner), () => connection.sessions)
    connection.link.start()
    return connection
  }

  private attach(session: ClientSession, connection: Connection): Connection {
    this.attached.set(session, connection)
    connection.sessions.add(session)
    if (this.levels.of(session) !== undefined) void this.applyLevel(connection)
    return connection
  }

  /** Follows the end of a session once: its subscriptions, its level and its own connection go with it. */
  private know(session: ClientSession): void {
    if (this.known.has(session)) return
    this.known.add(session)
    session.onClose(() => this.closed(session))
  }

  private closed(session: ClientSession): void {
    this.ended.add(session)
    const connection = this.attached.get(session) ?? this.shared
    this.attached.delete(session)
    connection.sessions.delete(session)
    const hadLevel = this.levels.of(session) !== undefined
    this.levels.forget(session)
    if (connection.scope === 'session') {
      for (const link of linksOf(connection)) void link.stop()
      return
    }
    for (const uri of connection.traffic.subscriptions.drop(session)) void this.unsubscribeUpstream(connection, uri)
    if (hadLevel) void this.applyLevel(connection)
  }

  /**
   * Takes out the subscriptions whose session may no longer read their resource (its key was
   * narrowed, revoked or expired since it subscribed), on every connection; the upstream is
   * unsubscribed from a resource no one is left subscribed to. Returns how many it took out.
   */
  dropUnreadable(): number {
    let dropped = 0
    for (const connection of this.all()) {
      const {subscriptions} = connection.traffic
      for (const uri of subscriptions.uris()) {
        for (const session of [...subscriptions.of(uri)]) {
          if (this.options.mayRead(session, uri)) continue
          dropped++
          if (subscriptions.remove(uri, session)) void this.unsubscribeUpstream(connection, uri).catch(() => {})
        }
      }
    }
    return dropped
  }

  private async unsubscribeUpstream(connection: Connection, uri: string): Promise<void> {
    // Where the subscription was made: the 2025 side, unless the upstream refused it one (clientFor).
    const link = connection.legacy && !connection.legacy.refusedLegacy ? connection.legacy : connection.link
    if (!link.ready) return
    const client = await link.client(0)
    if (client.getProtocolEra() === 'modern') await link.resubscribe()
    else await client.unsubscribeResource({uri}).catch(() => {})
  }

  // ---- log levels -------------------------------------------------------------------------

  /** The level the upstream is asked for: the most verbose one its sessions asked for. */
  private levelOf(connection: Connection): LoggingLevel | undefined {
    if (connection.scope !== 'shared') return this.levels.mostVerbose(connection.sessions)
    const owner = this.options.mode === 'stdio' ? this.options.stdioSession?.() : undefined
    return owner ? this.levels.of(owner) : this.levels.mostVerbose(this.levels.sessions())
  }

  /** logging/setLevel from a client: kept for its session, and the upstream asked for what its sessions need. */
  async setLevel(level: LoggingLevel, session: ClientSession | undefined): Promise<void> {
    if (session) this.know(session)
    if (session && this.ended.has(session)) return
    this.levels.set(session, level)
    await this.applyLevel((session && this.attached.get(session)) ?? this.shared)
  }

  private async applyLevel(connection: Connection): Promise<void> {
    const level = this.levelOf(connection)
    if (level === undefined || level === connection.level) return
    connection.level = level
    for (const link of linksOf(connection)) {
      if (!link.ready) continue
      const client = await link.client(0)
      // A 2026-07-28 upstream takes no session log level (it is per request there).
      if (client.getProtocolEra() === 'legacy' && client.getServerCapabilities()?.logging) await client.setLoggingLevel(level).catch(() => {})
    }
  }

  // ---- lifecycle --------------------------------------------------------------------------

  all(): Connection[] {
    return [this.shared, ...this.keyed.values(), ...new Set([...this.attached.values()].filter((c) => c.scope === 'session'))]
  }

  /** Upstream processes running (upstream.max-processes counts them). */
  get processes(): number {
    let n = 0
    for (const connection of this.all()) for (const link of linksOf(connection)) if (link.running) n++
    return n
  }

  /**
   * Stops what has been idle for `idleMs`: no call in flight, no subscription. The shared and
   * session connections restart on their next use; a key connection none of whose sessions is
   * open goes.
   */
  sweep(idleMs: number, now = Date.now()): void {
    for (const connection of this.all()) {
      const {traffic} = connection
      if (!traffic.quiet || traffic.subscriptions.size > 0) continue
      for (const link of linksOf(connection)) if (link.ready && now - link.lastUsed >= idleMs) void link.suspend()
    }
    for (const [id, connection] of this.keyed) {
      if (connection.sessions.size === 0 && connection.link.suspended) {
        this.keyed.delete(id)
        for (const link of linksOf(connection)) void link.stop()
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    await Promise.all(this.all().flatMap((c) => linksOf(c).map((link) => link.stop())))
    this.keyed.clear()
    this.attached.clear()
  }
}

/** A connection's links: the one it was made with, and its 2025 side once started. */
function linksOf(connection: Connection): UpstreamLink[] {
  return connection.legacy ? [connection.link, connection.legacy] : [connection.link]
}
