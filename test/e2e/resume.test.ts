/**
 * Resumable Streamable HTTP, stateful (MCP 2025-11-25, "Resumability and Redelivery"): a client
 * that loses a call's stream mid-call reconnects with GET and Last-Event-ID and gets what it
 * missed, then the rest; an id replays nothing to another session or another principal.
 *
 * keyward in this process, with a tool of the test's own that reports progress and then waits
 * for the test (so the stream is dropped at a known point); and the built CLI in front of the
 * fixture upstream, a call dropped and resumed through the whole chain.
 */
import assert from 'node:assert/strict'
import path from 'node:path'

import {Bed} from '../helpers/bed.js'
import {ROOT, sleep} from '../helpers/cli.js'
import {serveInProcess, testVault, type TestVault} from '../helpers/inprocess.js'
import {bearer, INITIALIZE, post} from '../helpers/server.js'
import {answerIn, SseReader, type SseEvent} from '../helpers/sse.js'
import type {CallEnv, SourceTool} from '../../src/server/tools/source.js'
import {StaticSource} from '../../src/server/index.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const V = '2025-11-25'

/** A tool that reports progress 1, waits for `release()`, then reports 2 and 3 and answers; it notes a cancellation. */
function stepsTool() {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let answered!: () => void
  const done = new Promise<void>((resolve) => (answered = resolve))
  const state = {release, done, cancelled: false}
  const tool: SourceTool = {
    kind: 'tool',
    descriptor: {name: 'steps', inputSchema: {type: 'object'}},
    async call(_args: Record<string, unknown>, env: CallEnv) {
      env.signal.addEventListener('abort', () => (state.cancelled = true))
      const progress = (n: number) => env.client!.notify({method: 'notifications/progress', params: {progressToken: env.meta!.progressToken as string, progress: n, total: 3}})
      await progress(1)
      await released
      await progress(2)
      await progress(3)
      answered()
      return {content: [{type: 'text', text: 'steps done'}]}
    },
  }
  return {tool, state}
}

const quick: SourceTool = {kind: 'tool', descriptor: {name: 'quick', inputSchema: {type: 'object'}}, call: () => ({content: [{type: 'text', text: 'quick done'}]})}

function headersFor(key: string, session: string, extra: Record<string, string> = {}): Record<string, string> {
  return {...bearer(key), 'mcp-session-id': session, 'mcp-protocol-version': V, ...extra}
}

/** A session of `key`'s principal: initialize, then initialized. */
async function openSession(url: string, key: string, version = V): Promise<string> {
  const init = await post(url, {...INITIALIZE, params: {...INITIALIZE.params, protocolVersion: version}}, bearer(key))
  assert.equal(init.status, 200, init.text)
  const session = init.headers.get('mcp-session-id')!
  const ack = await post(url, {jsonrpc: '2.0', method: 'notifications/initialized'}, headersFor(key, session, {'mcp-protocol-version': version}))
  assert.equal(ack.status, 202)
  return session
}

/** A tools/call whose response is read event by event; `drop()` closes its connection, as a lost network would. */
async function callStreaming(url: string, key: string, session: string, name: string, version = V) {
  const controller = new AbortController()
  const res = await fetch(url, {
    method: 'POST',
    signal: controller.signal,
    headers: {...headersFor(key, session, {'mcp-protocol-version': version}), 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
    body: JSON.stringify({jsonrpc: '2.0', id: 7, method: 'tools/call', params: {name, arguments: {}, _meta: {progressToken: 'p'}}}),
  })
  assert.equal(res.status, 200)
  return {res, events: new SseReader(res.body!), drop: () => controller.abort()}
}

function resume(url: string, key: string, session: string, lastEventId: string): Promise<Response> {
  return fetch(url, {method: 'GET', headers: {...headersFor(key, session), accept: 'text/event-stream', 'last-event-id': lastEventId}})
}

/** What an event says: the progress count, the answer's text, or the priming event. */
function gist(e: SseEvent): string {
  if (e.data === '') return 'priming'
  const m = JSON.parse(e.data)
  return m.method === 'notifications/progress' ? `progress ${m.params.progress}` : `answer ${m.id} ${m.result?.content?.[0]?.text ?? JSON.stringify(m.error)}`
}

describe('resumable Streamable HTTP, stateful (MCP 2025-11-25)', function () {
  this.timeout(60_000)
  let vault: TestVault
  let keyA: string
  let keyB: string
  let server: Awaited<ReturnType<typeof serveInProcess>> | undefined
  let steps: ReturnType<typeof stepsTool>

  beforeEach(async () => {
    vault = await testVault()
    keyA = await vault.key('a', ['steps', 'quick'])
    keyB = await vault.key('b', ['steps', 'quick'])
    steps = stepsTool()
    server = await serveInProcess(vault, {extraSources: [new StaticSource('test', {tools: [steps.tool, quick]})]})
  })

  afterEach(async () => {
    steps.state.release()
    await server?.close()
    vault.cleanup()
  })

  it('a stream dropped mid-call is resumed with Last-Event-ID: the events missed, then the answer; the call is not cancelled', async () => {
    const url = server!.url!
    const session = await openSession(url, keyA)
    const call = await callStreaming(url, keyA, session, 'steps')
    assert.match(call.res.headers.get('content-type') ?? '', /^text\/event-stream/)
    const priming = (await call.events.next())!
    assert.equal(gist(priming), 'priming', 'the stream opens with a priming event: an id and empty data')
    assert.ok(priming.id, 'the priming event has an id')
    assert.equal(priming.retry, 1000, 'and tells the client how long to wait before reconnecting')
    const first = (await call.events.next())!
    assert.equal(gist(first), 'progress 1')
    assert.ok(first.id && first.id !== priming.id)
    call.drop()
    await sleep(100)
    steps.state.release()
    await steps.state.done
    await sleep(100)
    const resumed = await resume(url, keyA, session, first.id!)
    assert.equal(resumed.status, 200)
    assert.match(resumed.headers.get('content-type') ?? '', /^text\/event-stream/)
    const rest = await new SseReader(resumed.body!).rest()
    assert.deepEqual(rest.map(gist), ['progress 2', 'progress 3', 'answer 7 steps done'], 'what came after progress 1, and the stream ends with the answer')
    assert.ok(rest.every((e) => e.id), 'every replayed event has its id')
    assert.equal(steps.state.cancelled, false, 'a disconnection is not a cancellation')
    // Kept a while even once written: a write the server saw finish may be lost with a dropped connection.
    const again = await resume(url, keyA, session, first.id!)
    assert.deepEqual((await new SseReader(again.body!).rest()).map(gist), ['progress 2', 'progress 3', 'answer 7 steps done'])
  })

  it('a stream resumed before the call ends gets the missed events, then the rest live', async () => {
    const url = server!.url!
    const session = await openSession(url, keyA)
    const call = await callStreaming(url, keyA, session, 'steps')
    const priming = (await call.events.next())!
    call.drop()
    await sleep(100)
    const resumed = await resume(url, keyA, session, priming.id!)
    assert.equal(resumed.status, 200)
    const events = new SseReader(resumed.body!)
    assert.equal(gist((await events.next())!), 'progress 1', 'missed while the client was away')
    steps.state.release()
    assert.deepEqual((await events.rest()).map(gist), ['progress 2', 'progress 3', 'answer 7 steps done'])
    assert.equal(steps.state.cancelled, false)
  })

  it('a Last-Event-ID replays nothing to another session, nor to another principal with the session id', async () => {
    const url = server!.url!
    const session = await openSession(url, keyA)
    const call = await callStreaming(url, keyA, session, 'steps')
    await call.events.next()
    const first = (await call.events.next())!
    call.drop()
    steps.state.release()
    await steps.state.done
    await sleep(100)
    const mySecondSession = await openSession(url, keyA)
    const theirSession = await openSession(url, keyB)
    const attempts = [
      {who: "the same principal's other session", r: await resume(url, keyA, mySecondSession, first.id!), status: 400},
      {who: 'another principal, its own session', r: await resume(url, keyB, theirSession, first.id!), status: 400},
      {who: "another principal, with this session's id", r: await resume(url, keyB, session, first.id!), status: 404},
    ]
    for (const {who, r, status} of attempts) {
      const body = await r.text()
      assert.equal(r.status, status, `${who}: ${body}`)
      assert.doesNotMatch(body, /steps done|progress/, `${who} got nothing of the session`)
      assert.doesNotMatch(r.headers.get('content-type') ?? '', /event-stream/)
    }
    // The events were there all along, for the session's own principal.
    const own = await resume(url, keyA, session, first.id!)
    assert.deepEqual((await new SseReader(own.body!).rest()).map(gist), ['progress 2', 'progress 3', 'answer 7 steps done'])
  })

  it('a quick answer stays one JSON object; an older client gets no priming event', async () => {
    const url = server!.url!
    const session = await openSession(url, keyA)
    const fast = await post(url, {jsonrpc: '2.0', id: 3, method: 'tools/call', params: {name: 'quick', arguments: {}}}, headersFor(keyA, session))
    assert.match(fast.headers.get('content-type') ?? '', /^application\/json/)
    assert.equal(JSON.parse(fast.text).result.content[0].text, 'quick done')
    const old = await openSession(url, keyA, '2025-06-18')
    const call = await callStreaming(url, keyA, old, 'steps', '2025-06-18')
    const first = (await call.events.next())!
    assert.equal(gist(first), 'progress 1', 'no empty event, which a 2025-06-18 client would try to parse')
    steps.state.release()
    assert.deepEqual((await call.events.rest()).map(gist), ['progress 2', 'progress 3', 'answer 7 steps done'])
  })
})

describe('resumable Streamable HTTP through keyward serve and an upstream', function () {
  this.timeout(60_000)
  const bed = new Bed()
  beforeEach(() => bed.setUp())
  afterEach(() => bed.tearDown())

  it('a call to the upstream whose stream is dropped is answered on the resumed stream, and the upstream call runs on', async () => {
    await bed.cli(['upstream', 'add', 'fixture', '--', process.execPath, FIXTURE])
    const key = await bed.key('all', '--scope', 'fixture__*')
    const s = await bed.serve()
    const session = await openSession(s.url, key)
    const controller = new AbortController()
    const res = await fetch(s.url, {
      method: 'POST',
      signal: controller.signal,
      headers: {...headersFor(key, session), 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
      body: JSON.stringify({jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: {name: 'fixture__sleep', arguments: {label: 'kept', ms: 1500}}}),
    })
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/, 'a call not answered at once gets a stream')
    const priming = (await new SseReader(res.body!).next())!
    assert.equal(priming.data, '')
    controller.abort()
    const resumed = await resume(s.url, key, session, priming.id!)
    assert.equal(resumed.status, 200)
    const events = await new SseReader(resumed.body!).rest()
    assert.deepEqual(events.map(gist), ['answer slow-1 slept kept'])
    const cancelled = await post(s.url, {jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'fixture__cancelled_calls', arguments: {}}}, headersFor(key, session))
    // An upstream call may take longer than the server waits before it streams (STREAM_AFTER_MS): either form.
    assert.equal((answerIn(cancelled).result as {content: {text: string}[]}).content[0].text, '[]', 'the upstream call was not cancelled')
  })
})
