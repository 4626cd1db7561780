/**
 * The fetch of every login and renewal request (src/upstreams/oauth/grant.ts, timedFetch): an
 * authorization server (or the upstream, during discovery) may be hostile. Its answer is bounded
 * in time and in size: a body of hundreds of MiB is not read whole into serve's memory.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {MAX_RESPONSE_BYTES, timedFetch} from '../../../../src/upstreams/oauth/grant.js'

/** A token endpoint that answers `padding` bytes of whitespace before a valid token response; resolves with how many bytes it got to write. */
async function endpoint(padding: number): Promise<{url: string; written: () => number; close: () => Promise<void>}> {
  let written = 0
  const chunk = Buffer.alloc(64 * 1024, 0x20)
  const server = http.createServer((_req, res) => {
    res.writeHead(200, {'content-type': 'application/json'})
    const pump = () => {
      while (written < padding && !res.destroyed) {
        written += chunk.length
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      res.end('{"access_token":"a","token_type":"Bearer"}')
    }
    res.on('error', () => {})
    pump()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/token`,
    written: () => written,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

describe('the fetch of upstream OAuth requests', () => {
  it('a huge answer (64 MiB) is refused once it passes the limit, not read whole into memory', async () => {
    const server = await endpoint(64 * 1024 * 1024)
    try {
      const response = await timedFetch(server.url, {method: 'POST'})
      await assert.rejects(response.json(), new RegExp(`over ${MAX_RESPONSE_BYTES / (1024 * 1024)} MiB`))
      assert.ok(server.written() < 32 * 1024 * 1024, `the server got to write ${server.written()} bytes`)
    } finally {
      await server.close()
    }
  })

  it('an ordinary answer is read as it is', async () => {
    const server = await endpoint(0)
    try {
      const response = await timedFetch(server.url, {method: 'POST'})
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), {access_token: 'a', token_type: 'Bearer'})
    } finally {
      await server.close()
    }
  })
})
