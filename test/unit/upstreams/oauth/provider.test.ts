/**
 * What keyward keeps of a token response (src/upstreams/oauth/provider.ts, storedTokens): the
 * expiry made absolute, as the vault (JSON) can keep it, whatever `expires_in` the authorization
 * server claims; and only a Bearer token (RFC 6750), whatever the case of its token_type.
 */
import assert from 'node:assert/strict'

import {KeywardError} from '../../../../src/errors/index.js'
import {tokenTypeRefusal, UnsupportedTokenType} from '../../../../src/upstreams/oauth/failure.js'
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

  it('a token_type other than Bearer (DPoP, mac, a missing one) is refused with one line naming the type, never the token; bearer in any case is kept', () => {
    const now = Date.now()
    for (const type of ['DPoP', 'mac', 'N_A', '', undefined, 'Bearer\u001b[2J']) {
      const answer = {access_token: 'secret-access', refresh_token: 'secret-refresh', token_type: type} as unknown as Parameters<typeof storedTokens>[0]
      assert.throws(
        () => storedTokens(answer, now),
        (err: unknown) => err instanceof UnsupportedTokenType && err instanceof KeywardError && err.code === 'LOGIN_FAILED' && !/secret-|\n|\u001b/.test(err.message) && /not a Bearer token.*sign in again$/.test(err.message),
        String(type),
      )
    }
    assert.match(new UnsupportedTokenType('DPoP').message, /^the authorization server issued a token of type "DPoP", not a Bearer token/)
    assert.match(new UnsupportedTokenType(undefined).message, /^the authorization server issued a token with no token_type, not a Bearer token/)
    for (const type of ['Bearer', 'bearer', 'BEARER']) assert.equal(storedTokens({access_token: 'a', token_type: type}, now).access_token, 'a')
  })

  it("the SDK's own refusal of an answer with no token_type is the same refusal", () => {
    const zod = Object.assign(new Error('invalid'), {name: 'ZodError', issues: [{path: ['token_type'], message: 'expected string, received undefined'}]})
    assert.equal(tokenTypeRefusal(zod)?.message, new UnsupportedTokenType(undefined).message)
    assert.equal(tokenTypeRefusal(Object.assign(new Error('invalid'), {name: 'ZodError', issues: [{path: ['expires_in']}]})), undefined)
  })
})
