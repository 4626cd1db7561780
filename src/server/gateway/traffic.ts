/**
 * What an upstream sends towards clients outside the answers to keyward's requests, and where
 * it goes. One `Traffic` per upstream connection: it knows the calls in flight on that
 * connection (each with the way back to its client), the sessions subscribed to each resource,
 * and each session's log level, and routes by them:
 *
 *   - a request (sampling, elicitation, roots) goes to the client whose call caused it when that
 *     is certain: exactly one call in flight, or the connection serves one client session only
 *     (stdio, `--isolation session`), and then, outside a call, only while that session's key,
 *     as it stands now, may see something of the upstream (mayHear). Otherwise it is refused at
 *     once (METHOD_NOT_FOUND) and logged, naming the upstream: it never reaches a client that did
 *     not cause it; at most MAX_INPUT_REQUESTS of them wait on clients at once (relay);
 *   - a resource update goes to the sessions subscribed to that resource through this connection
 *     whose principal, as it stands now, may still read it (a key narrowed since it subscribed
 *     hears no more of it; Connections.dropUnreadable takes such subscriptions out at a reload);
 *   - a log message goes to the caller when that is certain, to every session that asked for log
 *     messages (logging/setLevel) when no call is in flight, and nowhere when calls of several
 *     sessions are in flight; each session gets only what its level admits.
 *
 * Progress needs no routing: each request carries its own progress token (link.ts), and the
 * SDK client gives each request its own id.
 */
import type {ClientCapabilities, ClientResult, LoggingLevel, ServerNotification} from '@modelcontextprotocol/server'

import {MAX_INPUT_REQUESTS} from '../era/protocol.js'
import type {Logger} from '../log.js'
import {Refusal} from '../refusal.js'
import type {ClientChannel, ClientSession} from '../tools/source.js'

/** What an upstream may ask of its client. */
export type RelayKind = 'sampling' | 'elicitation' | 'roots'

/** How a connection hands over what it receives for clients (link.ts). */
export interface LinkTraffic {
  request(kind: RelayKind, request: {method: string; params?: unknown}, signal: AbortSignal): Promise<ClientResult>
  notify(notification: ServerNotification): void
}

/**
 * A request in flight on a connection: the way back to its client (none for a request outside a
 * call, such as completion), and its session (none in stateless mode). Every request counts, so
 * that "exactly one in flight" is certain.
 */
export interface Call {
  channel?: ClientChannel
  session?: ClientSession
  /** A 2026-07-28 client's call: no session, its channel asks through the input bridge (server/bridge), which checks what the client declared. */
  bridged?: boolean
}

// ---- log levels -----------------------------------------------------------------------------

const SEVERITY: Record<LoggingLevel, number> = {debug: 0, info: 1, notice: 2, warning: 3, error: 4, critical: 5, alert: 6, emergency: 7}

/** The log level each client session asked for (logging/setLevel); stateless clients share one. */
export class LogLevels {
  private readonly bySession = new Map<ClientSession, LoggingLevel>()
  private stateless?: LoggingLevel

  set(session: ClientSession | undefined, level: LoggingLevel): void {
    if (session) this.bySession.set(session, level)
    else this.stateless = level
  }

  of(session: ClientSession | undefined): LoggingLevel | undefined {
    return session ? this.bySession.get(session) : this.stateless
  }

  /** Whether a message at `level` may reach this session: a session that set no level gets what the upstream sends. */
  admits(session: ClientSession | undefined, level: LoggingLevel): boolean {
    const wanted = this.of(session)
    return wanted === undefined || (SEVERITY[level] ?? 0) >= SEVERITY[wanted]
  }

  /** The sessions that asked for log messages. */
  sessions(): IterableIterator<ClientSession> {
    return this.bySession.keys()
  }

  forget(session: ClientSession): void {
    this.bySession.delete(session)
  }

  /** The most verbose level of these sessions (and the stateless one): what the upstream is asked to send. */
  mostVerbose(sessions: Iterable<ClientSession>): LoggingLevel | undefined {
    let best = this.stateless
    for (const session of sessions) {
      const level = this.bySession.get(session)
      if (level && (best === undefined || SEVERITY[level] < SEVERITY[best])) best = level
    }
    return best
  }
}

// ---- resource subscriptions -----------------------------------------------------------------

/** The sessions subscribed to each resource through one connection: the upstream hears of the first and the last. */
export class Subscriptions {
  private readonly byUri = new Map<string, Set<ClientSession>>()

  /** True when this is the resource's first subscriber (subscribe upstream). */
  add(uri: string, session: ClientSession): boolean {
    const set = this.byUri.get(uri)
    if (set) {
      set.add(session)
      return false
    }
    this.byUri.set(uri, new Set([session]))
    return true
  }

  /** True when the resource has no subscriber left (unsubscribe upstream); false also when the session was not subscribed. */
  remove(uri: string, session: ClientSession): boolean {
    const set = this.byUri.get(uri)
    if (!set?.delete(session)) return false
    if (set.size > 0) return false
    this.byUri.delete(uri)
    return true
  }

  /** Takes a closed session out of every resource; returns the resources left with no subscriber. */
  drop(session: ClientSession): string[] {
    const emptied: string[] = []
    for (const uri of [...this.byUri.keys()]) if (this.remove(uri, session)) emptied.push(uri)
    return emptied
  }

  of(uri: string): Iterable<ClientSession> {
    return this.byUri.get(uri) ?? []
  }

  has(uri: string, session: ClientSession): boolean {
    return this.byUri.get(uri)?.has(session) === true
  }

  uris(): string[] {
    return [...this.byUri.keys()]
  }

  get size(): number {
    return this.byUri.size
  }
}

// ---- routing --------------------------------------------------------------------------------

export interface TrafficOptions {
  upstream: string
  log: Logger
  /** The one client session this connection serves (stdio, `--isolation session`); absent when several share it. */
  owner?: () => ClientSession | undefined
  levels: LogLevels
  /** The sessions that use this connection, for log messages that belong to no call. */
  sessions(): Iterable<ClientSession>
  /** Whether a subscribed session may read the resource now: its principal as it stands now, not as it subscribed. */
  mayRead(session: ClientSession, uri: string): boolean
  /**
   * Whether a session may hear a message no call of its own caused: its principal, as it stands
   * now, may see something of this upstream. Undefined while that cannot be told yet (no request
   * of the session seen, or nothing listed): a log message then goes nowhere, a request is made.
   */
  mayHear(session: ClientSession): boolean | undefined
}

const DECLARED: Record<RelayKind, keyof ClientCapabilities> = {sampling: 'sampling', elicitation: 'elicitation', roots: 'roots'}

export class Traffic implements LinkTraffic {
  private readonly calls = new Set<Call>()
  /** Who waits for the calls in flight to end (whenQuiet). */
  private quietWaiters: (() => void)[] = []
  readonly subscriptions = new Subscriptions()
  /** The upstream's requests waiting on a client now (relay). */
  private waiting = 0
  private floodTold = false

  constructor(private readonly options: TrafficOptions) {}

  /** A call starts on this connection; the function returned ends it. */
  begin(call: Call): () => void {
    this.calls.add(call)
    return () => {
      if (!this.calls.delete(call) || this.calls.size > 0) return
      const waiters = this.quietWaiters
      this.quietWaiters = []
      for (const settle of waiters) settle()
    }
  }

  /** No call in flight. */
  get quiet(): boolean {
    return this.calls.size === 0
  }

  /** Settles once no call is in flight (at once if none is): what a restart waits for before it stops the old connection (Gateway.retire). */
  whenQuiet(): Promise<void> {
    if (this.quiet) return Promise.resolve()
    return new Promise((resolve) => this.quietWaiters.push(resolve))
  }

  private get only(): Call | undefined {
    return this.calls.size === 1 ? this.calls.values().next().value : undefined
  }

  /** The calls in flight, if all of them come from one client session: the first of them. */
  private oneSession(): Call | undefined {
    let first: Call | undefined
    for (const call of this.calls) {
      if (!first) first = call
      else if (!call.session || call.session !== first.session) return undefined
    }
    return first
  }

  async request(kind: RelayKind, request: {method: string; params?: unknown}, signal: AbortSignal): Promise<ClientResult> {
    const owner = this.options.owner?.()
    const call = this.only
    // Outside a call of its own, the one client is not asked once its key may see nothing of this upstream (mayHear), as for log messages;
    // one not known yet here (stdio's upstream asks for roots as it starts, before the first list) is asked, as before.
    if (!call && owner && this.calls.size === 0 && this.options.mayHear(owner) === false) throw this.refuse(kind, 'while no call was in flight, of a client whose key may not use this upstream')
    const target: Call | undefined = call ?? (owner ? {channel: owner.channel, session: owner} : undefined)
    if (!target?.channel) throw this.refuse(kind, this.calls.size === 0 ? 'while no call was in flight' : `while ${this.calls.size} calls were in flight`)
    if (target.bridged) return this.relay(kind, target.channel, request, signal)
    if (!target.session) throw this.refuse(kind, 'for a stateless HTTP client, which has no way back')
    if (!target.session.capabilities()?.[DECLARED[kind]]) throw this.refuse(kind, `of a client that did not declare ${kind}`)
    return this.relay(kind, target.channel, request, signal)
  }

  /**
   * Passes a request on to its client, at most MAX_INPUT_REQUESTS at once per connection, as a
   * 2026-07-28 upstream's input requests are: the upstream chooses how many it sends, and each
   * may cost the client a model call (sampling) or put a question to its user (elicitation).
   * Past that it is refused at once, and the log says so once.
   */
  private async relay(kind: RelayKind, channel: ClientChannel, request: {method: string; params?: unknown}, signal: AbortSignal): Promise<ClientResult> {
    if (this.waiting >= MAX_INPUT_REQUESTS) {
      if (!this.floodTold) this.options.log('warn', `upstream ${this.options.upstream} asked its client for more than ${MAX_INPUT_REQUESTS} things at once: the requests past ${MAX_INPUT_REQUESTS} are refused`)
      this.floodTold = true
      throw Refusal.notSupported(`${kind} is not available: upstream ${this.options.upstream} has ${MAX_INPUT_REQUESTS} requests waiting on its client already`)
    }
    this.waiting++
    try {
      return await channel.request(request as never, {signal})
    } finally {
      this.waiting--
    }
  }

  private refuse(kind: RelayKind, why: string): Refusal {
    const advice = this.options.owner ? '' : '; a shared upstream cannot tell whose call asked: give it --isolation session'
    this.options.log('warn', `upstream ${this.options.upstream} asked for ${kind} ${why}: refused${advice}`)
    return Refusal.notSupported(`${kind} is not available: keyward could not tell which client to ask (${why})`)
  }

  notify(notification: ServerNotification): void {
    if (notification.method === 'notifications/resources/updated') {
      const {uri} = notification.params
      for (const session of this.subscriptions.of(uri)) if (this.options.mayRead(session, uri)) void session.channel.notify(notification).catch(() => {})
    } else if (notification.method === 'notifications/message') {
      this.logMessage(notification, notification.params.level)
    }
  }

  private logMessage(notification: ServerNotification, level: LoggingLevel): void {
    const {levels} = this.options
    const send = (channel: ClientChannel) => void channel.notify(notification).catch(() => {})
    const owner = this.options.owner?.()
    if (owner) {
      // Outside a call, only what its scopes let it hear (mayHear).
      if (levels.admits(owner, level) && (this.only || this.options.mayHear(owner) === true)) send(this.only?.channel ?? owner.channel)
      return
    }
    const caller = this.only ?? this.oneSession()
    if (caller) {
      const channel = caller.channel ?? caller.session?.channel
      // A 2026-07-28 call's channel admits by the level its request named.
      if (channel && (caller.bridged || levels.admits(caller.session, level))) send(channel)
      return
    }
    // Calls of several sessions in flight: whose message this is cannot be told, so no one gets it.
    if (this.calls.size > 0) return
    for (const session of this.options.sessions()) if (levels.of(session) !== undefined && levels.admits(session, level) && this.options.mayHear(session) === true) send(session.channel)
  }
}
