/** A 2026-07-28 answer made whole by keyward (era/complete.ts): what the SDK would have sent, built in one copy. */
import assert from 'node:assert/strict'

import {completeResult} from '../../../../src/server/era/complete.js'
import {META} from '../../../../src/server/era/protocol.js'

const identity = {name: 'keyward', version: '1.2.3'}

describe('completeResult', () => {
  it('adds resultType complete and the server identity, as the SDK does, without touching the result it was given', () => {
    const result = {content: [{type: 'text', text: 'hi'}], _meta: {trace: 'x'}}
    const whole = completeResult(result, identity)
    assert.deepEqual(whole, {content: [{type: 'text', text: 'hi'}], _meta: {trace: 'x', [META.serverInfo]: identity}, resultType: 'complete'})
    assert.deepEqual(result, {content: [{type: 'text', text: 'hi'}], _meta: {trace: 'x'}})
    assert.deepEqual(completeResult({content: []}, identity), {content: [], resultType: 'complete', _meta: {[META.serverInfo]: identity}})
  })

  it("leaves the SDK's cases to the SDK: another resultType, a _meta that names a server already or is not an object", () => {
    for (const result of [
      {resultType: 'input_required', inputRequests: {}},
      {resultType: 'complete', content: [], _meta: {[META.serverInfo]: {name: 'other', version: '1'}}},
    ]) {
      assert.equal(completeResult(result, identity), result)
    }
    const odd = {content: [], _meta: 'not an object'}
    assert.deepEqual(completeResult(odd, identity), {content: [], _meta: 'not an object', resultType: 'complete'})
  })

  it('serializes in the order the SDK would have sent', () => {
    assert.equal(JSON.stringify(completeResult({content: []}, identity)), JSON.stringify({content: [], resultType: 'complete', _meta: {[META.serverInfo]: identity}}))
  })
})
