/**
 * subscriptions/listen streams (src/server/transports/listen.ts): a stream whose client is gone
 * holds nothing, so it never counts against its principal's bound.
 */
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {createServer, request as httpRequest, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import type {Principal} from '../../../../src/auth/index.js'
import {Redactor} from '../../../../src/guard/redactor.js'
import {ScopeSet} from '../../../../src/policy/index.js'
import type {RequestContext} from '../../../../src/server/context.js'
import {ConnectedServers} from '../../../../src/server/mcp.js'
import {MAX_UNREAD_BYTES} from '../../../../src/server/transports/backlog.js'
import {ListenStreams} from '../../../../src/server/transports/listen.js'
import {Catalog} from '../../../../src/server/tools/catalog.js'
import {StaticSource} from '../../../../src/server/tools/source.js'

const principal: Principal = {id: 'key:k1', authType: 'api_key', name: 'agent', keyId: 'k1', scopes: new ScopeSet(['*'])}

function listenContext(): RequestContext {
  const message = {id: 1, method: 'subscriptions/listen', params: {notifications: {toolsListChanged: true}}}
  return {principal, message, responseHeaders: {}} as unknown as RequestContext
}

/** A real HTTP response whose client hung up (and whose 'close' has fired) before the stream is opened: as after slow request stages. */
async function abandonedResponse(): Promise<{res: ServerResponse; done: () => Promise<void>}> {
  let handed!: (res: ServerResponse) => void
  const got = new Promise<ServerResponse>((resolve) => (handed = resolve))
  const server = createServer((_req, res) => handed(res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = httpRequest({port: (server.address() as AddressInfo).port, method: 'POST'})
  client.on('error', () => {})
  client.end('{}')
  const res = await got
  const closed = new Promise((resolve) => res.once('close', resolve))
  client.destroy()
  await closed
  return {res, done: () => new Promise<void>((resolve) => server.close(() => resolve()))}
}

describe('transports/listen: subscriptions/listen streams', () => {
  it('a listen request whose client hung up before its stream opened leaves no stream behind, nor counts against its principal', async () => {
    const catalog = new Catalog([new StaticSource('up', {})], () => Redactor.none)
    const streams = new ListenStreams(new ConnectedServers(catalog), {name: 'keyward', version: '0'}, {perPrincipal: 2, total: 10})
    const abandoned = [await abandonedResponse(), await abandonedResponse(), await abandonedResponse()]
    try {
      for (const {res} of abandoned) streams.open(listenContext(), res)
      assert.equal(streams.size, 0, 'a stream whose client is gone is held (its watcher and keepalive timer too)')
    } finally {
      streams.closeAll()
      for (const {done} of abandoned) await done()
    }
  })

  it('a client that does not read its stream: list changes past the bound are dropped and told once when it closes', () => {
    let changed!: (kind: 'tool') => void
    const connected = {watch: (w: {changed: (kind: 'tool') => void}) => ((changed = w.changed), () => {})} as unknown as ConnectedServers
    const lines: string[] = []
    const streams = new ListenStreams(connected, {name: 'keyward', version: '0'}, undefined, (line) => void lines.push(line))
    // A response whose client reads nothing: all it is given stays in writableLength.
    const res = Object.assign(new EventEmitter(), {writableLength: 0, writableEnded: false, destroyed: false, writes: 0})
    Object.assign(res, {writeHead: () => res, end: () => res.emit('close'), write: (chunk: string) => ((res.writableLength += Buffer.byteLength(chunk)), res.writes++, false)})
    streams.open(listenContext(), res as unknown as ServerResponse)
    const sent = 200_000
    for (let i = 0; i < sent; i++) changed('tool')
    assert.ok(res.writableLength >= MAX_UNREAD_BYTES && res.writableLength < MAX_UNREAD_BYTES + 1024, `${res.writableLength} bytes wait unread`)
    const written = res.writes - 1 // the acknowledgement
    assert.deepEqual(lines, [])
    res.emit('close')
    assert.deepEqual(lines, [`${sent - written} notifications not sent to a client that reads too slowly (subscriptions/listen): at most 8 MiB may wait unread on a response`])
  })
})
