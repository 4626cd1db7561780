/**
 * The stateful session transport's streams over real HTTP (node:http and fetch), with a short
 * resumption window: a quick answer is JSON and kept nowhere; a slow one is a primed stream; a
 * stream whose connection closed is kept for the window, then dropped and its request cancelled;
 * a request closed before any stream started is cancelled at once; the GET stream is one at a
 * time and resumable; closing the session drops everything.
 */
import assert from 'node:assert/strict'
import {createServer, request, type IncomingMessage, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {Readable} from 'node:stream'

import type {JSONRPCMessage} from '@modelcontextprotocol/server'

import {Refusal} from '../../../../src/server/refusal.js'
import {MAX_UNREAD_BYTES} from '../../../../src/server/transports/backlog.js'
import {RETRY_MS} from '../../../../src/server/transports/session-stream.js'
import {SessionTransport} from '../../../../src/server/transports/session-transport.js'
import {SseReader} from '../../../helpers/sse.js'

const WINDOW_MS = 300
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const call = (id: number): JSONRPCMessage => ({jsonrpc: '2.0', id, method: 'tools/call', params: {name: 't', arguments: {}}})
const answer = (id: number): JSONRPCMessage => ({jsonrpc: '2.0', id, result: {content: [{type: 'text', text: `answer ${id}`}]}})
const progress = (id: number, n: number) => ({jsonrpc: '2.0' as const, method: 'notifications/progress', params: {progressToken: id, progress: n}})
const cancelled = (received: JSONRPCMessage[]) => received.filter((m) => 'method' in m && m.method === 'notifications/cancelled').map((m) => (m as unknown as {params: {requestId: number}}).params.requestId)

describe('server: the stateful session transport, resumable', function () {
  let server: Server
  let url: string
  let transport: SessionTransport
  let received: JSONRPCMessage[]

  let reported: string[]

  beforeEach(async () => {
    reported = []
    transport = new SessionTransport('s-1', {windowMs: WINDOW_MS}, (line) => void reported.push(line))
    received = []
    transport.onmessage = (m) => void received.push(m)
    server = createServer((req, res) => {
      try {
        const prime = req.headers['x-prime'] === '1'
        if (req.method === 'GET') return transport.stream(res, {prime, lastEventId: req.headers['last-event-id'] as string | undefined, responseHeaders: {}})
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => transport.post(JSON.parse(Buffer.concat(chunks).toString()), res, {}, {}, prime))
      } catch (err) {
        res.writeHead((err as Refusal).status, {'content-type': 'text/plain'}).end((err as Refusal).reason)
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  })

  afterEach(async () => {
    await transport.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const postCall = (id: number, prime = true, signal?: AbortSignal) => fetch(url, {method: 'POST', body: JSON.stringify(call(id)), headers: {'x-prime': prime ? '1' : '0'}, signal})
  const get = (headers: Record<string, string> = {}) => fetch(url, {headers: {'x-prime': '1', ...headers}})
  const until = async (check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await sleep(10)
    return check()
  }

  it('answers a quick request with one JSON object, and keeps nothing', async () => {
    transport.onmessage = () => void transport.send(answer(1))
    const res = await postCall(1)
    assert.match(res.headers.get('content-type')!, /^application\/json/)
    assert.deepEqual(await res.json(), answer(1))
    assert.deepEqual(transport.log.size, {events: 0, bytes: 0, streams: 0})
  })

  it('gives a slow request a primed stream, whose events are kept a window after its end, then dropped', async () => {
    const res = await postCall(2)
    assert.match(res.headers.get('content-type')!, /^text\/event-stream/)
    const events = new SseReader(res.body!)
    const priming = (await events.next())!
    assert.deepEqual([priming.data, priming.retry], ['', RETRY_MS])
    await transport.send(progress(2, 1) as JSONRPCMessage, {relatedRequestId: 2})
    await transport.send(answer(2))
    const rest = await events.rest()
    assert.deepEqual(rest.map((e) => JSON.parse(e.data)), [progress(2, 1), answer(2)])
    assert.equal(transport.log.size.events, 2, 'kept: the write may not have reached the client')
    assert.ok(await until(() => transport.log.size.streams === 0), 'dropped after the window')
    assert.deepEqual(cancelled(received), [], 'an answered request is not cancelled')
  })

  it('cancels a request whose stream was not resumed within the window, and drops its events', async () => {
    const controller = new AbortController()
    const res = await postCall(3, true, controller.signal)
    const priming = (await new SseReader(res.body!).next())!
    controller.abort()
    await sleep(30)
    await transport.send(progress(3, 1) as JSONRPCMessage, {relatedRequestId: 3})
    assert.deepEqual(cancelled(received), [], 'not at once: the client may come back')
    assert.ok(await until(() => cancelled(received).length === 1))
    assert.deepEqual(cancelled(received), [3])
    assert.deepEqual(transport.log.size, {events: 0, bytes: 0, streams: 0})
    const late = await get({'last-event-id': priming.id!})
    assert.equal(late.status, 400)
    assert.equal(await late.text(), 'resume_unknown')
  })

  it('cancels at once a request whose connection closed before any stream began (no cursor to resume from)', async () => {
    const controller = new AbortController()
    const pending = postCall(4, false, controller.signal).catch(() => 'aborted')
    assert.ok(await until(() => received.length === 1))
    controller.abort()
    assert.equal(await pending, 'aborted')
    assert.ok(await until(() => cancelled(received).length === 1))
  })

  it('keeps one GET stream at a time; a lost one is resumed from its last event id', async () => {
    const controller = new AbortController()
    const first = await fetch(url, {headers: {'x-prime': '1'}, signal: controller.signal})
    const events = new SseReader(first.body!)
    const priming = (await events.next())!
    assert.equal(priming.data, '')
    assert.equal((await get()).status, 409, 'a second GET stream while the first is open')
    await transport.send({jsonrpc: '2.0', method: 'notifications/tools/list_changed'})
    const seen = (await events.next())!
    controller.abort()
    await sleep(30)
    await transport.send({jsonrpc: '2.0', method: 'notifications/resources/list_changed'})
    const resumed = await fetch(url, {headers: {'x-prime': '1', 'last-event-id': seen.id!}})
    const next = (await new SseReader(resumed.body!).next())!
    assert.equal(JSON.parse(next.data).method, 'notifications/resources/list_changed', 'missed while away, and only that')
  })

  it('a GET without Last-Event-ID after a lost GET stream starts afresh: the lost one resumes no more', async () => {
    const controller = new AbortController()
    const first = await fetch(url, {headers: {'x-prime': '1'}, signal: controller.signal})
    const priming = (await new SseReader(first.body!).next())!
    controller.abort()
    await sleep(30)
    const fresh = await get()
    assert.equal(fresh.status, 200)
    assert.equal((await new SseReader(fresh.body!).next())!.data, '')
    const old = await get({'last-event-id': priming.id!})
    assert.equal(old.status, 400)
    assert.equal(transport.log.size.streams, 1)
  })

  it('a resumption takes a stream over from a connection the server still thinks open, which ends', async () => {
    const res = await postCall(6)
    const first = new SseReader(res.body!)
    const priming = (await first.next())!
    const resumed = await get({'last-event-id': priming.id!})
    assert.equal(resumed.status, 200)
    assert.deepEqual(await first.rest(), [], 'the earlier connection ended, without the answer')
    await transport.send(answer(6))
    assert.deepEqual((await new SseReader(resumed.body!).rest()).map((e) => JSON.parse(e.data)), [answer(6)])
    assert.deepEqual(cancelled(received), [])
  })

  it('closing the session ends its connections and drops every event', async () => {
    const res = await postCall(5)
    const events = new SseReader(res.body!)
    await events.next()
    await transport.send(progress(5, 1) as JSONRPCMessage, {relatedRequestId: 5})
    await transport.close()
    const rest = await events.rest()
    assert.equal(rest.length, 1, 'the progress, then the end')
    assert.deepEqual(transport.log.size, {events: 0, bytes: 0, streams: 0})
  })

  it('a client that does not read: notifications past the bound are dropped (no id, nothing kept), a request to it is refused, the answer arrives; the drops are told once', async () => {
    // A response handed over unread: its socket paused, so what is written waits in the kernel, then in keyward.
    const res = await new Promise<IncomingMessage>((resolve) => {
      request(url, {method: 'POST', headers: {'x-prime': '1'}}, (r) => (r.pause(), resolve(r))).end(JSON.stringify(call(4)))
    })
    const big = 'x'.repeat(1024 * 1024)
    const sent = Math.ceil((3 * MAX_UNREAD_BYTES) / big.length)
    for (let n = 1; n <= sent; n++) await transport.send({...progress(4, n), params: {progressToken: 4, progress: n, message: big}} as JSONRPCMessage, {relatedRequestId: 4})
    const asked = {jsonrpc: '2.0' as const, id: 'ask-1', method: 'sampling/createMessage', params: {messages: [], maxTokens: 1}}
    await assert.rejects(transport.send(asked, {relatedRequestId: 4}), /not reading .* request not sent/)
    assert.deepEqual(reported, [], 'told when the answer goes, not at each drop')
    await transport.send(answer(4))
    res.resume()
    const events = await new SseReader(Readable.toWeb(res) as ReadableStream<Uint8Array>).rest()
    const ids = events.map((e) => Number(e.id!.split('/')[1]))
    assert.deepEqual(ids, ids.map((_, i) => i), 'ids without a hole: a dropped notification got none')
    const got = events.length - 2 // the priming event and the answer
    assert.ok(got > 0 && got < sent, `${got} of ${sent} notifications reached the client`)
    assert.ok(got * big.length < 2 * MAX_UNREAD_BYTES, 'what waited unread stayed near the bound')
    assert.deepEqual(JSON.parse(events.at(-1)!.data), answer(4))
    assert.deepEqual(reported, [`${sent - got} notifications not sent to a client that reads too slowly (tools/call t): at most 8 MiB may wait unread on a response`])
  })
})
