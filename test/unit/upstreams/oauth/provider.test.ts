/**
 * What keyward keeps of a token response (src/upstreams/oauth/provider.ts, storedTokens): the
 * expiry made absolute, as the vault (JSON) can keep it, whatever `expires_in` the authorization
 * server claims.
 */
import assert from 'node:assert/strict'

import {storedTokens} from '../../../../src/upstreams/oauth/provider.js'

describe('stored upstream tokens', () => {
  it('an absurd expires_in (1e306 s) gives an expiry the vault keeps (not Infinity, which JSON turns into null: an expired token, renewed on every call)', () => {
    const now = Date.now()
    const kept = JSON.parse(JSON.stringify(storedTokens({access_token: 'a', token_type: 'Bearer', expires_in: 1e306}, now))) as {expires_at: unknown}
    assert.equal(typeof kept.expires_at, 'number')
    assert.ok((kept.expires_at as number) > now + 86_400_000, 'still valid tomorrow')
  })

  it('an ordinary expires_in is kept as it is', () => {
    const now = Date.now()
    assert.equal(storedTokens({access_token: 'a', token_type: 'Bearer', expires_in: 3600}, now).expires_at, now + 3_600_000)
  })
})
