/**
 * A call to a 2026-07-28 upstream and the input it asks for (src/server/gateway/input.ts), with
 * the upstream's connection stood in for by an object that answers as such an upstream does.
 */
import assert from 'node:assert/strict'

import type {Client} from '@modelcontextprotocol/client'

import {callModern} from '../../../../src/server/gateway/input.js'
import {Refusal} from '../../../../src/server/refusal.js'
import type {CallEnv, ClientChannel, ClientSession} from '../../../../src/server/tools/source.js'

const ELICIT = {method: 'elicitation/create', params: {message: 'name?', requestedSchema: {type: 'object', properties: {}}}}

/** An upstream that asks for `asks` inputs once, then answers with what it got back; it records each request's params. */
function upstream(asks: number): {client: Client; seen: Record<string, unknown>[]} {
  const seen: Record<string, unknown>[] = []
  const client = {
    request: async ({params}: {params: Record<string, unknown>}) => {
      seen.push(params)
      if (!params.inputResponses) return {resultType: 'input_required', inputRequests: Object.fromEntries(Array.from({length: asks}, (_, i) => [`q${i}`, ELICIT])), requestState: 'upstream-state'}
      return {resultType: 'complete', content: [{type: 'text', text: `answers: ${Object.keys(params.inputResponses as object).length}, state: ${String(params.requestState)}`}]}
    },
  } as unknown as Client
  return {client, seen}
}

/** A 2025 caller in a stateful session: each request it is sent is answered, and counted. */
function legacyCaller(asked: string[]): CallEnv {
  const channel: ClientChannel = {notify: async () => {}, request: async (r) => (asked.push(r.method), {action: 'accept', content: {name: 'Ada'}})}
  return {era: 'legacy', client: channel, session: {id: 's'} as ClientSession, declared: {elicitation: {}, roots: {listChanged: true}}} as unknown as CallEnv
}

const call = (client: Client, env: CallEnv) => callModern({client, upstream: 'up', method: 'tools/call', params: {name: 't', arguments: {}}, options: {}, env})

describe('gateway: a 2026-07-28 upstream asks for input', () => {
  it("asks a 2025 caller on its own call's channel, then retries with the answers and the upstream's state", async () => {
    const asked: string[] = []
    const {client, seen} = upstream(2)
    const result = await call(client, legacyCaller(asked))
    assert.deepEqual(result.content, [{type: 'text', text: 'answers: 2, state: upstream-state'}])
    assert.deepEqual(asked, ['elicitation/create', 'elicitation/create'])
    assert.deepEqual((seen[0]._meta as Record<string, unknown>)['io.modelcontextprotocol/clientCapabilities'], {elicitation: {}, roots: {listChanged: true}})
  })

  it('refuses an answer with more input requests than a client is sent at once, before sending any', async () => {
    const asked: string[] = []
    await assert.rejects(call(upstream(17).client, legacyCaller(asked)), (err: unknown) => err instanceof Refusal && /asked for 17 inputs at once; at most 16/.test(err.message))
    assert.deepEqual(asked, [])
  })

  it('tells the upstream a stateless 2025 caller declares nothing, and refuses input it asks for anyway', async () => {
    const {client, seen} = upstream(1)
    const env = {era: 'legacy', declared: {elicitation: {}}} as unknown as CallEnv
    await assert.rejects(call(client, env), /which a stateless HTTP client cannot give/)
    assert.deepEqual((seen[0]._meta as Record<string, unknown>)['io.modelcontextprotocol/clientCapabilities'], {})
  })

  it("hands a 2026-07-28 caller the upstream's input requests, and leaves its state for the bridge to seal", async () => {
    const {client} = upstream(1)
    const env = {era: 'modern', input: {}, declared: {elicitation: {}}} as unknown as CallEnv
    const result = await call(client, env)
    assert.deepEqual(result, {resultType: 'input_required', inputRequests: {q0: ELICIT}})
    assert.deepEqual(env.input?.asked, {upstream: 'up', state: 'upstream-state'})
  })

  it("refuses a retry whose sealed state names another upstream", async () => {
    const {client, seen} = upstream(1)
    const env = {era: 'modern', input: {retry: {upstream: 'other', state: 's', responses: {}}}} as unknown as CallEnv
    await assert.rejects(call(client, env), (err: unknown) => err instanceof Refusal && err.message === 'Invalid or expired requestState')
    assert.equal(seen.length, 0)
  })
})
