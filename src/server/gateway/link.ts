/**
 * One supervised connection to an upstream MCP server: the SDK Client over a child process
 * (stdio) or Streamable HTTP. It is restarted with exponential backoff when it fails, and while
 * it is down it says why, so a call can fail with a message that names the upstream instead of
 * hanging. Server-to-client traffic (sampling, elicitation, roots, log messages, resource
 * updates) goes to whatever `relay` names at that moment.
 */
import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  CreateMessageRequestSchema,
  CreateMessageResultSchema,
  ElicitRequestSchema,
  ElicitResultSchema,
  ListRootsRequestSchema,
  ListRootsResultSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
  type LoggingLevel,
} from '@modelcontextprotocol/sdk/types.js'

import type {UpstreamDefinition} from '../../upstreams/index.js'
import {needsLoginIn, type FetchLike} from '../../upstreams/oauth/index.js'
import type {Logger} from '../log.js'
import {RpcError} from '../pipeline/chain.js'
import type {ClientChannel, ItemKind} from '../tools/source.js'
import {ChildTransport} from './child-transport.js'

/** How long an upstream may take from start to answering initialize. */
export const START_TIMEOUT_MS = 30_000
const BACKOFF_MIN_MS = 500
const BACKOFF_MAX_MS = 30_000
const MAX_LINE_BYTES = 32 * 1024 * 1024

export interface Resolved {
  /** stdio: the whole environment of the child. http: the request headers. */
  env?: Record<string, string>
  headers?: Record<string, string>
  /** http with OAuth: the fetch that puts the upstream's access token on each request. */
  fetch?: FetchLike
  /** Secret values the upstream was given: removed from anything it prints before it is logged. */
  secretValues: string[]
}

export interface LinkOptions {
  def: UpstreamDefinition
  resolve(): Resolved
  version: string
  log: Logger
  capabilities: ClientCapabilities
  /** Where requests and notifications from the upstream to the client go, if anywhere. */
  relay(): ClientChannel | undefined
  onListChanged?(kind: ItemKind): void
  /** Called each time the connection is (re)established, before anyone is told it is ready. */
  onConnected?(client: Client): Promise<void>
  /** The log level the client asked for, sent again after a restart. */
  logLevel?(): LoggingLevel | undefined
}

type State = {kind: 'starting'} | {kind: 'ready'; client: Client} | {kind: 'down'; reason: string; retryAt: number} | {kind: 'stopped'}

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
  /** Calls in flight, with the channel back to their client: the relay target for requests they cause. */
  readonly inFlight = new Set<ClientChannel>()
  lastUsed = Date.now()

  constructor(private readonly options: LinkOptions) {}

  get name(): string {
    return this.options.def.name
  }

  get ready(): boolean {
    return this.state.kind === 'ready'
  }

  /** Read through a getter: the state changes while connect() awaits. */
  private get stopped(): boolean {
    return this.state.kind === 'stopped'
  }

  start(): void {
    void this.connect()
  }

  private settle(): void {
    for (const wake of this.waiters.splice(0)) wake()
  }

  private clean(line: string): string {
    let out = line
    for (const value of this.transportSecrets) if (value.length >= 4) out = out.split(value).join('[REDACTED]')
    return out.length > 500 ? `${out.slice(0, 500)}…` : out
  }

  private transportSecrets: string[] = []

  private async connect(): Promise<void> {
    if (this.state.kind === 'stopped') return
    this.state = {kind: 'starting'}
    const {def, log} = this.options
    let resolved: Resolved
    try {
      resolved = this.options.resolve()
    } catch (err) {
      this.fail(`its configuration cannot be used: ${(err as Error).message}`, true)
      return
    }
    this.transportSecrets = resolved.secretValues
    const client = new Client({name: 'keyward', version: this.options.version}, {capabilities: this.options.capabilities})
    this.installHandlers(client)
    let transport: Transport
    if (def.transport === 'stdio') {
      transport = new ChildTransport({
        command: def.command,
        args: def.args,
        env: resolved.env ?? {},
        maxLineBytes: MAX_LINE_BYTES,
        onLog: (line, kind) => log(kind === 'stderr' ? 'info' : 'warn', `upstream ${def.name}: ${this.clean(line)}`),
      })
    } else {
      const {StreamableHTTPClientTransport} = await import('@modelcontextprotocol/sdk/client/streamableHttp.js')
      transport = new StreamableHTTPClientTransport(new URL(def.url), {requestInit: {headers: resolved.headers}, ...(resolved.fetch ? {fetch: resolved.fetch} : {})})
    }
    this.transport = transport
    let closedEarly = false
    client.onclose = () => {
      closedEarly = true
      if (this.state.kind === 'ready' && this.state.client === client) this.fail(this.exitReason(transport))
    }
    try {
      await client.connect(transport, {timeout: START_TIMEOUT_MS})
      if (closedEarly) throw new Error(this.exitReason(transport))
      await this.options.onConnected?.(client)
      const level = this.options.logLevel?.()
      if (level && client.getServerCapabilities()?.logging) await client.setLoggingLevel(level).catch(() => {})
    } catch (err) {
      await client.close().catch(() => {})
      if (this.stopped) return
      // Only a login helps: no retries until the vault changes (a login restarts the upstream).
      const login = needsLoginIn(err)
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
    log('info', `upstream ${def.name} is ready${def.transport === 'stdio' ? ` (pid ${(transport as ChildTransport).pid})` : ''}`)
    this.settle()
  }

  private exitReason(transport: Transport): string {
    const exit = (transport as ChildTransport).exit
    if (!exit) return 'the connection closed'
    return exit.signal ? `it was killed (${exit.signal})` : `it exited with code ${exit.code}`
  }

  /** Marks the link down and schedules a restart (unless the failure is one a restart cannot fix). */
  private fail(reason: string, permanent = false): void {
    if (this.state.kind === 'stopped') return
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

  private installHandlers(client: Client): void {
    const caps = this.options.capabilities
    const relayRequest = <T>(kind: string, request: {method: string; params?: unknown}, schema: {parse(v: unknown): T}, signal: AbortSignal): Promise<T> => {
      const target = this.relayTarget()
      if (!target) throw new RpcError(-32601, `${kind} is not available: no client session to ask`)
      return target.request(request as never, schema, {signal})
    }
    if (caps.sampling) client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => relayRequest('sampling', request, CreateMessageResultSchema, extra.signal))
    if (caps.elicitation) client.setRequestHandler(ElicitRequestSchema, (request, extra) => relayRequest('elicitation', request, ElicitResultSchema, extra.signal))
    if (caps.roots) client.setRequestHandler(ListRootsRequestSchema, (request, extra) => relayRequest('roots', request, ListRootsResultSchema, extra.signal))
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.options.onListChanged?.('tool'))
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => this.options.onListChanged?.('prompt'))
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => this.options.onListChanged?.('resource'))
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void this.options.relay()?.notify(n).catch(() => {}))
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void this.relayTarget()?.notify(n).catch(() => {}))
  }

  /** A request the upstream makes while serving a call goes to that call's client; otherwise to the session's. */
  private relayTarget(): ClientChannel | undefined {
    if (this.inFlight.size === 1) return [...this.inFlight][0]
    return this.options.relay()
  }

  /** The connected client, waiting up to `waitMs` while it starts; UpstreamUnavailable when it is down. */
  async client(waitMs: number): Promise<Client> {
    this.lastUsed = Date.now()
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
    const state = this.state
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

function describe(err: unknown): string {
  const e = err as {code?: unknown; message?: string}
  const message = (e?.message ?? String(err)).replace(/^MCP error -?\d+: /, '')
  return message.length > 300 ? `${message.slice(0, 300)}…` : message
}
