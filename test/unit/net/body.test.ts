/**
 * Reading a request body within a limit (the MCP endpoint's 413 and the console's both use it): the body
 * when it fits; past it, BodyTooLarge once the excess is drained. Whether a client that is still sending
 * reads the answer rather than a broken pipe only shows across processes: hardening.test.ts, item 12.
 */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import {connect, type AddressInfo} from 'node:net'

import {BodyTooLarge, readBodyWithin} from '../../../src/net/body.js'

const LIMIT = 64 * 1024

describe('net: reading a body within a limit', function () {
  let server: Server
  let url: string
  /** What each request's read came to, by path. */
  const outcomes = new Map<string, Promise<unknown>>()

  before(async () => {
    server = createServer((req, res) => {
      const read = readBodyWithin(req, LIMIT)
      outcomes.set(req.url ?? '', read.catch((err: unknown) => err))
      read.then(
        (body) => res.writeHead(200).end(String(body.length)),
        (err: unknown) => res.writeHead(413, {connection: 'close'}).end(err instanceof BodyTooLarge ? err.message : 'another error'),
      )
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('returns a body within the limit whole', async () => {
    const r = await fetch(url, {method: 'POST', body: 'x'.repeat(LIMIT)})
    assert.equal(r.status, 200)
    assert.equal(await r.text(), String(LIMIT))
  })

  it('refuses a body past the limit, with a length declared or sent in chunks', async () => {
    const big = 'x'.repeat(LIMIT * 8)
    const chunked = new ReadableStream({
      start(c) {
        for (let at = 0; at < big.length; at += 16 * 1024) c.enqueue(new TextEncoder().encode(big.slice(at, at + 16 * 1024)))
        c.close()
      },
    })
    for (const body of [big, chunked]) {
      const r = await fetch(url, {method: 'POST', body, duplex: 'half'} as RequestInit)
      assert.equal(r.status, 413)
      assert.equal(await r.text(), `the body exceeds ${LIMIT} bytes`)
    }
  })

  it('refuses a chunked body past the limit as too large even when its client goes away before finishing', async () => {
    const {port} = server.address() as AddressInfo
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    const chunk = (n: number) => `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`
    socket.write(`POST /gone HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${chunk(LIMIT)}${chunk(1024)}`)
    while (!outcomes.has('/gone')) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 50))
    socket.destroy()
    // Before its answer (DRAIN_MS): the refusal stands, it is not turned into a connection error.
    assert.ok((await outcomes.get('/gone')) instanceof BodyTooLarge)
  })
})
