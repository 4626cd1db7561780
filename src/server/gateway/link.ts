/**
 * One supervised connection to an upstream MCP server: the SDK v2 Client over a child process
 * (stdio) or Streamable HTTP, to an upstream of either protocol era. It negotiates as the
 * 2026-07-28 revision says: `server/discover` first, and `initialize` (the 2025 era, byte for byte
 * as before) when the upstream does not offer the new revision. Two rules on top of the SDK's:
 *   - an upstream that exits, or stays silent, when asked `server/discover` before `initialize`
 *     (servers built on some SDKs exit on any request before initialize) is connected again at
 *     once in the 2025 era, and that verdict is kept for the link's life;
 *   - a 2026-07-28 upstream that leaves out `resultType` (the conformance suite's own reference
 *     server did, in 0.2.0-alpha.11) has its results read as complete, with a warning once: the
 *     SDK would refuse them, and with them every call.
 * It is restarted with exponential backoff when it fails, and while it is down it says why, so a
 * call can fail with a message that names the upstream instead of hanging. An idle link can be
 * suspended (its process stopped); the next use starts it again. Server-to-client traffic
 * (sampling, elicitation, roots, log messages, resource updates) is handed to its `traffic`
 * (traffic.ts), which decides which client, if any, it reaches. A 2026-07-28 upstream's input
 * requests do not come here: the source calls in manual mode and handles them per call
 * (upstream-source.ts, input.ts). Its list changes and resource updates come on one
 * `subscriptions/listen` stream, opened again whenever the set of subscribed resources changes.
 */
import {Client, StreamableHTTPClientTransport, type ClientOptions, type McpSubscription, type Transport} from '@modelcontextprotocol/client'
import type {ClientCapabilities, LoggingLevel, ServerNotification} from '@modelcontextprotocol/server'

import {nestedDeeper} from '../../guard/nesting.js'
import {MAX_NESTING, type Redactor} from '../../guard/redactor.js'
import {boundedFetch} from '../../net/bounded-response.js'
import type {UpstreamDefinition} from '../../upstreams/index.js'
import {needsLoginIn, type FetchLike} from '../../upstreams/oauth/index.js'
import type {Logger} from '../log.js'
import {Refusal, RPC} from '../refusal.js'
import type {ItemKind} from '../tools/source.js'
import {ChildTransport, type Launch} from './child-transport.js'
import {type OutputBudget, upstreamOutput} from './output-budget.js'
import type {LinkTraffic, RelayKind} from './traffic.js'

/** How long an upstream may take from start to answering initialize. */
export const START_TIMEOUT_MS = 30_000
/** How long a stdio upstream may stay silent when asked server/discover before it is taken for a 2025-era one (the SDK then sends initialize). */
const STDIO_PROBE_TIMEOUT_MS = 5_000
const BACKOFF_MIN_MS = 500
const BACKOFF_MAX_MS = 30_000
/** The longest line a stdio upstream may write, and the longest answer (or event of a stream) an HTTP one may send; a longer one is refused at once (child-transport.ts, net/bounded-response.ts). */
export const MAX_LINE_BYTES = 32 * 1024 * 1024

/** The protocol era a connected upstream speaks: 2025-11-25 and before, or 2026-07-28. */
export type UpstreamEra = 'legacy' | 'modern'

export interface Resolved {
  /** stdio: the whole environment of the child. http: the request headers. */
  env?: Record<string, string>
  /** stdio: its private HOME, its sandbox, and what a sandbox must hide (src/server/gateway/sandbox.ts). */
  launch?: Launch
  headers?: Record<string, string>
  /** http with OAuth: the fetch that puts the upstream's access token on each request. */
  fetch?: FetchLike
}

export interface LinkOptions {
  def: UpstreamDefinition
  resolve(): Resolved
  version: string
  log: Logger
  /** What the upstream prints passes through it (every vault secret, the secrets it was given among them) before it is logged. */
  logRedactor(): Redactor
  /** How many of its stderr lines, and warnings about its stdout, are logged: budgets for all the connections of an upstream (absent: this connection's own). */
  output?: {stderr: OutputBudget; stdout: OutputBudget}
  /** What the connection declares of its client, read at each (re)start. */
  capabilities(): ClientCapabilities
  /** Where requests and notifications from the upstream to its clients go; absent: requests are refused, notifications dropped. */
  traffic?: LinkTraffic
  onListChanged?(kind: ItemKind): void
  /** Called each time the connection is (re)established, before anyone is told it is ready. */
  onConnected?(client: Client, era: UpstreamEra): Promise<void>
  /** The log level the client asked for, sent again after a restart. */
  logLevel?(): LoggingLevel | undefined
  /** The resources some client is subscribed to through this connection: a 2026-07-28 upstream's listen stream asks for their updates. */
  subscribedUris?(): readonly string[]
  /** `legacy`: connect with initialize only, as a 2025 client would (the 2025 side of a dual-era upstream, connections.ts). */
  era?: 'legacy'
}

/** What the link has learnt of its upstream's era: nothing yet (negotiate), a 2025-era server that fails the probe, or a 2026-07-28-only one. */
type Verdict = 'negotiate' | 'legacy' | 'modern-only'

type State = {kind: 'starting'} | {kind: 'ready'; client: Client} | {kind: 'down'; reason: string; retryAt: number} | {kind: 'idle'} | {kind: 'stopped'}

export class UpstreamUnavailable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UpstreamUnavailable'
  }
}

export class UpstreamLink {
  private state: State = {kind: 'starting'}
  private attempt = 0
  private waiters: (() => void)[] = []
  private retry?: NodeJS.Timeout
  private transport?: Transport
  private verdict: Verdict
  /** A 2026-07-28 upstream's subscriptions/listen stream, while open. */
  private subscription?: McpSubscription
  /** The last listen() asked for: the next waits for it (see listen). */
  private listening: Promise<void> = Promise.resolve()
  private started = false
  lastUsed = Date.now()
  private readonly output: {stderr: OutputBudget; stdout: OutputBudget}

  constructor(private readonly options: LinkOptions) {
    this.verdict = options.era === 'legacy' ? 'legacy' : 'negotiate'
    this.output = options.output ?? upstreamOutput(options.def.name, options.log)
  }

  /** A link made for the 2025 era (`era: 'legacy'`) whose upstream refused initialize: it has no 2025 side. */
  refusedLegacy = false

  get name(): string {
    return this.options.def.name
  }

  get ready(): boolean {
    return this.state.kind === 'ready'
  }

  /** The era of the current connection; undefined while it is not connected. */
  get era(): UpstreamEra | undefined {
    return this.state.kind === 'ready' ? eraOf(this.state.client) : undefined
  }

  /** Read through a getter: the state changes while connect() awaits. */
  private get stopped(): boolean {
    return this.state.kind === 'stopped' || this.state.kind === 'idle'
  }

  /** Suspended while idle: its process stopped until the next use. */
  get suspended(): boolean {
    return this.state.kind === 'idle'
  }

  /**
   * A stdio upstream whose process runs, or is being started or restarted: what upstream.max-processes
   * counts. Not one down for good (a 2025 side refused, a configuration that cannot be used): no
   * process runs, and none starts before a reload.
   */
  get running(): boolean {
    const {state} = this
    if (state.kind === 'down' && !Number.isFinite(state.retryAt)) return false
    return this.options.def.transport === 'stdio' && this.started && state.kind !== 'stopped' && state.kind !== 'idle'
  }

  start(): void {
    this.started = true
    void this.connect()
  }

  /** Stops an idle connection (its process ends); the next client() starts it again. */
  async suspend(): Promise<void> {
    if (this.state.kind !== 'ready') return
    const {client} = this.state
    this.state = {kind: 'idle'}
    this.options.log('info', `upstream ${this.name} was idle: stopped it until it is used again`)
    await client.close().catch(() => {})
  }

  private settle(): void {
    for (const wake of this.waiters.splice(0)) wake()
  }

  private clean(line: string): string {
    return cleanText(this.options.logRedactor(), line)
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    this.state = {kind: 'starting'}
    const {def, log} = this.options
    let resolved: Resolved
    try {
      resolved = this.options.resolve()
    } catch (err) {
      this.fail(`its configuration cannot be used: ${(err as Error).message}`, true)
      return
    }
    const stdio = def.transport === 'stdio'
    const capabilities = this.options.capabilities()
    const client = new Client(
      {name: 'keyward', version: this.options.version},
      {
        capabilities: capabilities as ClientOptions['capabilities'],
        versionNegotiation: {mode: this.verdict === 'legacy' ? 'legacy' : 'auto', probe: {timeoutMs: stdio ? STDIO_PROBE_TIMEOUT_MS : START_TIMEOUT_MS}},
        // Calls are made in manual mode (allowInputRequired), so that the source answers each call's input itself.
        inputRequired: {autoFulfill: false},
      },
    )
    this.installHandlers(client, capabilities)
    const transport: Transport = stdio
      ? new ChildTransport({
          upstream: def.name,
          command: def.command,
          args: def.args,
          env: resolved.env ?? {},
          launch: resolved.launch,
          maxLineBytes: MAX_LINE_BYTES,
          onLog: (line, kind) => (kind === 'stderr' ? this.output.stderr : this.output.stdout).line(() => this.clean(line)),
        })
      : new StreamableHTTPClientTransport(new URL(def.url), {requestInit: {headers: resolved.headers}, fetch: boundedFetch(resolved.fetch ?? fetch, MAX_LINE_BYTES, `upstream ${def.name}'s answer`)})
    this.transport = transport
    let closedEarly = false
    client.onclose = () => {
      closedEarly = true
      if (this.state.kind === 'ready' && this.state.client === client) this.fail(this.exitReason(transport))
    }
    try {
      await client.connect(transport, {timeout: START_TIMEOUT_MS})
      deliverAnswers(transport, client, () => this.missingResultType())
      if (closedEarly) throw new Error(this.exitReason(transport))
      await this.options.onConnected?.(client, eraOf(client))
      if (eraOf(client) === 'modern') void this.listen(client)
      if (eraOf(client) === 'legacy' && client.getServerCapabilities()?.logging) {
        // Until the level asked for stands still: a client's logging/setLevel that arrives while
        // this one is in flight finds the link not ready yet, and leaves it to this loop. The
        // link is ready right after the last check, with no await between.
        let applied: LoggingLevel | undefined
        for (let level = this.options.logLevel?.(); level && level !== applied; level = this.options.logLevel?.()) {
          await client.setLoggingLevel(level).catch(() => {})
          applied = level
        }
      }
    } catch (err) {
      await client.close().catch(() => {})
      if (this.stopped) return
      // Only a login helps: no retries until the vault changes (a login restarts the upstream).
      const login = needsLoginIn(err)
      if (!login && this.eraVerdict(err, closedEarly)) return
      const why = login ? login.message : err instanceof UpstreamUnavailable ? err.message : closedEarly ? this.exitReason(transport) : describe(err)
      this.fail(`it did not start: ${why}`, login !== undefined)
      return
    }
    if (this.stopped) {
      await client.close().catch(() => {})
      return
    }
    this.attempt = 0
    this.state = {kind: 'ready', client}
    const revision = eraOf(client) === 'modern' ? client.getNegotiatedProtocolVersion() : `2025 era, ${client.getNegotiatedProtocolVersion()}`
    log('info', `upstream ${def.name} is ready (${revision}${transport instanceof ChildTransport ? `; pid ${transport.pid}, ${transport.containment}` : ''})`)
    this.settle()
  }

  /**
   * What a failed connect says of the upstream's era, acted on: true when it was (the link
   * connects again in the era found, or, as a 2025 side, stands down), false for a real failure.
   */
  private eraVerdict(err: unknown, closedEarly: boolean): boolean {
    const {def, log} = this.options
    if (this.options.era === 'legacy' && refusesLegacy(err)) {
      this.refusedLegacy = true
      this.state = {kind: 'down', reason: 'it speaks only MCP 2026-07-28', retryAt: Number.POSITIVE_INFINITY}
      log('info', `upstream ${def.name} has no 2025 side (it refused initialize): 2025 clients reach its 2026-07-28 side across keyward's bridge`)
      this.settle()
      return true
    }
    if (this.verdict === 'legacy' && refusesLegacy(err)) {
      this.verdict = 'modern-only'
      log('info', `upstream ${def.name} speaks only MCP 2026-07-28; connecting again in that revision`)
    } else if (this.verdict === 'negotiate' && closedEarly) {
      // Some servers exit on any request before initialize: the probe ended it, not a fault.
      this.verdict = 'legacy'
      log('info', `upstream ${def.name} exited when asked server/discover; connecting again in the 2025 era`)
    } else return false
    void this.connect()
    return true
  }

  /**
   * A 2026-07-28 upstream sends no unsolicited notifications: its list changes come on a
   * subscriptions/listen stream, to the same notification handlers. Without one, keyward still
   * lists it at start and after a restart. One at a time: each closes the stream before it,
   * which two running at once would both miss, leaving a stream open on the upstream for good.
   */
  private listen(client: Client): Promise<void> {
    const next = this.listening.then(() => this.openListen(client))
    this.listening = next.catch(() => {})
    return next
  }

  private async openListen(client: Client): Promise<void> {
    const caps = client.getServerCapabilities() ?? {}
    const uris = caps.resources?.subscribe ? [...(this.options.subscribedUris?.() ?? [])] : []
    const filter = {
      ...(this.options.onListChanged && caps.tools?.listChanged && {toolsListChanged: true}),
      ...(this.options.onListChanged && caps.prompts?.listChanged && {promptsListChanged: true}),
      ...(this.options.onListChanged && caps.resources?.listChanged && {resourcesListChanged: true}),
      ...(uris.length > 0 && {resourceSubscriptions: uris}),
    }
    const previous = this.subscription
    this.subscription = undefined
    await previous?.close().catch(() => {})
    if (Object.keys(filter).length === 0) return
    try {
      const subscription = await client.listen(filter)
      if (this.state.kind === 'ready' && this.state.client !== client) return void subscription.close().catch(() => {})
      this.subscription = subscription
    } catch (err) {
      this.options.log('warn', `upstream ${this.name}: it offers no subscriptions/listen stream (${this.clean(describe(err))}); its list changes${uris.length > 0 ? ' and resource updates' : ''} are not followed`)
    }
  }

  /**
   * The set of subscribed resources changed: a 2026-07-28 upstream has no resources/subscribe,
   * so its listen stream is opened again with the new set (the revision's way to change a
   * filter). A 2025-era one is told by resources/subscribe, by the source.
   */
  async resubscribe(): Promise<void> {
    if (this.state.kind !== 'ready' || eraOf(this.state.client) !== 'modern') return
    await this.listen(this.state.client)
  }

  private warnedResultType = false

  private missingResultType(): void {
    if (this.warnedResultType) return
    this.warnedResultType = true
    this.options.log('warn', `upstream ${this.name} speaks MCP 2026-07-28 but leaves resultType out of its results, which that revision requires; keyward reads them as complete`)
  }

  private exitReason(transport: Transport): string {
    const exit = (transport as ChildTransport).exit
    if (!exit) return 'the connection closed'
    return exit.signal ? `it was killed (${exit.signal})` : `it exited with code ${exit.code}`
  }

  /** Marks the link down and schedules a restart (unless the failure is one a restart cannot fix). */
  private fail(why: string, permanent = false): void {
    if (this.stopped) return
    // The reason may quote the upstream (its error, its HTTP body), and goes to the log, to `upstream test` and to clients.
    const reason = this.clean(why)
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt++)
    this.state = {kind: 'down', reason, retryAt: permanent ? Number.POSITIVE_INFINITY : Date.now() + delay}
    this.options.log('error', `upstream ${this.name} is down: ${reason}${permanent ? '; fix it and reload the vault' : `; restarting in ${Math.round(delay / 100) / 10}s`}`)
    this.settle()
    if (!permanent) {
      clearTimeout(this.retry)
      this.retry = setTimeout(() => void this.connect(), delay)
      this.retry.unref()
    }
  }

  private installHandlers(client: Client, caps: ClientCapabilities): void {
    const traffic = this.options.traffic
    const relay = (kind: RelayKind, request: {method: string; params?: unknown}, signal: AbortSignal) => {
      if (!traffic) throw Refusal.notSupported(`${kind} is not available: no client session to ask`)
      return traffic.request(kind, request, signal) as Promise<never>
    }
    // A 2025-era upstream sends these as requests; a 2026-era one as input requests of a result,
    // which the client fulfils through these same handlers before it retries the call. The
    // channel's SDK checks the client's answer against the method's result schema.
    if (caps.sampling) client.setRequestHandler('sampling/createMessage', (request, ctx) => relay('sampling', request, ctx.mcpReq.signal))
    if (caps.elicitation) client.setRequestHandler('elicitation/create', (request, ctx) => relay('elicitation', request, ctx.mcpReq.signal))
    if (caps.roots) client.setRequestHandler('roots/list', (request, ctx) => relay('roots', request, ctx.mcpReq.signal))
    client.setNotificationHandler('notifications/tools/list_changed', () => this.options.onListChanged?.('tool'))
    client.setNotificationHandler('notifications/prompts/list_changed', () => this.options.onListChanged?.('prompt'))
    client.setNotificationHandler('notifications/resources/list_changed', () => this.options.onListChanged?.('resource'))
    client.setNotificationHandler('notifications/resources/updated', (n) => traffic?.notify(n as ServerNotification))
    client.setNotificationHandler('notifications/message', (n) => traffic?.notify(n as ServerNotification))
  }

  /** The connected client, waiting up to `waitMs` while it starts; UpstreamUnavailable when it is down. */
  async client(waitMs: number): Promise<Client> {
    this.lastUsed = Date.now()
    if (this.state.kind === 'idle') {
      this.state = {kind: 'starting'}
      void this.connect()
    }
    if (this.state.kind === 'starting' && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        timer.unref()
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    const state = this.state as State
    switch (state.kind) {
      case 'ready':
        return state.client
      case 'starting':
        throw new UpstreamUnavailable(`upstream ${this.name} is still starting; try again shortly`)
      case 'down': {
        const wait = state.retryAt - Date.now()
        const when = Number.isFinite(wait) ? `; it restarts in ${Math.max(1, Math.round(wait / 1000))}s` : ''
        throw new UpstreamUnavailable(`upstream ${this.name} is unavailable: ${state.reason}${when}`)
      }
      case 'idle':
      case 'stopped':
        throw new UpstreamUnavailable(`upstream ${this.name} was stopped`)
    }
  }

  async stop(): Promise<void> {
    const previous = this.state
    this.state = {kind: 'stopped'}
    clearTimeout(this.retry)
    this.settle()
    if (previous.kind === 'ready') await previous.client.close().catch(() => {})
    else await this.transport?.close().catch(() => {})
  }
}

/**
 * How answers reach the SDK client. It handles a notification a microtask after it arrives, but
 * an answer at once, and forgets a request's progress handler with its answer: progress that
 * arrives with the answer (one read of the upstream's output, one SSE chunk) would be dropped. So
 * answers, and the end of the connection, are handed over a turn later, after the notifications
 * that came before them. And a 2026-07-28 result without `resultType` is read as complete
 * (`missing` is told), rather than refused with the call (see the module comment). An answer
 * nested deeper than MAX_NESTING (the redactor reads no deeper, and JSON.stringify overflows its
 * stack near 5,000 levels, which left a call that deep with no answer) becomes an error that says
 * so; a notification or request that deep is dropped.
 */
function deliverAnswers(transport: Transport, client: Client, missing: () => void): void {
  const deliver = transport.onmessage
  const closed = transport.onclose
  if (deliver) {
    transport.onmessage = (message, extra) => {
      const tooDeep = nestedDeeper(message, MAX_NESTING)
      if ('method' in message || !('id' in message)) return tooDeep ? undefined : deliver.call(transport, message, extra)
      if (tooDeep) {
        const error = {code: RPC.INTERNAL_ERROR, message: `the upstream's answer is nested deeper than ${MAX_NESTING} levels, and was discarded`, data: {reason: 'too_deep', limit: MAX_NESTING}}
        message = {jsonrpc: '2.0', id: message.id, error} as unknown as typeof message
      }
      const result = (message as {result?: unknown}).result
      if (isObject(result) && result.resultType === undefined && client.getProtocolEra() === 'modern') {
        missing()
        message = {...message, result: {...result, resultType: 'complete'}} as typeof message
      }
      setImmediate(() => deliver.call(transport, message, extra))
    }
  }
  if (closed) transport.onclose = () => setImmediate(() => closed.call(transport))
}

/** Text an upstream wrote, as keyward may log or show it: every vault secret redacted, and bounded. */
export function cleanText(redactor: Redactor, text: string): string {
  const out = redactor.text(text)
  return out.length > 500 ? `${out.slice(0, 500)}…` : out
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether a failed connect was the upstream refusing `initialize` with UNSUPPORTED_PROTOCOL_VERSION, as a 2026-07-28-only server does (in-band over stdio, an HTTP 400 body over HTTP). */
function refusesLegacy(err: unknown): boolean {
  const e = err as {code?: unknown; message?: unknown; data?: {text?: unknown}}
  if (e?.code === RPC.UNSUPPORTED_PROTOCOL_VERSION) return true
  return [e?.message, e?.data?.text].some((text) => typeof text === 'string' && new RegExp(`"code"\\s*:\\s*${RPC.UNSUPPORTED_PROTOCOL_VERSION}`).test(text))
}

function eraOf(client: Client): UpstreamEra {
  return client.getProtocolEra() === 'modern' ? 'modern' : 'legacy'
}

function describe(err: unknown): string {
  const e = err as {code?: unknown; message?: string}
  const message = (e?.message ?? String(err)).replace(/^MCP error -?\d+: /, '')
  return message.length > 300 ? `${message.slice(0, 300)}…` : message
}
