/**
 * `keyward serve`: wires the vault, the runtime, the catalog, the stage lists, the MCP server and
 * a transport; each part lives in its own file, and this one only connects them. Heavy modules
 * (the MCP SDK, zod, ajv) are imported by this module only, which the serve command loads lazily.
 */
import {clientText, principalFields, type AuditEvent} from '../audit/index.js'
import type {Principal} from '../auth/index.js'
import {RateLimits} from '../ratelimit/limits.js'
import {countValue, durationValue} from '../config/index.js'
import {redisTarget} from '../config/redis.js'
import {resolveRedis} from '../redis/url.js'
import {adoptNewerCopy} from '../vault/index.js'
import {assembleStages} from './assemble.js'
import {DEFAULT_BRIDGE_LIMITS, InputBridge, type BridgeReport} from './bridge/bridge.js'
import type {Era} from './era/protocol.js'
import type {Cluster} from './cluster.js'
import {LiveVault} from './live-vault.js'
import {ConnectedServers, createMcpServer, type McpDeps} from './mcp.js'
import {openAudit} from './open-audit.js'
import {openRequestState} from './open-request-state.js'
import type {ServeOptions} from './options.js'
import {buildPipeline, type Pipeline} from './pipeline/pipeline.js'
import {routes, type Routes} from './routes.js'
import {LiveRuntime, type Runtime, type RuntimeEnv} from './runtime.js'
import {shutDown} from './shutdown.js'
import {startCluster} from './start-cluster.js'
import type {Gateway} from './gateway/gateway.js'
import type {Logger} from './log.js'
import {startGateway, type StartedGateway} from './start-gateway.js'
import {startHttp, type Listening} from './start-http.js'
import {startStdio} from './start-stdio.js'
import {builtinSource} from './tools/builtin/index.js'
import type {ServeMode} from './gateway/upstream-source.js'
import {Catalog} from './tools/catalog.js'
import type {ClientSession, ServerInfo} from './tools/source.js'
import {ListenStreams} from './transports/listen.js'
import {DEFAULT_SESSION_LIMITS, SessionStore} from './transports/sessions.js'

export {DEFAULT_PORT, MCP_PATH} from './defaults.js'
export {stderrLogger} from './log.js'
export type {ServeOptions} from './options.js'
export {isLoopback} from '../net/addresses.js'
export {compose, type Stage} from './pipeline/chain.js'
export {Refusal, RPC} from './refusal.js'
export {StaticSource, type ToolSource} from './tools/source.js'

export interface RunningServer {
  /** The MCP endpoint (HTTP only). */
  url?: string
  /** The authentication in force: the kinds of credential accepted (empty under --auth none). */
  auth(): string[]
  /** Resolves when a stdio client closed its input. */
  ended?: Promise<void>
  reload(): Promise<void>
  close(): Promise<void>
}

/** Principals whose credential expires without a reload (a key's expiry) are checked this often. */
const PRUNE_MS = 30_000

export async function serve(options: ServeOptions): Promise<RunningServer> {
  const {log} = options
  const overrides: Record<string, string | undefined> = {...options.settings, ...(options.auth ? {'auth.methods': options.auth.join(',')} : {})}
  const replica: {cluster?: Cluster} = {}
  // Redis named by the flag or the environment is reached first: a newer copy of the vault there
  // (from a write on another host) replaces an older file before it is loaded.
  replica.cluster = await startCluster(options, resolveRedis(overrides['redis.url'], undefined, undefined), (bytes) => adoptNewerCopy(options.vaultFile, bytes, options.material))
  const live = await LiveVault.load(options.vaultFile, options.material, log)
  const listening: Listening = {hosts: []}
  // The upstream token broker starts with the gateway, after the first runtime: read through this once it has.
  const upstreamTokens: {broker?: StartedGateway['tokens']} = {}
  const runtimes = new LiveRuntime(overrides, {...runtimeEnv(options, live, listening, replica), heldSecrets: () => upstreamTokens.broker?.heldSecrets() ?? []}, live.snapshot)
  const runtime = runtimes.current
  replica.cluster ??= await startCluster(options, redisTarget(runtime().config, live.snapshot.data, overrides['redis.url']), (bytes) => live.adopt(bytes))
  const audit = await openAudit(options, live, runtime, replica.cluster !== undefined)
  const info: ServerInfo = {name: 'keyward', version: options.version, startedAt: Date.now()}
  const catalog = new Catalog([builtinSource(), ...(options.extraSources ?? [])], () => runtime().redactor, (kind, name, kept, dropped) =>
    log('warn', `${kind} ${name} is offered by ${kept} and ${dropped}; serving ${kept}'s`),
  )
  const limits = new RateLimits()
  const sessionLimits = () => ({...DEFAULT_SESSION_LIMITS, maxPerPrincipal: countValue(runtime().config, 'sessions.per-principal')})
  const sessions = options.transport === 'http' && !options.stateless ? new SessionStore(sessionLimits) : undefined
  const stages = assembleStages({transport: options.transport, extra: options.extraStages, catalog, info, log, hosts: () => listening.hosts, sessions, limits, audit})
  const pipeline = buildPipeline(stages, runtime)
  const stdio: {session?: ClientSession} = {}
  const heldChanged = () => runtimes.reload(live.snapshot)
  const {gateway, gate, tokens} = await startGateway(options, {catalog, live, runtime, replica, audit, mode: serveMode(options, sessions), stdio, heldChanged})
  upstreamTokens.broker = tokens
  const sealer = await openRequestState(live, log, () => replica.cluster)
  const inputTimeout = () => durationValue(runtime().config, 'server.input-timeout')
  const bridge = new InputBridge(sealer, (event) => audit.record(bridgeEvent(event, options.transport, runtime())).catch(() => {}), {...DEFAULT_BRIDGE_LIMITS, ttlMs: inputTimeout})
  const deps: McpDeps = {info, catalog, call: pipeline.call, auth: () => declaredAuth(runtime()), hooks: gateway.hooks(), sessions: true, redactor: () => runtime().redactor, bridge}
  const current = (principal: Principal) => runtime().authenticators.current(principal)
  const {transport, listen} = await startTransport(options, {deps, pipeline, live, sessions, stdio, listening, routes: routes(runtime, () => replica.cluster), current})
  const prune = pruneOutliving({sessions, listen, gateway, bridge, runtime, current, log})
  live.onReload((snapshot) => {
    audit.record({event: 'server.reload', generation: snapshot.generation}).catch(() => {})
    // Settings live in the vault too: a change to them takes effect like a revocation does.
    runtimes.reload(snapshot)
    catalog.refresh()
    gateway.reconcile(snapshot.data).catch((err) => log('error', `upstreams: ${(err as Error).message}`))
    prune()
  })
  const pruner = setInterval(prune, PRUNE_MS)
  pruner.unref()
  if (options.watch) live.watch()
  replica.cluster?.attach({live, limits, audit, url: () => transport.url, onRevoked: prune})
  const started = {transport: options.transport, ...(transport.url ? {url: transport.url} : {}), version: options.version, pid: process.pid, generation: live.snapshot.generation}
  audit.record({event: 'server.start', ...started}).catch(() => {})
  const steps = () => closingSteps(replica, live, transport, {gateway, gate, tokens}, pruner, bridge)
  return {
    url: transport.url,
    auth: () => runtime().authenticators.types,
    ended: transport.ended,
    reload: () => live.reload(),
    close: () => shutDown(steps(), audit, {transport: options.transport, pid: process.pid}, log),
  }
}

interface Outliving {
  sessions?: SessionStore
  listen?: ListenStreams
  gateway: Gateway
  bridge: InputBridge
  runtime: () => Runtime
  current(principal: Principal): Principal | undefined
  log: Logger
}

/**
 * What outlives a request, held to its principal as it stands now (Authenticators.current), at
 * every reload, every PRUNE_MS (expiry) and at a revocation notice from Redis: sessions and
 * listen streams are closed once it is no longer valid, and otherwise keep it as it is now (a key
 * narrowed by `keys scope` keeps its sessions, under its new scopes); resource subscriptions it
 * may no longer read are dropped; calls waiting for input end with their caller's validity.
 */
function pruneOutliving({sessions, listen, gateway, bridge, runtime, current, log}: Outliving): () => void {
  return () => {
    const closed = (sessions?.prune(current) ?? 0) + (listen?.prune(current) ?? 0)
    if (closed > 0) log('info', `closed ${closed} session(s) or listen stream(s) whose credential is no longer valid`)
    const dropped = gateway.dropUnreadable()
    if (dropped > 0) log('info', `dropped ${dropped} resource subscription(s) whose credential may no longer read the resource`)
    const ended = bridge.prune((principal) => runtime().authenticators.stillValid(principal))
    if (ended > 0) log('info', `ended ${ended} call(s) waiting for input whose caller is no longer valid`)
  }
}

/** How clients are served: what decides who shares an upstream connection (gateway/connections.ts). */
function serveMode(options: ServeOptions, sessions: SessionStore | undefined): ServeMode {
  return options.transport === 'stdio' ? 'stdio' : sessions ? 'stateful' : 'stateless'
}

function runtimeEnv(options: ServeOptions, live: LiveVault, listening: Listening, replica: {cluster?: Cluster}): RuntimeEnv {
  const vault = {keys: () => live.snapshot.keys, data: () => live.snapshot.data, revoked: () => replica.cluster?.revoked ?? NONE_REVOKED}
  return {transport: options.transport, host: options.host, port: options.port, url: () => listening.url, hosts: () => listening.hosts, log: options.log, vault}
}

const NONE_REVOKED: ReadonlySet<string> = new Set()

interface TransportParts {
  deps: McpDeps
  pipeline: Pipeline
  live: LiveVault
  sessions?: SessionStore
  stdio: {session?: ClientSession}
  listening: Listening
  routes: Routes
  /** The principal as it stands now (Authenticators.current): whose view a connected client's list changes follow. */
  current(principal: Principal): Principal | undefined
}

/** The transport and the SDK servers it makes: one era each (2025 per stdio connection or session, or one for stateless HTTP; 2026-07-28 one for HTTP or per stdio connection). */
async function startTransport(options: ServeOptions, parts: TransportParts): Promise<{transport: RunningTransport; listen?: ListenStreams}> {
  const {deps, pipeline, sessions} = parts
  const connected = new ConnectedServers(deps.catalog, parts.current)
  const createServer = (withSessions = true, era: Era = 'legacy', admitted?: McpDeps['admitted']) => createMcpServer({...deps, sessions: withSessions, admitted}, era)
  if (options.transport === 'stdio') {
    const stdio = await startStdio(options, pipeline, parts.live, (era, admitted) => createServer(true, era, admitted), connected, parts.stdio)
    return {transport: stdio}
  }
  const listen = new ListenStreams(connected, deps.info, undefined, (line) => options.log('warn', line))
  // createMcpServer puts deps.auth() in what a server declares (experimental.authentication); a reload may change it.
  const declaration = () => JSON.stringify(deps.auth())
  return {transport: await startHttp(options, {pipeline, sessions, createServer, declaration, connected, listen, routes: parts.routes}, parts.listening), listen}
}

type RunningTransport = {url?: string; ended?: Promise<void>; close(): Promise<void>}

/** What the bridge reports (a refused requestState, a missing capability; a retry out of scope, as the authorize stage records it) as an audit record. */
function bridgeEvent(event: Parameters<BridgeReport>[0], transport: 'stdio' | 'http', runtime: Runtime): AuditEvent {
  const redactor = runtime.logRedactor
  const nameField = event.method === 'resources/read' ? 'uri' : event.method === 'prompts/get' ? 'prompt' : 'tool'
  return {event: event.kind === 'authz' ? 'authz.denied' : 'request.refused', reason: event.reason, transport, era: 'modern', method: event.method, [nameField]: clientText(redactor.text(event.name)), ...principalFields(event.caller)}
}

/** What `initialize` declares of authentication (experimental.authentication), as the newest runtime has it. */
function declaredAuth(runtime: Runtime): {required: boolean; types: string[]; resource_metadata?: string} {
  const metadata = runtime.resourceMetadataUrl()
  return {required: runtime.authenticators.required, types: runtime.authenticators.types, ...(metadata ? {resource_metadata: metadata} : {})}
}

function closingSteps(replica: {cluster?: Cluster}, live: LiveVault, transport: {close(): Promise<void>}, {gateway, gate, tokens}: StartedGateway, pruner: NodeJS.Timeout, bridge: InputBridge): [string, () => unknown][] {
  return [
    ['the session pruner', () => clearInterval(pruner)],
    ['Redis', () => replica.cluster?.close()],
    ['the vault watcher', () => live.close()],
    ['the transport', () => transport.close()],
    ['the calls waiting for input', () => bridge.prune()],
    ['the upstream servers', () => gateway.close()],
    ['the pins being written', () => gate.settled()],
    ['the upstream token timers', () => tokens.close()],
  ]
}

