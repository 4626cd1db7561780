/**
 * `keyward serve`: wires the vault, the request chain, the MCP server and a transport.
 * Heavy modules (the MCP SDK, zod) are imported by this module only, which the serve command
 * loads lazily.
 */
import {KeywardError} from '../errors/index.js'
import {keysOf, keyStatus, VERIFY_ERROR} from '../keys/index.js'
import type {KeyMaterial} from '../vault/index.js'
import {AdmittedTransport} from './admitted-transport.js'
import {authenticateApiKey, authenticateNobody} from './authenticate.js'
import {authorize, execute, validateInput} from './call-stages.js'
import {buildChains, type CallContext, type RequestContext, type Stage} from './chain.js'
import {startHttp} from './http.js'
import {isLoopback} from './http-guard.js'
import {LiveVault} from './live-vault.js'
import type {Logger} from './log.js'
import {createMcpServer, type ServerInfo} from './mcp.js'
import type {Principal} from './principal.js'
import {ToolRegistry} from './registry.js'
import {builtinTools} from './tools/index.js'

export {DEFAULT_PORT, MCP_PATH} from './defaults.js'
export {isLoopback} from './http-guard.js'
export {stderrLogger} from './log.js'

export interface ServeOptions {
  vaultFile: string
  material: KeyMaterial
  transport: 'stdio' | 'http'
  auth: 'api-key' | 'none'
  /** stdio: the client's key, from KEYWARD_API_KEY or MCP_API_KEY. */
  credential?: string
  host: string
  port: number
  stateless: boolean
  allowedHosts: string[]
  version: string
  log: Logger
}

export interface RunningServer {
  /** The MCP endpoint (HTTP only). */
  url?: string
  reload(): Promise<void>
  close(): Promise<void>
}

export async function serve(options: ServeOptions): Promise<RunningServer> {
  if (options.auth === 'none' && options.transport === 'http' && !isLoopback(options.host)) {
    throw new KeywardError('INVALID_INPUT', `--auth none is allowed on loopback only, not on ${options.host}`)
  }
  const live = await LiveVault.load(options.vaultFile, options.material, options.log)
  const info: ServerInfo = {name: 'keyward', version: options.version, startedAt: Date.now()}
  const registry = new ToolRegistry(builtinTools)

  const admission: Stage<RequestContext>[] = [options.auth === 'none' ? authenticateNobody() : authenticateApiKey(() => live.snapshot.keys)]
  const call: Stage<CallContext>[] = [authorize(registry), validateInput(), execute(info, options.log)]
  const chains = buildChains(admission, call)
  const auth = options.auth === 'none' ? {required: false, types: []} : {required: true, types: ['api_key']}
  const createServer = () => createMcpServer({info, registry, chains, auth})

  const stillValid = (principal: Principal) => {
    if (!principal.keyId) return true
    const record = keysOf(live.snapshot.data).get(principal.keyId)
    return record !== undefined && keyStatus(record) === 'active'
  }

  let closeTransport: () => Promise<void>
  let url: string | undefined
  if (options.transport === 'stdio') {
    if (options.auth === 'api-key') checkStartupKey(options.credential, live)
    const {StdioServerTransport} = await import('@modelcontextprotocol/sdk/server/stdio.js')
    const transport = new AdmittedTransport(new StdioServerTransport(), chains, () => ({transport: 'stdio', credential: options.credential}), options.log)
    const server = createServer()
    await server.connect(transport)
    closeTransport = () => server.close()
  } else {
    const front = await startHttp({
      host: options.host,
      port: options.port,
      stateless: options.stateless,
      allowedHosts: options.allowedHosts,
      chains,
      createServer,
      log: options.log,
      stillValid,
    })
    live.onReload(() => front.pruneSessions())
    url = front.url
    closeTransport = () => front.close()
  }
  live.watch()
  return {
    url,
    reload: () => live.reload(),
    async close() {
      live.close()
      await closeTransport()
    },
  }
}

/** Over stdio a bad key ends the server at startup, with the key's status and its exit code. */
function checkStartupKey(credential: string | undefined, live: LiveVault): void {
  if (!credential) {
    throw new KeywardError('KEY_MISSING', 'no API key: set KEYWARD_API_KEY (or MCP_API_KEY) in the server environment, e.g. the "env" block of the client config')
  }
  const result = live.snapshot.keys.verify(credential)
  if (result.code !== 'valid') {
    throw new KeywardError(VERIFY_ERROR[result.code], `the API key in KEYWARD_API_KEY/MCP_API_KEY is ${result.code.replace(/_/g, ' ')}; generate a new one with \`keyward keys generate\``)
  }
}
