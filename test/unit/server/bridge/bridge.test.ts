/**
 * The bridge between 2026-07-28 clients and sources that ask for input during a call: a held
 * call, its rounds, the sealed requestState and every rule that refuses one. End to end, with
 * real SDK clients and upstreams, in test/e2e/era.test.ts.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {getEventListeners} from 'node:events'

import type {Principal} from '../../../../src/auth/index.js'
import {InputBridge, type BridgeRound, type StartCall} from '../../../../src/server/bridge/bridge.js'
import {RequestStateSealer} from '../../../../src/server/era/request-state.js'
import {Refusal, RPC} from '../../../../src/server/refusal.js'
import type {ClientChannel} from '../../../../src/server/tools/source.js'

const alice = {id: 'key:alice', name: 'alice', authType: 'api_key'} as unknown as Principal
const bob = {id: 'key:bob', name: 'bob', authType: 'api_key'} as unknown as Principal
const binding = (who: Principal, name = 'ask') => ({principal: who.id, method: 'tools/call', name})
const ELICIT = {method: 'elicitation/create' as const, params: {message: 'name?', requestedSchema: {type: 'object' as const, properties: {}}}}

function round(capabilities: Record<string, unknown> = {elicitation: {}, sampling: {}}, extra: Partial<BridgeRound> = {}): BridgeRound & {sent: unknown[]} {
  const sent: unknown[] = []
  return {meta: {protocolVersion: '2026-07-28', clientCapabilities: capabilities}, notify: async (n) => void sent.push(n), signal: new AbortController().signal, sent, ...extra}
}

/** A source that asks its client for a name, then answers with what it got (or the error it got). */
function asking(): {start: (channel: ClientChannel, signal: AbortSignal) => Promise<unknown>; seen: {error?: string; signal?: AbortSignal}} {
  const seen: {error?: string; signal?: AbortSignal} = {}
  return {
    seen,
    start: async (channel, signal) => {
      seen.signal = signal
      try {
        const answer = (await channel.request(ELICIT)) as {content?: {name?: string}}
        return {content: [{type: 'text', text: `hello ${answer.content?.name}`}]}
      } catch (err) {
        seen.error = (err as Error).message
        throw err
      }
    },
  }
}

/** The `start` of a retry whose state names a held call: never run (only an upstream's own round is run again). */
const heldOnly = async (): Promise<unknown> => assert.fail('a held call is resumed, not started again')

function bridgeWith(options: {ttlMs?: number; perPrincipal?: number; now?: () => number} = {}) {
  const reports: string[] = []
  const sealer = new RequestStateSealer(randomBytes(32), {now: options.now})
  const bridge = new InputBridge(() => sealer, (e) => void reports.push(e.reason), {perPrincipal: options.perPrincipal ?? 16, total: 1024, ttlMs: () => options.ttlMs ?? 60_000})
  return {bridge, reports}
}

async function refusedWith(work: Promise<unknown>, rule: string): Promise<Refusal> {
  const err = await work.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  )
  assert.ok(err instanceof Refusal, String(err))
  assert.equal(err.code, RPC.INVALID_PARAMS)
  assert.equal(err.message, 'Invalid or expired requestState')
  assert.deepEqual(err.detail, {rule})
  return err
}

describe('bridge: a 2026-07-28 call held for input', () => {
  it('a call that needs no input completes in its first round', async () => {
    const {bridge} = bridgeWith()
    const result = await bridge.call(alice, binding(alice), round(), async () => ({content: [{type: 'text', text: 'done'}]}))
    assert.deepEqual(result, {content: [{type: 'text', text: 'done'}]})
    assert.equal(bridge.size, 0)
  })

  it('answers InputRequiredResult with a sealed state, and the retry completes the held call', async () => {
    const {bridge} = bridgeWith()
    const source = asking()
    const first = (await bridge.call(alice, binding(alice), round(), source.start)) as {resultType: string; inputRequests: Record<string, {method: string}>; requestState: string}
    assert.equal(first.resultType, 'input_required')
    const [[key, request]] = Object.entries(first.inputRequests)
    assert.equal(request.method, 'elicitation/create')
    assert.match(first.requestState, /^kws1\./)
    assert.equal(bridge.size, 1)
    const done = await bridge.resume(alice, binding(alice), first.requestState, {[key]: {action: 'accept', content: {name: 'Ada'}}}, round(), heldOnly)
    assert.deepEqual(done, {content: [{type: 'text', text: 'hello Ada'}]})
    assert.equal(bridge.size, 0)
  })

  it('refuses with MISSING_CLIENT_CAPABILITY when the request did not declare elicitation, and ends the call', async () => {
    const {bridge, reports} = bridgeWith()
    const source = asking()
    const err = await bridge.call(alice, binding(alice), round({}), source.start).catch((e: unknown) => e)
    assert.ok(err instanceof Refusal)
    assert.equal(err.code, RPC.MISSING_CLIENT_CAPABILITY)
    assert.equal(err.status, 400)
    assert.deepEqual(err.data, {requiredCapabilities: {elicitation: {form: {}}}})
    await new Promise((r) => setImmediate(r))
    assert.match(source.seen.error ?? '', /capability/)
    assert.equal(source.seen.signal?.aborted, true)
    assert.deepEqual(reports, ['missing_client_capability'])
  })

  it('refuses a tampered, replayed, swapped or mis-bound state; the call stays held for its rightful retry', async () => {
    const {bridge, reports} = bridgeWith()
    const first = (await bridge.call(alice, binding(alice), round(), asking().start)) as {inputRequests: Record<string, unknown>; requestState: string}
    const state = first.requestState
    const flipped = state.slice(0, -4) + (state.at(-4) === 'A' ? 'B' : 'A') + state.slice(-3)
    await refusedWith(bridge.resume(alice, binding(alice), flipped, {}, round(), heldOnly), 'invalid')
    await refusedWith(bridge.resume(bob, binding(bob), state, {}, round(), heldOnly), 'invalid')
    await refusedWith(bridge.resume(alice, binding(alice, 'other_tool'), state, {}, round(), heldOnly), 'wrong_request')
    await refusedWith(bridge.resume(alice, binding(alice), 'not a token', {}, round(), heldOnly), 'malformed')
    assert.deepEqual(reports, ['request_state_invalid', 'request_state_invalid', 'request_state_wrong_request', 'request_state_malformed'])
    // A refusal spends nothing that a forger could not: the rightful retry still works once, and only once.
    const key = Object.keys(first.inputRequests)[0]
    const done = await bridge.resume(alice, binding(alice), state, {[key]: {action: 'accept', content: {name: 'Ada'}}}, round(), heldOnly)
    assert.deepEqual(done, {content: [{type: 'text', text: 'hello Ada'}]})
    await refusedWith(bridge.resume(alice, binding(alice), state, {[key]: {action: 'accept', content: {name: 'Eve'}}}, round(), heldOnly), 'replayed')
  })

  it('a held call whose client does not come back ends: the source hears so, and the late retry is refused', async () => {
    let now = Date.now()
    const {bridge} = bridgeWith({ttlMs: 30, now: () => now})
    const source = asking()
    const first = (await bridge.call(alice, binding(alice), round(), source.start)) as {requestState: string}
    await new Promise((r) => setTimeout(r, 60))
    assert.match(source.seen.error ?? '', /did not answer in time/)
    assert.equal(source.seen.signal?.aborted, true)
    assert.equal(bridge.size, 0)
    now += 10 * 60_000
    await refusedWith(bridge.resume(alice, binding(alice), first.requestState, {}, round(), heldOnly), 'expired')
  })

  it('an unanswered input request is shown again; progress goes out under the round token', async () => {
    const {bridge} = bridgeWith()
    const start = async (channel: ClientChannel) => {
      const a = channel.request(ELICIT)
      const b = channel.request({method: 'sampling/createMessage', params: {messages: [], maxTokens: 1}})
      const [x, y] = (await Promise.all([a, b])) as [{content: {name: string}}, {content: {text: string}}]
      await channel.notify({method: 'notifications/progress', params: {progressToken: 'upstream-token', progress: 1}})
      return {content: [{type: 'text', text: `${x.content.name} ${y.content.text}`}]}
    }
    const first = (await bridge.call(alice, binding(alice), round(), start)) as {inputRequests: Record<string, {method: string}>; requestState: string}
    assert.deepEqual(Object.values(first.inputRequests).map((r) => r.method).sort(), ['elicitation/create', 'sampling/createMessage'])
    const [elicitKey, sampleKey] = Object.keys(first.inputRequests)
    const second = (await bridge.resume(alice, binding(alice), first.requestState, {[elicitKey]: {action: 'accept', content: {name: 'Ada'}}}, round(), heldOnly)) as {inputRequests: Record<string, unknown>; requestState: string}
    assert.deepEqual(Object.keys(second.inputRequests), [sampleKey])
    const last = round(undefined, {meta: {protocolVersion: '2026-07-28', clientCapabilities: {sampling: {}}, progressToken: 7}})
    const done = await bridge.resume(alice, binding(alice), second.requestState, {[sampleKey]: {role: 'assistant', content: {type: 'text', text: 'hi'}, model: 'm'}}, last, heldOnly)
    assert.deepEqual(done, {content: [{type: 'text', text: 'Ada hi'}]})
    assert.deepEqual(last.sent, [{method: 'notifications/progress', params: {progressToken: 7, progress: 1}}])
  })

  it('progress sent as the call starts, and its last progress, reach the client before the call\'s answer, however slowly the round sends them', async () => {
    const {bridge} = bridgeWith()
    const order: string[] = []
    // A round whose notifications take a while to go out (a busy client connection).
    const slow = round(undefined, {
      meta: {protocolVersion: '2026-07-28', clientCapabilities: {}, progressToken: 't'},
      notify: async (n) => {
        await new Promise((resolve) => setTimeout(resolve, 30))
        order.push(`progress ${(n.params as {progress: number}).progress}`)
      },
    })
    const answer = bridge.call(alice, binding(alice), slow, async (channel) => {
      void channel.notify({method: 'notifications/progress', params: {progressToken: 'up', progress: 0}})
      await new Promise((resolve) => setImmediate(resolve))
      void channel.notify({method: 'notifications/progress', params: {progressToken: 'up', progress: 100}})
      return {content: [{type: 'text', text: 'done'}]}
    })
    await answer.then(() => order.push('answer'))
    assert.deepEqual(order, ['progress 0', 'progress 100', 'answer'])
  })

  it('holds at most perPrincipal calls for one caller; another caller is not affected', async () => {
    const {bridge} = bridgeWith({perPrincipal: 1})
    await bridge.call(alice, binding(alice), round(), asking().start)
    const source = asking()
    const err = await bridge.call(alice, binding(alice), round(), source.start).catch((e: unknown) => e)
    assert.ok(err instanceof Refusal)
    assert.equal(err.reason, 'too_many_held_calls')
    await new Promise((r) => setImmediate(r))
    assert.match(source.seen.error ?? '', /too many/)
    const theirs = (await bridge.call(bob, binding(bob), round(), asking().start)) as {resultType: string}
    assert.equal(theirs.resultType, 'input_required')
    assert.equal(bridge.prune((p) => p.id !== alice.id), 1)
    assert.equal(bridge.size, 1)
  })

  it('a client that closes its request cancels the call', async () => {
    const {bridge} = bridgeWith()
    const abort = new AbortController()
    let signal: AbortSignal | undefined
    const pending = bridge.call(alice, binding(alice), round(undefined, {signal: abort.signal}), async (_channel, s) => {
      signal = s
      await new Promise((_resolve, reject) => s.addEventListener('abort', () => reject(new Error('aborted'))))
    })
    abort.abort()
    await assert.rejects(pending, /aborted/)
    assert.equal(signal?.aborted, true)
  })

  it('a client that closes its request while the call waits on I/O cancels it; no listener stays on the request', async () => {
    const {bridge} = bridgeWith()
    const abort = new AbortController()
    const pending = bridge.call(alice, binding(alice), round(undefined, {signal: abort.signal}), (_channel, s) => new Promise((_resolve, reject) => s.addEventListener('abort', () => reject(new Error('aborted')))))
    // Past the turn of the event loop where the listener is attached: the cancellation comes as I/O does.
    await new Promise((resolve) => setTimeout(resolve, 5))
    assert.equal(getEventListeners(abort.signal, 'abort').length, 1, 'a call still running listens for its cancellation')
    abort.abort()
    await assert.rejects(pending, /aborted/)
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0)
  })

  it('a call that settles before the event loop turns, or after, leaves no listener on its request', async () => {
    const {bridge} = bridgeWith()
    const signal = new AbortController().signal
    await bridge.call(alice, binding(alice), round(undefined, {signal}), async () => ({content: []}))
    await bridge.call(alice, binding(alice), round(undefined, {signal}), () => new Promise((resolve) => setTimeout(() => resolve({content: []}), 5)))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(getEventListeners(signal, 'abort').length, 0)
  })
})

describe('bridge: a call of an item that never asks for input', () => {
  it("runs on the round itself: the round's signal, its progress token and log level; nothing is held", async () => {
    const {bridge} = bridgeWith()
    const abort = new AbortController()
    const r = round(undefined, {signal: abort.signal, meta: {protocolVersion: '2026-07-28', clientCapabilities: {}, progressToken: 'tok', logLevel: 'warning'}})
    let seen: AbortSignal | undefined
    const result = await bridge.run(r, async (channel, signal) => {
      seen = signal
      await channel.notify({method: 'notifications/progress', params: {progressToken: 'upstream-token', progress: 1}})
      await channel.notify({method: 'notifications/message', params: {level: 'info', data: 'below the level: dropped'}})
      await channel.notify({method: 'notifications/message', params: {level: 'error', data: 'kept'}})
      return {content: [{type: 'text', text: 'done'}]}
    })
    assert.deepEqual(result, {content: [{type: 'text', text: 'done'}]})
    assert.equal(seen, abort.signal)
    assert.deepEqual(r.sent, [
      {method: 'notifications/progress', params: {progressToken: 'tok', progress: 1}},
      {method: 'notifications/message', params: {level: 'error', data: 'kept'}},
    ])
    assert.equal(bridge.size, 0)
  })

  it('an ask from it fails at once, and nothing is held', async () => {
    const {bridge} = bridgeWith()
    const {start, seen} = asking()
    await assert.rejects(bridge.run(round(), start), /does not ask its caller for input/)
    assert.match(seen.error ?? '', /elicitation\/create/)
    assert.equal(bridge.size, 0)
  })
})

describe("bridge: an upstream's own input requests, passed through", () => {
  const INPUT_REQUESTS = {who: ELICIT}

  /** A source standing for a 2026-07-28 upstream: asks with its own key and state, and answers a retry that brings both back. */
  function upstream(): {start: StartCall; seen: {retry?: unknown}[]} {
    const seen: {retry?: unknown}[] = []
    return {
      seen,
      start: async (_channel, _signal, input) => {
        seen.push({retry: input.retry})
        if (!input.retry) {
          input.asked = {upstream: 'up', state: 'upstream-state-1'}
          return {resultType: 'input_required', inputRequests: INPUT_REQUESTS}
        }
        const answer = input.retry.responses.who as {content?: {name?: string}}
        return {content: [{type: 'text', text: `hello ${answer.content?.name} (${input.retry.state})`}]}
      },
    }
  }

  it("shows the upstream's input requests as they are, seals its state inside keyward's, and runs the retry again with both", async () => {
    const {bridge} = bridgeWith()
    const source = upstream()
    const first = (await bridge.call(alice, binding(alice), round(), source.start)) as {resultType: string; inputRequests: unknown; requestState: string}
    assert.equal(first.resultType, 'input_required')
    assert.deepEqual(first.inputRequests, INPUT_REQUESTS)
    assert.match(first.requestState, /^kws1\./)
    assert.ok(!first.requestState.includes('upstream-state-1') && !Buffer.from(first.requestState.slice(5), 'base64url').toString('latin1').includes('upstream-state'), 'the upstream state is sealed, not shown')
    assert.equal(bridge.size, 0, 'nothing is held: the upstream keeps its own state')
    const done = await bridge.resume(alice, binding(alice), first.requestState, {who: {action: 'accept', content: {name: 'Ada'}}}, round(), source.start)
    assert.deepEqual(done, {content: [{type: 'text', text: 'hello Ada (upstream-state-1)'}]})
    assert.deepEqual(source.seen[1], {retry: {upstream: 'up', state: 'upstream-state-1', responses: {who: {action: 'accept', content: {name: 'Ada'}}}}})
  })

  it('refuses a tampered, replayed, swapped or mis-bound state before the upstream hears of it', async () => {
    const {bridge, reports} = bridgeWith()
    const source = upstream()
    const {requestState: state} = (await bridge.call(alice, binding(alice), round(), source.start)) as {requestState: string}
    const flipped = state.slice(0, -3) + (state.at(-3) === 'A' ? 'B' : 'A') + state.slice(-2)
    await refusedWith(bridge.resume(alice, binding(alice), flipped, {}, round(), source.start), 'invalid')
    await refusedWith(bridge.resume(bob, binding(bob), state, {}, round(), source.start), 'invalid')
    await refusedWith(bridge.resume(alice, binding(alice, 'other_tool'), state, {}, round(), source.start), 'wrong_request')
    assert.equal(source.seen.length, 1, 'no refused retry reached the upstream')
    await bridge.resume(alice, binding(alice), state, {who: {action: 'accept', content: {name: 'Ada'}}}, round(), source.start)
    await refusedWith(bridge.resume(alice, binding(alice), state, {who: {action: 'accept', content: {name: 'Eve'}}}, round(), source.start), 'replayed')
    assert.equal(source.seen.length, 2)
    assert.ok(reports.includes('request_state_replayed'))
  })

  it('refuses with MISSING_CLIENT_CAPABILITY when the request did not declare what the upstream asks for', async () => {
    const {bridge, reports} = bridgeWith()
    const err = await bridge.call(alice, binding(alice), round({sampling: {}}), upstream().start).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof Refusal)
    assert.equal(err.code, RPC.MISSING_CLIENT_CAPABILITY)
    assert.deepEqual(reports, ['missing_client_capability'])
  })
})
