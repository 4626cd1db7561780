/**
 * A bare MCP SDK server over Streamable HTTP, written as the SDK's examples do
 * (simpleStreamableHttp / simpleStatelessStreamableHttp): the baseline keyward is measured against.
 *   node sdk-http.js PORT            stateful: one server and transport per session
 *   node sdk-http.js PORT stateless  stateless: a new server and transport for every POST
 */
import {randomUUID} from 'node:crypto'

import {createMcpExpressApp} from '@modelcontextprotocol/sdk/server/express.js'
import {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import {isInitializeRequest} from '@modelcontextprotocol/sdk/types.js'

import {bareServer} from './sdk-tools.js'

const port = Number(process.argv[2])
const stateless = process.argv[3] === 'stateless'
const app = createMcpExpressApp()

if (stateless) {
  app.post('/mcp', async (req, res) => {
    const server = bareServer()
    const transport = new StreamableHTTPServerTransport({sessionIdGenerator: undefined})
    res.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(req, res, req.body)
  })
} else {
  const transports: Record<string, StreamableHTTPServerTransport> = {}
  app.post('/mcp', async (req, res) => {
    const sessionId = req.headers['mcp-session-id'] as string | undefined
    let transport = sessionId ? transports[sessionId] : undefined
    if (!transport) {
      if (sessionId || !isInitializeRequest(req.body)) {
        res.status(400).json({jsonrpc: '2.0', error: {code: -32000, message: 'Bad Request'}, id: null})
        return
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          transports[id] = transport!
        },
      })
      await bareServer().connect(transport)
    }
    await transport.handleRequest(req, res, req.body)
  })
}

app.listen(port, '127.0.0.1', () => process.stderr.write(`listening on http://127.0.0.1:${port}/mcp\n`))
