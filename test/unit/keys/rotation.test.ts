/**
 * Undoing a rotation whose new key was never delivered (keys rotate, and the console): only the
 * secret goes back, and only while the key still holds the secret the rotation issued. What
 * another command changed meanwhile (a revocation, narrower scopes, another rotation) stays.
 */
import assert from 'node:assert/strict'

import {changeScopes, createKey, keysOf, revokeKey, rotateKey, undoRotation} from '../../../src/keys/index.js'
import {emptyData} from '../../../src/vault/payload.js'

function rotated(graceMs = 0) {
  const data = emptyData()
  const {record} = createKey(data, {name: 'ci', scopes: ['full']})
  const original = structuredClone(record)
  const rotated = rotateKey(data, 'ci', graceMs)
  return {data, id: record.id, original, from: rotated.replaced, issued: structuredClone(rotated.record.secret)}
}

describe('keys: undoing an undelivered rotation', () => {
  it('puts the old secret back, and the grace list as it was', () => {
    const {data, id, original, from, issued} = rotated(60_000)
    assert.notEqual(keysOf(data).get(id)!.secret.hash, original.secret.hash)
    assert.equal(undoRotation(data, id, issued, from), true)
    assert.deepEqual(keysOf(data).get(id), original)
  })

  it('keeps a revocation and a scope change made meanwhile by another command', () => {
    const {data, id, original, from, issued} = rotated()
    changeScopes(data, id, {set: ['echo']})
    revokeKey(data, id, 'leaked')
    assert.equal(undoRotation(data, id, issued, from), true)
    const now = keysOf(data).get(id)!
    assert.equal(now.secret.hash, original.secret.hash, 'the old secret is back')
    assert.ok(now.revoked, 'the revocation stays')
    assert.deepEqual(now.scopes, ['echo'], 'the narrower scopes stay')
  })

  it('does nothing once the key was rotated again, or removed', () => {
    const {data, id, from, issued} = rotated()
    const again = structuredClone(rotateKey(data, id, 0).record)
    assert.equal(undoRotation(data, id, issued, from), false)
    assert.deepEqual(keysOf(data).get(id), again)
    keysOf(data).delete(id)
    assert.equal(undoRotation(data, id, issued, from), false)
    assert.equal(keysOf(data).has(id), false)
  })
})
