/** `--auth none`: the anonymous principal, with every scope, and no challenge. */
import assert from 'node:assert/strict'

import {ANONYMOUS, createAuthenticators} from '../../../src/auth/index.js'
import {NoAuthenticator} from '../../../src/auth/none.js'
import {KeyIndex} from '../../../src/keys/index.js'
import {emptyData} from '../../../src/vault/payload.js'

describe('auth: none', () => {
  it('claims everything, and everyone is the anonymous principal with every scope', () => {
    const auth = new NoAuthenticator()
    assert.equal(auth.claims(), true)
    const p = auth.authenticate()
    assert.equal(p, ANONYMOUS)
    assert.equal(p.authType, 'none')
    for (const [kind, name] of [['tool', 'anything'], ['prompt', 'p'], ['resource', 'file:///etc/x']] as const) assert.equal(p.scopes.allows(kind, name), true)
    assert.equal(auth.challenge(), undefined)
    assert.equal(auth.stillValid(), true)
  })

  it('as the method, authentication is not required, lists no type and sends no challenge', async () => {
    const data = emptyData()
    const index = KeyIndex.fromVault(data)
    const auth = createAuthenticators(['none'], {vault: {keys: () => index, data: () => data}})
    assert.equal(auth.required, false)
    assert.deepEqual(auth.types, [])
    assert.equal((await auth.authenticate(undefined, {transport: 'http', peer: '127.0.0.1'})).principal, ANONYMOUS)
    assert.equal(auth.challenge(), undefined)
  })
})
