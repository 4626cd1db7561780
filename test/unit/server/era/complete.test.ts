/** A 2026-07-28 answer made whole by keyward (era/complete.ts): what the SDK would have sent, built in one copy. */
import assert from 'node:assert/strict'

import {completeResult, withoutServerIdentity} from '../../../../src/server/era/complete.js'
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

describe('withoutServerIdentity', () => {
  const upstream = {name: 'internal-billing', version: '4.2.0'}

  it("takes the producing server's name out of a result, keeping the rest of its _meta, and does not touch what it was given", () => {
    const result = {content: [{type: 'text', text: 'hi'}], resultType: 'complete', _meta: {[META.serverInfo]: upstream, trace: 'x'}}
    const kept = withoutServerIdentity(result)
    assert.deepEqual(kept, {content: [{type: 'text', text: 'hi'}], resultType: 'complete', _meta: {trace: 'x'}})
    assert.deepEqual(result._meta, {[META.serverInfo]: upstream, trace: 'x'})
  })

  it('drops a _meta left empty, so that keyward names itself there (completeResult) or nothing does', () => {
    const kept = withoutServerIdentity({contents: [], _meta: {[META.serverInfo]: upstream}})
    assert.deepEqual(kept, {contents: []})
    assert.deepEqual(completeResult(kept, identity)._meta, {[META.serverInfo]: identity})
  })

  it('returns anything else as it is', () => {
    for (const result of [{content: []}, {content: [], _meta: {trace: 'x'}}, {content: [], _meta: 'odd'}, undefined, 'text']) {
      assert.equal(withoutServerIdentity(result), result)
    }
  })
})

describe('a result whose JSON has a key named __proto__ (an upstream chooses its bytes)', () => {
  const upstream = {name: 'internal-billing', version: '4.2.0'}
  const hostile = () => JSON.parse(`{"content":[],"__proto__":{"isError":true},"_meta":{"${META.serverInfo}":${JSON.stringify(upstream)},"__proto__":{"trace":"x"}}}`) as Record<string, unknown>

  it('withoutServerIdentity keeps it a key: it neither becomes the prototype of the copy nor is lost', () => {
    const kept = withoutServerIdentity(hostile())
    assert.equal(Object.getPrototypeOf(kept), Object.prototype)
    assert.equal(kept.isError, undefined, 'a field the result does not have is read through the prototype (the audit reads isError)')
    assert.deepEqual(Object.keys(kept), ['content', '__proto__', '_meta'])
    assert.equal(JSON.stringify(kept), `{"content":[],"__proto__":{"isError":true},"_meta":{"__proto__":{"trace":"x"}}}`)
  })

  it('completeResult keeps it a key too', () => {
    const raw = JSON.parse(`{"content":[],"__proto__":{"isError":true},"_meta":{"__proto__":{"trace":"x"}}}`) as Record<string, unknown>
    const whole = completeResult(raw, identity) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(whole), Object.prototype)
    assert.equal(whole.isError, undefined)
    assert.equal(JSON.stringify(whole), `{"content":[],"__proto__":{"isError":true},"_meta":{"__proto__":{"trace":"x"},"${META.serverInfo}":${JSON.stringify(identity)}},"resultType":"complete"}`)
  })
})
