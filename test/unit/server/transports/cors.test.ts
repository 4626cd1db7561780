/**
 * CORS on the MCP endpoint (issue 16, item 10): an origin the server answers to may read
 * WWW-Authenticate and Mcp-Session-Id and gets its preflight answered; any other origin gets no
 * CORS header at all.
 */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {allowedHosts} from '../../../../src/net/hosts.js'
import {corsFor} from '../../../../src/server/transports/cors.js'

describe('server: CORS on /mcp', function () {
  let server: Server
  let base: string
  let port: number

  before(async () => {
    server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
    const cors = corsFor(() => allowedHosts('127.0.0.1', port, []))
    server.on('request', (req, res) => {
      if (cors(req, res)) return
      res.writeHead(401, {'www-authenticate': 'Bearer realm="keyward"'}).end()
    })
    base = `http://127.0.0.1:${port}/mcp`
  })

  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('an allowed origin may read the challenge and the session id; its preflight is answered before anything else', async () => {
    const origin = `http://localhost:${port}`
    const r = await fetch(base, {method: 'POST', headers: {origin}})
    assert.equal(r.status, 401)
    assert.equal(r.headers.get('access-control-allow-origin'), origin)
    assert.equal(r.headers.get('access-control-allow-credentials'), null, 'bearer credentials, never cookies')
    assert.deepEqual(r.headers.get('access-control-expose-headers')?.split(', ').slice(0, 2), ['www-authenticate', 'mcp-session-id'])
    const preflight = await fetch(base, {method: 'OPTIONS', headers: {origin, 'access-control-request-method': 'POST'}})
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, POST, DELETE')
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /^authorization, x-api-key, content-type, accept, mcp-session-id/)
  })

  it("a preflight asking for a tool's Mcp-Param-* headers (SEP-2243) is allowed them, and nothing else it asks for", async () => {
    const origin = `http://localhost:${port}`
    const preflight = await fetch(base, {method: 'OPTIONS', headers: {origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, mcp-param-region, x-other, mcp-param-dry-run'}})
    assert.equal(preflight.status, 204)
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').split(', ')
    assert.ok(allowed.includes('mcp-param-region') && allowed.includes('mcp-param-dry-run'), allowed.join(', '))
    assert.ok(!allowed.includes('x-other'))
  })

  it('another origin, or none, gets no CORS header; its preflight is not answered here', async () => {
    for (const headers of [{origin: 'http://evil.example'}, {origin: `http://localhost:${port + 1}`}, {origin: 'null'}, {}] as Record<string, string>[]) {
      const r = await fetch(base, {method: 'OPTIONS', headers})
      assert.equal(r.status, 401, JSON.stringify(headers))
      assert.equal(r.headers.get('access-control-allow-origin'), null, JSON.stringify(headers))
    }
  })
})
