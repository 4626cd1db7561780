/**
 * The gateway: one tool source per upstream in the vault, kept in step with it. When the vault
 * reloads, an upstream whose definition or secrets changed is restarted, a removed one stopped,
 * a new one started; the others keep running, and keep their sessions. It also holds what the
 * upstreams share: the count of processes (upstream.max-processes), the sweep of idle ones
 * (upstream.idle-timeout), and over stdio the moment the one client has said what it can do.
 */
import {createHash} from 'node:crypto'

import type {LoggingLevel} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'

import {definitionIdentity, upstreamsInPrecedence, type UpstreamDefinition} from '../../upstreams/index.js'
import {grantFingerprint, type FetchLike} from '../../upstreams/oauth/index.js'
import type {VaultData} from '../../vault/index.js'
import type {Redactor} from '../../guard/redactor.js'
import type {Logger} from '../log.js'
import type {SessionHooks} from '../mcp.js'
import type {Catalog} from '../tools/catalog.js'
import type {ClientSession} from '../tools/source.js'
import type {Resolved} from './link.js'
import type {PinGate} from './pin-gate.js'
import {resolveUpstream, type UpstreamContext} from './resolve.js'
import type {ServeMode, SessionPrincipals, UpstreamSource} from './upstream-source.js'

/** The upstream machinery (the MCP SDK's client, child processes), loaded only when there is an upstream. */
let sourceModule: Promise<typeof import('./upstream-source.js')> | undefined

/** The first tools/list waits at most this long for upstreams still starting (docs/gateway.md); a session's own connections likewise. */
export const FIRST_LIST_WAIT_MS = 3000

export interface GatewaySettings {
  /** upstream.idle-timeout; 0: never. */
  idleMs: number
  /** upstream.max-processes */
  maxProcesses: number
  /** upstream.max-call-duration */
  maxCallMs: number
}

export interface GatewayOptions {
  catalog: Catalog
  log: Logger
  version: string
  mode: ServeMode
  /** stdio: the one client session (known once the transport runs). */
  stdioSession(): ClientSession | undefined
  /** Read at each use: the settings of the newest runtime. */
  settings(): GatewaySettings
  /** The vault the upstreams belong to (their private HOMEs are per vault) and what a sandbox hides. */
  context: UpstreamContext
  /** The pins: which listed items are served. Absent: everything is. */
  gate?: PinGate
  /** The newest runtime's log redactor: what an upstream prints passes through it before it is logged. */
  logRedactor(): Redactor
  /** For an upstream that takes OAuth: the fetch that carries its tokens (src/upstreams/oauth). */
  upstreamFetch?(def: UpstreamDefinition): FetchLike | undefined
  /** The principal as it stands now, none once it is no longer valid (the newest runtime's Authenticators.current): what subscriptions are held to. */
  current(principal: Principal): Principal | undefined
}

function resolver(def: UpstreamDefinition, data: () => VaultData, context: UpstreamContext, upstreamFetch?: GatewayOptions['upstreamFetch']): () => Resolved {
  return () => {
    const resolved = resolveUpstream(def, data(), context)
    const fetch = upstreamFetch?.(def)
    return fetch ? {...resolved, fetch} : resolved
  }
}

/** What decides a restart: the definition (definitionIdentity: not its times, nor what `upstream test` found), the secret values it resolves to (hashed, never kept), and an OAuth login or logout (not a renewal). */
export function fingerprint(def: UpstreamDefinition, data: VaultData, context: UpstreamContext): string {
  const hash = createHash('sha256').update(definitionIdentity(def)).update(grantFingerprint(def, data))
  try {
    const resolved = resolver(def, () => data, context)()
    hash.update(JSON.stringify(resolved.env ?? resolved.headers))
  } catch (err) {
    hash.update(`unresolvable: ${(err as Error).message}`)
  }
  return hash.digest('hex')
}

/** Waits for `work`, at most `ms`; the wait alone does not keep keyward running (a drain at shutdown: Gateway.retire). */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))])
  clearTimeout(timer)
}

/**
 * One upstream as the gateway runs it. `serving` is the source in the catalog; during a restart
 * `next` is the one starting in its place, which takes over once it has listed. A restart that
 * another reload overtakes before it listed is stopped unseen: only the newest definition ever
 * takes over, and the one serving keeps serving until it does.
 */
interface Mounted {
  serving: UpstreamSource
  next?: UpstreamSource
  /** Of the newest definition: `next`'s during a restart, else `serving`'s. */
  fingerprint: string
  pins?: string
}

/** The source of the newest definition. */
const newest = (m: Mounted) => m.next ?? m.serving

export class Gateway {
  private readonly running = new Map<string, Mounted>()
  /** Sources a restart replaced, finishing their calls in flight before they stop (retire). */
  private readonly retiring = new Set<UpstreamSource>()
  /** Each session's latest principal, one map for every source: a restarted or added upstream knows whom it serves before their next request. */
  private readonly principals: SessionPrincipals = new WeakMap()
  private data!: VaultData
  private firstListDone = false
  /** stdio: settles when the client's first list or call shows it has initialized (its capabilities are what upstreams are told). */
  private readonly stdioReady?: Promise<void>
  private stdioInitialized?: () => void
  private sweeper?: NodeJS.Timeout
  private sweepEvery = 0
  /** Set by close(): a reload still on its way starts nothing after it. */
  private closed = false

  constructor(private readonly options: GatewayOptions) {
    if (options.mode === 'stdio') this.stdioReady = new Promise((resolve) => (this.stdioInitialized = resolve))
  }

  get size(): number {
    return this.running.size
  }

  /** The source of each upstream's newest definition: what sessions attach to and the first list waits for. */
  sources(): UpstreamSource[] {
    return [...this.running.values()].map(newest)
  }

  /** Every source with processes to count, sweep, tell or stop: the serving ones, those starting in their place, and those a restart replaced that are still finishing calls. */
  private live(): UpstreamSource[] {
    return [...[...this.running.values()].flatMap((m) => (m.next ? [m.serving, m.next] : [m.serving])), ...this.retiring]
  }

  /** Brings the running upstreams in line with the vault. */
  async reconcile(data: VaultData): Promise<void> {
    this.data = data
    // Definition order: the catalog gives a name or a resource URI to the source mounted first.
    const wanted = new Map(upstreamsInPrecedence(data).map((def) => [def.name, def]))
    if (wanted.size > 0 || this.running.size > 0) this.UpstreamSource ??= (await (sourceModule ??= import('./upstream-source.js'))).UpstreamSource
    // Shut down while it waited (for the import, the first time an upstream appears): what it started now would outlive keyward's shutdown.
    if (this.closed) return
    for (const [name, mounted] of this.running) {
      if (wanted.has(name)) continue
      this.running.delete(name)
      this.options.catalog.remove(mounted.serving)
      void mounted.serving.stop()
      void mounted.next?.stop()
      // Removed, it stops whole: a process an earlier restart left finishing its calls goes too.
      for (const source of this.retiring) if (source.name === name) void source.stop()
      this.options.log('info', `upstream ${name} was removed: stopped it`)
    }
    for (const def of wanted.values()) this.bringInLine(def, data)
  }

  /** One upstream in line with its definition: left running, regated, started, or restarted. */
  private bringInLine(def: UpstreamDefinition, data: VaultData): void {
    const mounted = this.running.get(def.name)
    const print = fingerprint(def, data, this.options.context)
    const pins = this.options.gate?.stamp(def.name)
    if (mounted?.fingerprint === print) {
      // Same upstream, new pins (an approval) or pin settings: what clients see is decided again.
      if (mounted.pins !== pins) {
        mounted.pins = pins
        mounted.serving.regate()
        mounted.next?.regate()
      }
      return
    }
    const source = this.create(def)
    if (!mounted) {
      this.running.set(def.name, {serving: source, fingerprint: print, pins})
      this.options.catalog.add(source)
      source.start()
      return
    }
    // A restart this one overtakes never served anyone: it stops, and the serving source waits for this one instead.
    if (mounted.next) void mounted.next.stop()
    mounted.next = source
    mounted.fingerprint = print
    mounted.pins = pins
    this.options.log('info', `upstream ${def.name} changed: restarting it`)
    source.start()
    void source.firstList.then(() => this.takeOver(def.name, source))
  }

  /**
   * A restarted upstream has listed what it offers: it takes the old one's place in one swap, the
   * sessions subscribed through the old one are subscribed again through it, and the log levels
   * they set are set again there. The old one gets no new calls, finishes those in flight
   * (retire), and stops. Nothing happens when a later reload overtook it or removed the upstream
   * (it was stopped then).
   */
  private takeOver(name: string, source: UpstreamSource): void {
    const mounted = this.running.get(name)
    if (mounted?.next !== source) return
    const previous = mounted.serving
    mounted.serving = source
    mounted.next = undefined
    this.options.catalog.replace(previous, source)
    void source.adoptSubscriptions(previous.handOver(source))
    void source.adoptLogLevels(previous)
    this.options.log('info', `upstream ${name} restarted: its new connection serves; the old one stops once its calls in flight have ended`)
    void this.retire(previous)
  }

  /**
   * Stops a source a restart replaced once its calls in flight have ended, or once
   * upstream.max-call-duration has passed, as long as any of them could still run: a reload does
   * not cut off a call that was already running. close() stops it at once.
   */
  private async retire(source: UpstreamSource): Promise<void> {
    this.retiring.add(source)
    await bounded(source.drained(), this.options.settings().maxCallMs)
    this.retiring.delete(source)
    await source.stop()
  }

  private UpstreamSource?: typeof import('./upstream-source.js').UpstreamSource

  private create(def: UpstreamDefinition): UpstreamSource {
    this.scheduleSweep()
    return new this.UpstreamSource!({
      def,
      resolve: resolver(def, () => this.data, this.options.context, this.options.upstreamFetch),
      version: this.options.version,
      log: this.options.log,
      mode: this.options.mode,
      stdioSession: this.options.stdioSession,
      stdioReady: this.stdioReady,
      budget: this.budget,
      maxCallMs: () => this.options.settings().maxCallMs,
      gate: this.options.gate,
      logRedactor: this.options.logRedactor,
      current: this.options.current,
      principals: this.principals,
    })
  }

  /**
   * Takes out every resource subscription whose session may no longer read its resource (its key
   * was narrowed, revoked or expired since it subscribed: the vault reloaded, or time passed),
   * and unsubscribes the upstream where no one is left; returns how many it took out. Updates
   * are held to the same rule when they come (traffic.ts), so this is what frees the upstream.
   */
  dropUnreadable(): number {
    return this.live().reduce((n, s) => n + s.dropUnreadable(), 0)
  }

  /** upstream.max-processes, counted over every upstream. */
  private readonly budget = {
    allows: () => this.live().reduce((n, s) => n + s.processes, 0) < this.options.settings().maxProcesses,
    max: () => this.options.settings().maxProcesses,
  }

  /** What an MCP server asks of the gateway for its session. */
  hooks(): SessionHooks {
    return {
      ready: (session, principal) => this.ready(session, principal),
      setLogLevel: (level, session, principal) => this.setLogLevel(level, session, principal),
      rootsChanged: (session) => this.rootsChanged(session),
    }
  }

  /**
   * Before a session lists or calls: over stdio the upstreams start once the client has said what
   * it can do; the first list waits (bounded) for upstreams still starting, later ones arrive by
   * list_changed; a session that needs connections of its own (isolation key or session) waits,
   * as boundedly, for them to list.
   */
  async ready(session: ClientSession | undefined, principal: Principal): Promise<void> {
    this.stdioInitialized?.()
    await this.firstList()
    if (!session || this.running.size === 0) return
    const own = this.sources().map((s) => s.attach(session, principal))
    await bounded(Promise.all(own), FIRST_LIST_WAIT_MS)
  }

  async firstList(): Promise<void> {
    if (this.firstListDone || this.running.size === 0) return
    await bounded(Promise.all(this.sources().map((s) => s.firstList)), FIRST_LIST_WAIT_MS)
    this.firstListDone = true
  }

  /** Idle connections are looked for at a quarter of upstream.idle-timeout (at most every 30 s). */
  private scheduleSweep(): void {
    const idleMs = this.options.settings().idleMs
    const every = idleMs > 0 ? Math.min(30_000, Math.max(250, Math.floor(idleMs / 4))) : 0
    if (every === this.sweepEvery) return
    clearInterval(this.sweeper)
    this.sweepEvery = every
    if (every === 0) return
    this.sweeper = setInterval(() => {
      const idle = this.options.settings().idleMs
      if (idle > 0) for (const source of this.live()) source.sweep(idle)
      this.scheduleSweep()
    }, every)
    this.sweeper.unref()
  }

  async setLogLevel(level: LoggingLevel, session: ClientSession | undefined, principal?: Principal): Promise<void> {
    await Promise.all(this.live().map((s) => s.setLogLevel(level, session, principal)))
  }

  async rootsChanged(session: ClientSession | undefined): Promise<void> {
    await Promise.all(this.live().map((s) => s.rootsChanged(session)))
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.sweeper)
    // A restart under way has two sources running: the serving one and the one starting; both stop.
    await Promise.all(this.live().map((s) => s.stop()))
    this.running.clear()
  }
}
