/**
 * `keyward serve`: wires the vault, the authenticators, the catalog, the stage lists, the MCP
 * server and a transport. Heavy modules (the MCP SDK, zod, ajv) are imported by this module
 * only, which the serve command loads lazily.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {LoggingLevel} from '@modelcontextprotocol/sdk/types.js'

import {createAuthenticators, principalForKey, type Principal} from '../auth/index.js'
import {KeywardError} from '../errors/index.js'
import {VERIFY_ERROR} from '../keys/index.js'
import {assembleStages} from './assemble.js'
import {LiveVault} from './live-vault.js'
import {Gateway} from './gateway/gateway.js'
import {ConnectedServers, createMcpServer, sessionOf} from './mcp.js'
import type {ServeOptions} from './options.js'
import {buildPipeline} from './pipeline/pipeline.js'
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

export {DEFAULT_PORT, MCP_PATH} from './defaults.js'
export {stderrLogger} from './log.js'
export {DEFAULT_MAX_BODY_BYTES, type ServeOptions} from './options.js'
export {isLoopback} from './stages/host-origin.js'
export {Rejection, RpcError, compose, type Stage} from './pipeline/chain.js'
export {StaticSource, type ToolSource} from './tools/source.js'

export interface RunningServer {
  /** The MCP endpoint (HTTP only). */
  url?: string
  /** Resolves when a stdio client closed its input. */
  ended?: Promise<void>
  reload(): Promise<void>
  close(): Promise<void>
}

/** Principals whose credential expires without a reload (a key's expiry) are checked this often. */
const PRUNE_MS = 30_000

export async function serve(options: ServeOptions): Promise<RunningServer> {
  if (options.auth.includes('none') && options.transport === 'http' && !isLoopback(options.host)) {
    throw new KeywardError('INVALID_INPUT', `--auth none is allowed on loopback only, not on ${options.host}`)
  }
  const {log} = options
  const live = await LiveVault.load(options.vaultFile, options.material, log)
  const info: ServerInfo = {name: 'keyward', version: options.version, startedAt: Date.now()}
  const authenticators = createAuthenticators(options.auth, {vault: {keys: () => live.snapshot.keys, data: () => live.snapshot.data}})
  const catalog = new Catalog([builtinSource(), ...(options.extraSources ?? [])], (kind, name, kept, dropped) =>
    log('warn', `${kind} ${name} is offered by ${kept} and ${dropped}; serving ${kept}'s`),
  )
  const stateful = options.transport === 'http' && !options.stateless
  const sessions = stateful ? new SessionStore() : undefined
  let hosts: string[] = []
  const pipeline = buildPipeline(assembleStages({options, authenticators, catalog, info, log, hosts: () => hosts, sessions}))
  const connected = new ConnectedServers(catalog)
  const auth = {required: authenticators.required, types: authenticators.types}
  let stdioSession: ClientSession | undefined
  const gateway = new Gateway({catalog, log, version: options.version, sessionLinks: stateful, defaultSession: () => stdioSession})
  gateway.reconcile(live.snapshot.data)
  live.onReload((snapshot) => gateway.reconcile(snapshot.data))
  const hooks = {
    ready: () => gateway.firstList(),
    setLogLevel: (level: LoggingLevel, session: ClientSession | undefined) => gateway.setLogLevel(level, session),
    rootsChanged: (session: ClientSession | undefined) => gateway.rootsChanged(session),
  }
  const createServer = (sessions = true) => createMcpServer({info, catalog, call: pipeline.call, auth, hooks, sessions})

  let closeTransport: () => Promise<void>
  let url: string | undefined
  let ended: Promise<void> | undefined
  if (options.transport === 'stdio') {
    const startup = options.auth.includes('api-key') ? checkStartupKey(options.credential, live) : undefined
    const transport = new StdioTransport({
      input: options.stdio?.input ?? process.stdin,
      output: options.stdio?.output ?? process.stdout,
      pipeline,
      credential: () => (options.credential ? {source: 'environment', value: options.credential} : undefined),
      maxLineBytes: options.maxBodyBytes,
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
    const front = await startHttpFront({host: options.host, port: options.port, pipeline, dispatch, log, routes: healthRoute})
    hosts = allowedHosts(options.host, front.port, options.allowedHosts)
    url = front.url
    closeTransport = () => front.close()
  }

  const prune = () => {
    const closed = sessions?.prune((principal) => authenticators.stillValid(principal)) ?? 0
    if (closed > 0) log('info', `closed ${closed} session(s) whose credential is no longer valid`)
  }
  live.onReload(prune)
  const pruner = setInterval(prune, PRUNE_MS)
  pruner.unref()
  if (options.watch) live.watch()
  return {
    url,
    ended,
    reload: () => live.reload(),
    async close() {
      clearInterval(pruner)
      live.close()
      await closeTransport()
      await gateway.close()
    },
  }
}

function healthRoute(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path !== '/healthz' || (req.method !== 'GET' && req.method !== 'HEAD')) return false
  sendJson(res, 200, {status: 'ok'})
  return true
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
