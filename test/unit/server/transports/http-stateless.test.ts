/** The shared stateless 2025 server's transport (transports/http-stateless.ts): private ids, and what a client may touch. */
import assert from 'node:assert/strict'

import type {JSONRPCMessage, JSONRPCRequest} from '@modelcontextprotocol/server'

import {StatelessDispatcher} from '../../../../src/server/transports/http-stateless.js'

const request = (id: number): JSONRPCRequest => ({jsonrpc: '2.0', id, method: 'tools/call', params: {name: 'slow'}})

/** The dispatcher with a stand-in server that records what it is handed, and the answers each POST got. */
function serving() {
  const dispatcher = new StatelessDispatcher()
  const handed: JSONRPCMessage[] = []
  dispatcher.onmessage = (message) => void handed.push(message)
  const answers: unknown[][] = []
  const post = (owner: string, id: number) => {
    const got: unknown[] = []
    answers.push(got)
    return {id: dispatcher.request(request(id), {}, owner, {finish: (reply) => void got.push(reply)}), got}
  }
  return {dispatcher, handed, post}
}

/** The private ids of the requests the server was told were cancelled. */
function cancelledIn(handed: JSONRPCMessage[]): unknown[] {
  return handed.flatMap((m) => ('method' in m && m.method === 'notifications/cancelled' ? [(m.params as {requestId?: unknown}).requestId] : []))
}

describe('the shared stateless server (transports/http-stateless)', () => {
  it("two clients of one key that reuse a request id: one's POST closing cancels its own request, not the other's", async () => {
    const {dispatcher, handed, post} = serving()
    const first = post('key:team', 1)
    const second = post('key:team', 1)
    assert.notEqual(first.id, second.id)
    dispatcher.abandon(first.id)
    const cancelled = cancelledIn(handed)
    assert.deepEqual(cancelled, [first.id], 'the request whose POST closed is the one cancelled')
    // The other client's request still gets its answer.
    await dispatcher.send({jsonrpc: '2.0', id: second.id, result: {content: []}})
    assert.deepEqual(second.got, [{jsonrpc: '2.0', id: 1, result: {content: []}}])
  })

  it("once the first of two same-id requests of one key is answered, the client's cancellation still reaches the other", async () => {
    const {dispatcher, handed, post} = serving()
    const first = post('key:team', 1)
    const second = post('key:team', 1)
    await dispatcher.send({jsonrpc: '2.0', id: first.id, result: {content: []}})
    dispatcher.notify({jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId: 1}}, {}, 'key:team')
    const cancelled = cancelledIn(handed)
    assert.deepEqual(cancelled, [second.id])
    // Another key's cancellation of the same id reaches nothing.
    dispatcher.notify({jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId: 1}}, {}, 'key:other')
    assert.equal(cancelledIn(handed).length, 1)
  })

  it("a retired dispatcher closes once both requests are answered, whichever order their POSTs end in", async () => {
    const {dispatcher, post} = serving()
    const first = post('key:team', 1)
    const second = post('key:team', 1)
    let closed = false
    dispatcher.retire(() => (closed = true))
    await dispatcher.send({jsonrpc: '2.0', id: first.id, result: {content: []}})
    // The second is still cancellable by its client after the first one's answer.
    dispatcher.abandon(second.id)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(closed, true)
  })
})
