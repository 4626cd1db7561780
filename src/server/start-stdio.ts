/**
 * Serving one client over stdio: its key comes from the environment, and a bad one ends the
 * server at startup with the key's status and its exit code.
 */
import type {Server} from '@modelcontextprotocol/server'

import {principalForKey, type Principal} from '../auth/index.js'
import {KeywardError} from '../errors/index.js'
import {VERIFY_ERROR} from '../keys/index.js'
import type {LiveVault} from './live-vault.js'
import {sessionOf, type ConnectedServers} from './mcp.js'
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

export async function startStdio(options: ServeOptions, pipeline: Pipeline, live: LiveVault, server: Server, connected: ConnectedServers): Promise<StdioServer> {
  const startup = pipeline.runtime().authenticators.types.includes('api_key') ? checkStartupKey(options.credential, live) : undefined
  const transport = new StdioTransport({
    input: options.stdio?.input ?? process.stdin,
    output: options.stdio?.output ?? process.stdout,
    pipeline,
    credential: () => (options.credential ? {source: 'environment', value: options.credential} : undefined),
  })
  connected.add(server, () => transport.principal ?? startup)
  await server.connect(transport)
  return {session: sessionOf(server), ended: transport.ended, close: () => server.close()}
}

function checkStartupKey(credential: string | undefined, live: LiveVault): Principal {
  if (!credential) {
    throw new KeywardError('KEY_MISSING', 'no API key: set KEYWARD_API_KEY_FILE (a 0600 file holding the key) or KEYWARD_API_KEY (or MCP_API_KEY) in the server environment, e.g. the "env" block of the client config')
  }
  const result = live.snapshot.keys.verify(credential)
  if (result.code !== 'valid') {
    throw new KeywardError(VERIFY_ERROR[result.code], `the API key in KEYWARD_API_KEY, KEYWARD_API_KEY_FILE or MCP_API_KEY is ${result.code.replace(/_/g, ' ')}; generate a new one with \`keyward keys generate\``)
  }
  return principalForKey(result.key!)
}
