/**
 * The dispatcher of the one SDK server that every 2026-07-28 HTTP request shares: a real SDK
 * Server connected to it, requests handed in as the HTTP dispatch hands them. What it must keep:
 * the server bound to the revision; each request's answer and related messages on that
 * request's reply only, under the client's own id, whoever else has requests in flight with the
 * same ids; the SDK transport's HTTP statuses; a request whose client left cancelled. Through
 * keyward over HTTP with two keys, in test/e2e/era.test.ts.
 */
import assert from 'node:assert/strict'

import {ProtocolError, Server, SUPPORTED_PROTOCOL_VERSIONS, type AuthInfo, type JSONRPCMessage, type JSONRPCRequest} from '@modelcontextprotocol/server'

import {MODERN_VERSION} from '../../../../src/server/era/protocol.js'
import {RPC} from '../../../../src/server/refusal.js'
import {ModernDispatcher, type ModernReply} from '../../../../src/server/transports/http-modern.js'

const META = {'io.modelcontextprotocol/protocolVersion': MODERN_VERSION, 'io.modelcontextprotocol/clientInfo': {name: 't', version: '1'}, 'io.modelcontextprotocol/clientCapabilities': {}}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const authOf = (caller: string): AuthInfo => ({token: '', clientId: caller, scopes: []})

interface Got {
  events: JSONRPCMessage[]
  answer?: {id: string | number; result?: {content?: {text: string}[]; resultType?: string}; error?: {code: number}}
  status?: number
  done: Promise<void>
}

/** A reply that records what reaches it. */
function reply(): {reply: ModernReply; got: Got} {
  let finished!: () => void
  const got: Got = {events: [], done: new Promise((resolve) => (finished = resolve))}
  return {
    got,
    reply: {
      event: (message) => void got.events.push(message),
      finish: (answer, status) => {
        got.answer = answer as Got['answer']
        got.status = status
        finished()
      },
    },
  }
}

function request(id: string | number, method: string, params: Record<string, unknown> = {}): JSONRPCRequest {
  return {jsonrpc: '2.0', id, method, params: {...params, _meta: {...META, ...(params._meta as object)}}}
}

/** A modern server whose tool `report` sends three progress notifications, at random moments, naming its caller and label, then answers with both. */
async function serve(): Promise<{server: Server; dispatcher: ModernDispatcher; seen: {aborted: string[]}}> {
  const server = new Server({name: 'test', version: '1'}, {capabilities: {tools: {}}, supportedProtocolVersions: [MODERN_VERSION, ...SUPPORTED_PROTOCOL_VERSIONS]})
  const seen = {aborted: [] as string[]}
  server.setRequestHandler('tools/call', async (req, ctx) => {
    const caller = ctx.http?.authInfo?.clientId ?? '?'
    const label = String(req.params.arguments?.label)
    if (req.params.name === 'wait') {
      await new Promise((resolve) => ctx.mcpReq.signal.addEventListener('abort', resolve, {once: true}))
      seen.aborted.push(label)
      return {content: [{type: 'text', text: 'too late'}]}
    }
    if (req.params.name === 'needs') throw new ProtocolError(RPC.MISSING_CLIENT_CAPABILITY, 'needs sampling')
    if (req.params.name === 'fails') throw new ProtocolError(RPC.INVALID_PARAMS, 'bad arguments')
    const token = (req.params._meta as {progressToken?: string} | undefined)?.progressToken
    for (let i = 1; i <= 3; i++) {
      await sleep(Math.random() * 5)
      await ctx.mcpReq.notify({method: 'notifications/progress', params: {progressToken: token!, progress: i, total: 3, message: `${caller}:${label}`}})
    }
    return {content: [{type: 'text', text: `${caller}:${label}`}]}
  })
  const dispatcher = new ModernDispatcher(MODERN_VERSION)
  await server.connect(dispatcher)
  return {server, dispatcher, seen}
}

describe('the shared 2026-07-28 server (transports/http-modern)', () => {
  it('binds its server to 2026-07-28: server/discover is answered, and results carry resultType', async () => {
    const {dispatcher} = await serve()
    const discover = reply()
    dispatcher.request(request(1, 'server/discover'), authOf('alice'), discover.reply)
    await discover.got.done
    assert.deepEqual((discover.got.answer as unknown as {result: {supportedVersions: string[]}}).result.supportedVersions, [MODERN_VERSION])
    const call = reply()
    dispatcher.request(request(2, 'tools/call', {name: 'report', arguments: {label: 'x'}, _meta: {progressToken: 't'}}), authOf('alice'), call.reply)
    await call.got.done
    assert.equal(call.got.answer?.result?.resultType, 'complete')
  })

  it('many concurrent requests of two callers, with the same ids: each gets only its own progress and its own result', async () => {
    const {dispatcher} = await serve()
    const sent: {caller: string; label: string; id: number; token: string; got: Got}[] = []
    for (let i = 0; i < 200; i++) {
      const caller = i % 2 === 0 ? 'alice' : 'bob'
      const label = `n${i}`
      // Both callers use the same JSON-RPC ids and the same progress tokens.
      const id = Math.floor(i / 2)
      const token = `tok-${id}`
      const {reply: r, got} = reply()
      dispatcher.request(request(id, 'tools/call', {name: 'report', arguments: {label}, _meta: {progressToken: token}}), authOf(caller), r)
      sent.push({caller, label, id, token, got})
    }
    await Promise.all(sent.map((s) => s.got.done))
    for (const {caller, label, id, token, got} of sent) {
      assert.equal(got.status, 200)
      assert.equal(got.answer?.id, id)
      assert.equal(got.answer?.result?.content?.[0]?.text, `${caller}:${label}`)
      assert.deepEqual(
        got.events.map((e) => (e as unknown as {params: {progressToken: string; progress: number; message: string}}).params),
        [1, 2, 3].map((progress) => ({progressToken: token, progress, total: 3, message: `${caller}:${label}`})),
        `${caller}'s request ${label} got only its own progress`,
      )
    }
  })

  it("keeps the SDK transport's statuses: 404 for a method the revision removed, 400 for MISSING_CLIENT_CAPABILITY, 200 for a handler's own error", async () => {
    const {dispatcher} = await serve()
    const statusOf = async (message: JSONRPCRequest) => {
      const {reply: r, got} = reply()
      dispatcher.request(message, authOf('alice'), r)
      await got.done
      return [got.status, got.answer?.error?.code]
    }
    assert.deepEqual(await statusOf(request(1, 'resources/subscribe', {uri: 'x://y'})), [404, RPC.METHOD_NOT_FOUND])
    assert.deepEqual(await statusOf(request(2, 'tools/call', {name: 'needs'})), [400, RPC.MISSING_CLIENT_CAPABILITY])
    assert.deepEqual(await statusOf(request(3, 'tools/call', {name: 'fails'})), [200, RPC.INVALID_PARAMS])
  })

  it('a request whose client went away is cancelled, and nothing is sent for it; the others go on', async () => {
    const {dispatcher, seen} = await serve()
    const gone = reply()
    const id = dispatcher.request(request(1, 'tools/call', {name: 'wait', arguments: {label: 'gone'}}), authOf('alice'), gone.reply)
    const other = reply()
    dispatcher.request(request(1, 'tools/call', {name: 'report', arguments: {label: 'stays'}, _meta: {progressToken: 'p'}}), authOf('bob'), other.reply)
    await sleep(10)
    dispatcher.abandon(id)
    await other.got.done
    for (let t = 0; t < 50 && seen.aborted.length === 0; t++) await sleep(10)
    assert.deepEqual(seen.aborted, ['gone'])
    await sleep(20)
    assert.equal(gone.got.answer, undefined)
    assert.deepEqual(gone.got.events, [])
    assert.equal(other.got.answer?.result?.content?.[0]?.text, 'bob:stays')
  })

  it('retired, it closes with its server once its last request is answered', async () => {
    const {server, dispatcher} = await serve()
    let closed = false
    server.onclose = () => (closed = true)
    const {reply: r, got} = reply()
    dispatcher.request(request(1, 'tools/call', {name: 'report', arguments: {label: 'last'}, _meta: {progressToken: 'p'}}), authOf('alice'), r)
    let told = false
    dispatcher.retire(() => (told = true))
    assert.equal(closed, false, 'not while a request is in flight')
    await got.done
    assert.equal(got.answer?.result?.content?.[0]?.text, 'alice:last')
    assert.equal(closed, true)
    await sleep(0)
    assert.equal(told, true, 'whoever retired it hears that it closed')
  })
})
