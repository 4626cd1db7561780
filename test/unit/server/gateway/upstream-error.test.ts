/** What a failed upstream request becomes (upstream-source.ts upstreamError; refusal.ts isJsonRpcError). */
import assert from 'node:assert/strict'

import {UpstreamUnavailable} from '../../../../src/server/gateway/link.js'
import {upstreamError} from '../../../../src/server/gateway/upstream-source.js'
import {isJsonRpcError, Refusal} from '../../../../src/server/refusal.js'

describe('upstream errors', () => {
  it("an upstream's own JSON-RPC error passes through with its code, message and data", () => {
    const err = upstreamError('notes', Object.assign(new Error('no such note'), {code: -32602, data: {id: 7}}))
    assert.ok(err instanceof Refusal)
    assert.deepEqual([err.code, err.message, err.data], [-32602, 'no such note', {id: 7}])
  })

  it('an aborted request (its transport closed under it) is not an answer with code 20: it says which upstream failed', () => {
    const aborted = new DOMException('This operation was aborted', 'AbortError')
    assert.equal(aborted.code, 20)
    assert.equal(isJsonRpcError(aborted), false)
    const err = upstreamError('notes', aborted)
    assert.ok(err instanceof UpstreamUnavailable, String(err))
    assert.match((err as Error).message, /^upstream notes failed during the call \(This operation was aborted\)/)
  })

  it('a code that is not an integer, or a Node system error, is not a JSON-RPC error', () => {
    assert.equal(isJsonRpcError(Object.assign(new Error('x'), {code: 1.5})), false)
    assert.equal(isJsonRpcError(Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'})), false)
    assert.equal(isJsonRpcError({code: -32000, message: 'Connection closed'}), true)
  })
})
