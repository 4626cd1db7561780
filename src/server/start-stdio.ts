/**
 * Serving one client over stdio: its key comes from the environment, and a bad one ends the
 * server at startup with the key's status and its exit code. The SDK's stdio entry (serveStdio)
 * owns keyward's transport and decides the connection's era from its opening exchange: an
 * `initialize` gets a 2025 server, a request with a 2026-07-28 `_meta` a modern one, and that
 * server serves the connection to its end (`subscriptions/listen` included, answered by the
 * entry). Every line still runs the request and message stages first, in the transport.
 */
import type {Server} from '@modelcontextprotocol/server'
import {serveStdio} from '@modelcontextprotocol/server/stdio'

import {principalForKey, type Principal} from '../auth/index.js'
import {KeywardError} from '../errors/index.js'
import {VERIFY_ERROR} from '../keys/index.js'
import type {Era} from './era/protocol.js'
import type {LiveVault} from './live-vault.js'
import {sessionOf, type ConnectedServers, type McpDeps} from './mcp.js'
import type {ServeOptions} from './options.js'
import type {Pipeline} from './pipeline/pipeline.js'
import type {ClientSession} from './tools/source.js'
import {StdioTransport} from './transports/stdio.js'

export interface StdioServer {
  /** The one client session, as sources see it. */
  session?: ClientSession
  /** Resolves when the client closed its input (or our output). */
  ended: Promise<void>
  close(): Promise<void>
}

/** Makes the server of one era; `admitted` finds a request's caller (the stdio entry does not pass it along). */
export type StdioServerFactory = (era: Era, admitted: NonNullable<McpDeps['admitted']>) => Server

export async function startStdio(options: ServeOptions, pipeline: Pipeline, live: LiveVault, createServer: StdioServerFactory, connected: ConnectedServers, stdio: {session?: ClientSession}): Promise<StdioServer> {
  const startup = pipeline.runtime().authenticators.types.includes('api_key') ? checkStartupKey(options.credential, live) : undefined
  const transport = new StdioTransport({
    input: options.stdio?.input ?? process.stdin,
    output: options.stdio?.output ?? process.stdout,
    pipeline,
    credential: () => (options.credential ? {source: 'environment', value: options.credential} : undefined),
    log: options.log,
  })
  const handle = serveStdio(
    ({era}) => {
      const server = createServer(era, (id) => transport.admitted(id))
      connected.add(server, () => transport.principal ?? startup)
      const previous = server.onclose
      server.onclose = () => {
        previous?.()
        connected.delete(server)
      }
      // The one client session, which the shared upstream connections relay to (a 2026-07-28 connection has none).
      if (era === 'legacy') stdio.session = sessionOf(server)
      return server
    },
    {transport, legacy: pipeline.runtime().config.get('server.protocol') === 'modern' ? 'reject' : 'serve', onerror: () => {}},
  )
  return {get session() {
    return stdio.session
  }, ended: transport.ended, close: () => handle.close()}
}

function checkStartupKey(credential: string | undefined, live: LiveVault): Principal {
  if (!credential) {
    throw new KeywardError('KEY_MISSING', 'no API key: set KEYWARD_API_KEY_FILE (a 0600 file holding the key) or KEYWARD_API_KEY (or MCP_API_KEY) in the server environment, e.g. the "env" block of the client config')
  }
  const result = live.snapshot.keys.verify(credential)
  if (result.code !== 'valid') {
    throw new KeywardError(VERIFY_ERROR[result.code], `the API key in KEYWARD_API_KEY, KEYWARD_API_KEY_FILE or MCP_API_KEY is ${result.code.replace(/_/g, ' ')}; generate a new one with \`keyward keys generate\``)
  }
  return principalForKey(result.key!, result.secret!)
}
