/** Stateful sessions after a reload (src/server/transports/sessions.ts, prune): closed once their key is gone, held to its scopes as they are now otherwise. */
import assert from 'node:assert/strict'

import type {Principal} from '../../../../src/auth/index.js'
import {ScopeSet} from '../../../../src/policy/index.js'
import {SessionStore, type Session} from '../../../../src/server/transports/sessions.js'

const keyPrincipal = (id: string, ...scopes: string[]): Principal => ({id: `key:${id}`, authType: 'api_key', name: id, keyId: id, scopes: new ScopeSet(scopes)})

function session(id: string, principal: Principal): Session & {closed: boolean} {
  const s = {id, owner: principal.id, principal, lastSeen: Date.now(), closed: false} as Session & {closed: boolean}
  const close = async () => void (s.closed = true)
  Object.assign(s, {transport: {close}, server: {close}})
  return s
}

describe('transports: the session store after a reload (prune)', () => {
  it("keeps a narrowed key's session, now under the key's current scopes, and closes a revoked key's", () => {
    const store = new SessionStore()
    try {
      const narrowed = session('s1', keyPrincipal('a', 'echo', 'resource:**'))
      const revoked = session('s2', keyPrincipal('b', 'echo'))
      store.add(narrowed)
      store.add(revoked)
      const vault = new Map([['key:a', keyPrincipal('a', 'echo')]])
      assert.equal(store.prune((p) => vault.get(p.id)), 1)
      assert.equal(revoked.closed, true)
      assert.equal(narrowed.closed, false, 'a narrowed key is still a key: its session stays')
      assert.equal(store.find('s1', narrowed.principal), narrowed)
      assert.equal(narrowed.principal, vault.get('key:a'), 'the session keeps the principal it had before the reload')
      assert.equal(narrowed.principal.scopes.allows('resource', 'res://x'), false)
    } finally {
      store.closeAll()
    }
  })
})
