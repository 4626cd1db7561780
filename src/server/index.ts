/**
 * `keyward serve`: wires the vault, the authenticators, the catalog, the stage lists, the MCP
 * server and a transport. Heavy modules (the MCP SDK, zod, ajv) are imported by this module
 * only, which the serve command loads lazily.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {LoggingLevel} from '@modelcontextprotocol/sdk/types.js'

import {authSettings, createAuthenticators, principalForKey, resourceMetadataUrl, scopesSupported, type Authenticators, type Principal} from '../auth/index.js'
import {auditKeyOf, AuditLog, ensureAuditKey, resolveAuditPath} from '../audit/index.js'
import {configOf, effectiveConfig, parseSize} from '../config/index.js'
import {RateLimits} from '../ratelimit/limits.js'
import {resolveRedis, type RedisTarget} from '../redis/url.js'
import {adoptNewerCopy} from '../vault/index.js'
import type {Cluster} from './cluster.js'
import {KeywardError} from '../errors/index.js'
import {VERIFY_ERROR} from '../keys/index.js'
import {assembleStages} from './assemble.js'
import {LiveVault} from './live-vault.js'
import {Gateway} from './gateway/gateway.js'
import {upstreamFetch} from '../upstreams/oauth/index.js'
import {upstreamTokenBroker} from './upstream-oauth.js'
import {ConnectedServers, createMcpServer, sessionOf} from './mcp.js'
import type {ServeOptions} from './options.js'
import type {Logger} from './log.js'
import {buildPipeline} from './pipeline/pipeline.js'
import {protectionFrom} from './protection.js'
import type {AuditTrail} from './stages/audit-requests.js'
import {allowedHosts, isLoopback} from './stages/host-origin.js'
import {builtinSource} from './tools/builtin/index.js'
import {Catalog} from './tools/catalog.js'
import type {ClientSession, ServerInfo} from './tools/source.js'
import {startHttpFront, type HttpDispatch} from './transports/http.js'
import {statefulDispatch} from './transports/http-stateful.js'
import {statelessDispatch} from './transports/http-stateless.js'
import {sendJson} from './transports/respond.js'
import {SessionStore} from './transports/sessions.js'
import {StdioTransport} from './transports/stdio.js'

import {MCP_PATH} from './defaults.js'

export {DEFAULT_PORT, MCP_PATH} from './defaults.js'
export {stderrLogger} from './log.js'
export type {ServeOptions} from './options.js'
export {isLoopback} from './stages/host-origin.js'
export {Rejection, RpcError, compose, type Stage} from './pipeline/chain.js'
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
  // Redis named by the flag or the environment is reached first: a newer copy of the vault there
  // (from a write on another host) replaces an older file before it is loaded.
  let cluster = await startCluster(options, resolveRedis(overrides['redis.url'], undefined, undefined), (bytes) => adoptNewerCopy(options.vaultFile, bytes, options.material))
  const live = await LiveVault.load(options.vaultFile, options.material, log)
  const info: ServerInfo = {name: 'keyward', version: options.version, startedAt: Date.now()}
  let listeningUrl: string | undefined
  let config = effectiveConfig(live.snapshot.data, overrides)
  cluster ??= await startCluster(options, redisFromVault(config, live, overrides), (bytes) => live.adopt(bytes))
  const resourceUrl = () => config.get('server.public-url') ?? listeningUrl ?? `http://${options.host}:${options.port}${MCP_PATH}`
  const buildAuth = (): Authenticators => {
    const settings = authSettings(config, {
      resourceUrl,
      secret: (name) => {
        const record = live.snapshot.data.secrets.get(name)
        if (!record) throw new KeywardError('NOT_FOUND', `a setting refers to secret ${name}, which the vault does not hold`)
        return record.value.toString('utf8')
      },
      log: (message) => log('warn', `oauth: ${message}`),
    })
    const methods = options.transport === 'stdio' ? stdioMethods(settings.methods, log) : settings.methods
    if (methods.includes('none') && options.transport === 'http' && !isLoopback(options.host)) {
      throw new KeywardError('INVALID_INPUT', `--auth none is allowed on loopback only, not on ${options.host}`)
    }
    return createAuthenticators(methods, {
      vault: {keys: () => live.snapshot.keys, data: () => live.snapshot.data, revoked: () => cluster?.revoked ?? NONE_REVOKED},
      oauth: settings.oauth,
      proxy: settings.proxy,
    })
  }
  let authenticators = buildAuth()
  let protection = protectionFrom(config, live.snapshot.data)
  const limits = new RateLimits()
  const audit = await openAudit(options, live, config, overrides, () => protection.audit.failClosed, cluster !== undefined)
  const oauthActive = () => authenticators.types.includes('oauth2')
  const catalog = new Catalog([builtinSource(), ...(options.extraSources ?? [])], (kind, name, kept, dropped) =>
    log('warn', `${kind} ${name} is offered by ${kept} and ${dropped}; serving ${kept}'s`),
  )
  const stateful = options.transport === 'http' && !options.stateless
  const sessions = stateful ? new SessionStore() : undefined
  let hosts: string[] = []
  const prmUrl = () => (oauthActive() ? resourceMetadataUrl(resourceUrl()) : undefined)
  const pipeline = buildPipeline(
    assembleStages({options, authenticators: () => authenticators, resourceMetadataUrl: prmUrl, catalog, info, log, hosts: () => hosts, sessions, protection: () => protection, limits, audit}),
  )
  const connected = new ConnectedServers(catalog)
  const auth = () => ({required: authenticators.required, types: authenticators.types, ...(prmUrl() ? {resource_metadata: prmUrl()} : {})})
  let stdioSession: ClientSession | undefined
  const tokens = upstreamTokenBroker(live, cluster, audit, log)
  const gateway = new Gateway({catalog, log, version: options.version, sessionLinks: stateful, defaultSession: () => stdioSession, upstreamFetch: (def) => upstreamFetch(tokens, def)})
  await gateway.reconcile(live.snapshot.data)
  live.onReload((snapshot) => void gateway.reconcile(snapshot.data).catch((err) => log('error', `upstreams: ${(err as Error).message}`)))
  const hooks = {
    ready: () => gateway.firstList(),
    setLogLevel: (level: LoggingLevel, session: ClientSession | undefined) => gateway.setLogLevel(level, session),
    rootsChanged: (session: ClientSession | undefined) => gateway.rootsChanged(session),
  }
  // Notifications and requests an upstream sends the client are redacted like results.
  const outbound = <T>(message: T): T => protection.redactor.value(message)
  const createServer = (sessions = true) => createMcpServer({info, catalog, call: pipeline.call, auth, hooks, sessions, outbound})

  let closeTransport: () => Promise<void>
  let url: string | undefined
  let ended: Promise<void> | undefined
  if (options.transport === 'stdio') {
    const startup = authenticators.types.includes('api_key') ? checkStartupKey(options.credential, live) : undefined
    const transport = new StdioTransport({
      input: options.stdio?.input ?? process.stdin,
      output: options.stdio?.output ?? process.stdout,
      pipeline,
      credential: () => (options.credential ? {source: 'environment', value: options.credential} : undefined),
      maxLineBytes: () => protection.maxBody,
    })
    const server = createServer()
    stdioSession = sessionOf(server)
    connected.add(server, () => transport.principal ?? startup)
    await server.connect(transport)
    ended = transport.ended
    closeTransport = () => server.close()
  } else {
    let dispatch: HttpDispatch
    if (sessions) dispatch = await statefulDispatch(sessions, createServer, connected)
    else dispatch = await statelessDispatch(createServer(false))
    const routes = (req: IncomingMessage, res: ServerResponse, path: string) =>
      healthRoute(req, res, path, cluster) || metadataRoute(req, res, path, () => (oauthActive() ? protectedResourceMetadata(config, resourceUrl()) : undefined))
    const front = await startHttpFront({host: options.host, port: options.port, pipeline, dispatch, log, routes, headerNames: () => authenticators.headerNames})
    hosts = allowedHosts(options.host, front.port, options.allowedHosts)
    url = front.url
    listeningUrl = front.url
    closeTransport = () => front.close()
  }

  const prune = () => {
    const closed = sessions?.prune((principal) => authenticators.stillValid(principal)) ?? 0
    if (closed > 0) log('info', `closed ${closed} session(s) whose credential is no longer valid`)
  }
  live.onReload((snapshot) => {
    // Settings live in the vault too: a change to them takes effect like a revocation does.
    audit.record({event: 'server.reload', generation: snapshot.generation}).catch(() => {})
    try {
      const next = effectiveConfig(snapshot.data, overrides)
      if (JSON.stringify([...next]) !== JSON.stringify([...config])) {
        const previous = config
        config = next
        try {
          authenticators = buildAuth()
          log('info', `settings changed: authentication is now ${authenticators.types.join(', ') || 'none'}`)
        } catch (err) {
          config = previous
          log('error', `the vault's new settings cannot be used (${(err as Error).message}); keeping the previous ones`)
        }
      }
    } catch (err) {
      log('error', `the vault's settings cannot be used (${(err as Error).message}); keeping the previous ones`)
    }
    try {
      protection = protectionFrom(config, snapshot.data)
    } catch (err) {
      log('error', `the vault's protection settings cannot be used (${(err as Error).message}); keeping the previous ones`)
    }
    prune()
  })
  const pruner = setInterval(prune, PRUNE_MS)
  pruner.unref()
  if (options.watch) live.watch()
  cluster?.attach({live, limits, audit, url: () => url, onRevoked: prune})
  audit
    .record({event: 'server.start', transport: options.transport, ...(url ? {url} : {}), version: options.version, pid: process.pid, generation: live.snapshot.generation})
    .catch(() => {})
  return {
    url,
    auth: () => authenticators.types,
    ended,
    reload: () => live.reload(),
    async close() {
      clearInterval(pruner)
      // Each step runs whatever the one before did: the audit log is written out last, always
      // (its batch timer does not keep the process alive, so a skipped close would lose records).
      const steps: [string, () => unknown][] = [
        ['Redis', () => cluster?.close()],
        ['the vault watcher', () => live.close()],
        ['the transport', () => closeTransport()],
        ['the upstream servers', () => gateway.close()],
        ['the upstream token timers', () => tokens.close()],
      ]
      for (const [what, step] of steps) {
        try {
          await step()
        } catch (err) {
          options.log('warn', `shutting down: closing ${what} failed (${(err as Error).message})`)
        }
      }
      // Queued, then written out by close() at once rather than after the batch delay.
      const stopped = audit.record({event: 'server.stop', transport: options.transport, pid: process.pid}).catch(() => {})
      await audit.close()
      await stopped
    },
  }
}

/** Healthy whatever Redis does: a replica without Redis still serves (rate limits fall back to its share). */
function healthRoute(req: IncomingMessage, res: ServerResponse, path: string, cluster: Cluster | undefined): boolean {
  if (path !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) return false
  sendJson(res, 200, {status: 'ok', ...(cluster ? {redis: cluster.status} : {})})
  return true
}

const NONE_REVOKED: ReadonlySet<string> = new Set()

async function startCluster(options: ServeOptions, target: RedisTarget | undefined, adopt: (bytes: Buffer) => Promise<unknown>): Promise<Cluster | undefined> {
  if (!target) return undefined
  const {Cluster} = await import('./cluster.js')
  return Cluster.start({target, log: options.log, version: options.version, material: options.material}, options.vaultFile, adopt)
}

/** Redis named only in the vault's settings, with its password from a vault secret. */
function redisFromVault(config: ReadonlyMap<string, string>, live: LiveVault, overrides: Record<string, string | undefined>): RedisTarget | undefined {
  const password = config.get('redis.password')
  const secret = password?.startsWith('secret:') ? live.snapshot.data.secrets.get(password.slice('secret:'.length)) : undefined
  if (password && !secret) throw new KeywardError('NOT_FOUND', `redis.password refers to secret ${password.slice('secret:'.length)}, which the vault does not hold`)
  return resolveRedis(overrides['redis.url'], config.get('redis.url'), secret?.value.toString('utf8'))
}

/** RFC 9728 metadata, at the root and with the MCP path appended, while OAuth is on. */
function metadataRoute(req: IncomingMessage, res: ServerResponse, path: string, metadata: () => unknown): boolean {
  if (path !== '/.well-known/oauth-protected-resource' && path !== `/.well-known/oauth-protected-resource${MCP_PATH}`) return false
  const body = metadata()
  if (body === undefined) return false
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, {error: 'method not allowed'}, {allow: 'GET'})
    return true
  }
  sendJson(res, 200, body, {'cache-control': 'max-age=300'})
  return true
}

function protectedResourceMetadata(config: ReadonlyMap<string, string>, resource: string): unknown {
  return {
    resource,
    authorization_servers: [config.get('oauth.issuer')],
    scopes_supported: scopesSupported(config),
    bearer_methods_supported: ['header'],
    resource_name: 'keyward',
  }
}

/** Over stdio the credential is an API key from the environment: token and proxy methods do not apply. */
function stdioMethods(methods: readonly string[], log: Logger): string[] {
  const usable: string[] = methods.filter((m) => m === 'api-key' || m === 'none')
  const dropped = methods.filter((m) => !usable.includes(m))
  if (dropped.length > 0) log('info', `over stdio the client's credential is an API key from the environment; ${dropped.join(', ')} do not apply`)
  if (usable.length === 0) throw new KeywardError('INVALID_INPUT', `auth.methods is ${methods.join(',')}, but over stdio only api-key (or none) can apply; add api-key`)
  return usable
}

/** Over stdio a bad key ends the server at startup, with the key's status and its exit code. */
function checkStartupKey(credential: string | undefined, live: LiveVault): Principal {
  if (!credential) {
    throw new KeywardError('KEY_MISSING', 'no API key: set KEYWARD_API_KEY (or MCP_API_KEY) in the server environment, e.g. the "env" block of the client config')
  }
  const result = live.snapshot.keys.verify(credential)
  if (result.code !== 'valid') {
    throw new KeywardError(VERIFY_ERROR[result.code], `the API key in KEYWARD_API_KEY/MCP_API_KEY is ${result.code.replace(/_/g, ' ')}; generate a new one with \`keyward keys generate\``)
  }
  return principalForKey(result.key!)
}

/**
 * The audit log: its MAC key is created in the vault the first time (one vault write). A log
 * that cannot be opened is logged; with audit.fail-closed, serve then refuses to start.
 */
async function openAudit(
  options: ServeOptions,
  live: LiveVault,
  config: ReadonlyMap<string, string>,
  overrides: Record<string, string | undefined>,
  failClosed: () => boolean,
  clustered: boolean,
): Promise<AuditTrail & {close(): Promise<void>}> {
  const {log} = options
  const file = resolveAuditPath(overrides['audit.path'], configOf(live.snapshot.data).get('audit.path'))
  let key = auditKeyOf(live.snapshot.data)
  if (!key && clustered) {
    // A replica never writes its copy of a shared vault (the copies would part ways): the key must come from the CLI.
    const why = 'the vault has no audit key yet, and a replica on Redis does not write the vault; run any admin command once (keyward config set audit.args false) to create it'
    if (config.get('audit.fail-closed') === 'true') throw new KeywardError('INVALID_INPUT', why)
    log('warn', `${why}; nothing is audited in this run`)
    return {record: async () => {}, ready: async () => true, close: async () => {}}
  }
  if (!key) {
    try {
      key = await live.update((vault) => ensureAuditKey(vault.data))
      log('info', `created the audit log's MAC key in the vault`)
    } catch (err) {
      const why = `the audit log's key cannot be stored in the vault (${(err as Error).message})`
      if (config.get('audit.fail-closed') === 'true') throw new KeywardError('FILE_ACCESS', `${why}; audit.fail-closed is on, so keyward serve does not start`)
      log('warn', `${why}; nothing is audited in this run`)
      return {record: async () => {}, ready: async () => true, close: async () => {}}
    }
  }
  const auditLog = new AuditLog({
    file,
    key,
    maxSize: parseSize(config.get('audit.max-size')!)!,
    // Under load, a batch every 10 ms at most; with fail-closed a result waits for its record, so no wait.
    batchMs: () => (failClosed() ? 0 : 10),
    onHealth: (healthy, why) => {
      if (healthy) return log('info', `audit log ${file} is being written again`)
      const closed = failClosed()
      log(closed ? 'error' : 'warn', `audit log ${file} cannot be written (${why}); ${closed ? 'requests are refused (audit.fail-closed)' : 'requests are still served (audit.fail-closed is off)'}`)
    },
  })
  return auditLog
}
