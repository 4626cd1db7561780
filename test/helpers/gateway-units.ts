/** Pieces the gateway's in-process unit tests share: a 2025-era HTTP upstream, and a client session that can be ended. */
import {randomUUID} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {Server as LegacyServer} from '@modelcontextprotocol/sdk/server/index.js'
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type {ServerNotification} from '@modelcontextprotocol/server'

import type {ClientSession} from '../../src/server/tools/source.js'

/** An HTTP handler serving a 2025-era upstream on the 1.x SDK: one server from `makeServer` per MCP session. */
export function legacyUpstream(makeServer: () => LegacyServer): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  return async (req, res) => {
    const id = req.headers['mcp-session-id']
    let transport = typeof id === 'string' ? sessions.get(id) : undefined
    if (!transport) {
      const created = new StreamableHTTPServerTransport({sessionIdGenerator: randomUUID, onsessioninitialized: (sid) => void sessions.set(sid, created)})
      transport = created
      await makeServer().connect(transport)
    }
    await transport.handleRequest(req, res)
  }
}

/** A client session as mcp.ts makes one: a listener added after its end is called at once; what is sent to it outside a call goes into `notified`. */
export function endableSession(id: string, notified: ServerNotification[] = []): ClientSession & {end(): void} {
  const listeners: (() => void)[] = []
  let ended = false
  return {
    id,
    capabilities: () => ({}),
    channel: {notify: async (n: ServerNotification) => void notified.push(n), request: async () => ({})} as unknown as ClientSession['channel'],
    onClose: (listener) => void (ended ? listener() : listeners.push(listener)),
    end() {
      ended = true
      for (const listener of listeners.splice(0)) listener()
    },
  }
}
