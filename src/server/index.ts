/**
 * `keyward serve`: wires the vault, the runtime, the catalog, the stage lists, the MCP server and
 * a transport; each part lives in its own file, and this one only connects them. Heavy modules
 * (the MCP SDK, zod, ajv) are imported by this module only, which the serve command loads lazily.
 */
import {RateLimits} from '../ratelimit/limits.js'
import {countValue} from '../config/index.js'
import {redisTarget} from '../config/redis.js'
import {resolveRedis} from '../redis/url.js'
import {adoptNewerCopy} from '../vault/index.js'
import {assembleStages} from './assemble.js'
import type {Cluster} from './cluster.js'
import type {Gateway} from './gateway/gateway.js'
import type {PinGate} from './gateway/pin-gate.js'
import {LiveVault} from './live-vault.js'
import {ConnectedServers, createMcpServer, type McpDeps} from './mcp.js'
import {openAudit} from './open-audit.js'
import type {ServeOptions} from './options.js'
import {buildPipeline} from './pipeline/pipeline.js'
import {routes} from './routes.js'
import {LiveRuntime, type Runtime, type RuntimeEnv} from './runtime.js'
import {shutDown} from './shutdown.js'
import {startCluster} from './start-cluster.js'
import {startGateway} from './start-gateway.js'
import {startHttp, type Listening} from './start-http.js'
import {startStdio} from './start-stdio.js'
import {builtinSource} from './tools/builtin/index.js'
import {Catalog} from './tools/catalog.js'
import type {ClientSession, ServerInfo} from './tools/source.js'
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
  const runtimes = new LiveRuntime(overrides, runtimeEnv(options, live, listening, replica), live.snapshot)
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
  const mode = options.transport === 'stdio' ? 'stdio' : sessions ? 'stateful' : 'stateless'
  const {gateway, gate} = await startGateway(options, {catalog, live, runtime, replica, audit, mode, stdio})
  const connected = new ConnectedServers(catalog)
  const deps: McpDeps = {info, catalog, call: pipeline.call, auth: () => declaredAuth(runtime()), hooks: gateway.hooks(), sessions: true, redactor: () => runtime().redactor}
  const createServer = (withSessions = true) => createMcpServer({...deps, sessions: withSessions})
  let transport: {url?: string; ended?: Promise<void>; close(): Promise<void>}
  if (options.transport === 'stdio') transport = Object.assign(stdio, await startStdio(options, pipeline, live, createServer(), connected))
  else transport = await startHttp(options, {pipeline, sessions, createServer, connected, routes: routes(runtime, () => replica.cluster)}, listening)
  const prune = () => {
    const closed = sessions?.prune((principal) => runtime().authenticators.stillValid(principal)) ?? 0
    if (closed > 0) log('info', `closed ${closed} session(s) whose credential is no longer valid`)
  }
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
  const steps = () => closingSteps(replica, live, transport, gateway, gate, pruner)
  return {
    url: transport.url,
    auth: () => runtime().authenticators.types,
    ended: transport.ended,
    reload: () => live.reload(),
    close: () => shutDown(steps(), audit, {transport: options.transport, pid: process.pid}, log),
  }
}

function runtimeEnv(options: ServeOptions, live: LiveVault, listening: Listening, replica: {cluster?: Cluster}): RuntimeEnv {
  const vault = {keys: () => live.snapshot.keys, data: () => live.snapshot.data, revoked: () => replica.cluster?.revoked ?? NONE_REVOKED}
  return {transport: options.transport, host: options.host, port: options.port, url: () => listening.url, hosts: () => listening.hosts, log: options.log, vault}
}

const NONE_REVOKED: ReadonlySet<string> = new Set()

/** What `initialize` declares of authentication (experimental.authentication), as the newest runtime has it. */
function declaredAuth(runtime: Runtime): {required: boolean; types: string[]; resource_metadata?: string} {
  const metadata = runtime.resourceMetadataUrl()
  return {required: runtime.authenticators.required, types: runtime.authenticators.types, ...(metadata ? {resource_metadata: metadata} : {})}
}

function closingSteps(replica: {cluster?: Cluster}, live: LiveVault, transport: {close(): Promise<void>}, gateway: Gateway, gate: PinGate, pruner: NodeJS.Timeout): [string, () => unknown][] {
  return [
    ['the session pruner', () => clearInterval(pruner)],
    ['Redis', () => replica.cluster?.close()],
    ['the vault watcher', () => live.close()],
    ['the transport', () => transport.close()],
    ['the upstream servers', () => gateway.close()],
    ['the pins being written', () => gate.settled()],
  ]
}

