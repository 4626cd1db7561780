/** WWW-Authenticate challenges: quoting, one challenge per scheme, the error of the refusing authenticator, methods. */
import assert from 'node:assert/strict'

import {AuthFailure} from '../../../src/auth/authenticator.js'
import {errorParams, quoted, renderChallenges} from '../../../src/auth/challenge.js'
import {createAuthenticators} from '../../../src/auth/index.js'
import {parseCidr} from '../../../src/net/addresses.js'
import {KeyIndex} from '../../../src/keys/index.js'
import {emptyData} from '../../../src/vault/payload.js'

describe('auth: challenges', () => {
  it('quotes parameter values so that no value can end its string early', () => {
    assert.equal(quoted('plain'), '"plain"')
    assert.equal(quoted('a"b\\c'), `"a'b'c"`)
  })

  it('an error parameter set only for a failure with an RFC 6750 code; insufficient_scope names the scope', () => {
    assert.deepEqual(errorParams(undefined), {})
    assert.deepEqual(errorParams(new AuthFailure('unsupported_scheme', 'Unauthorized: use Bearer')), {}, 'RFC 6750 3.1: no error code for a request without a usable credential')
    assert.deepEqual(errorParams(new AuthFailure('insufficient_scope', 'Forbidden: no', 'insufficient_scope', 403, 'mcp:tool:x')), {error: 'insufficient_scope', scope: 'mcp:tool:x', error_description: 'Forbidden: no'})
  })

  it('merges challenges per scheme, the first value of a parameter winning, and lists the methods when there are several', () => {
    const header = renderChallenges(
      [
        {scheme: 'Bearer', params: {realm: 'keyward', error: 'invalid_token', error_description: 'expired'}},
        {scheme: 'Bearer', params: {resource_metadata: 'https://mcp.example/.well-known/oauth-protected-resource/mcp', realm: 'other'}},
      ],
      ['api_key', 'oauth2'],
    )
    assert.equal(header, 'Bearer realm="keyward", error="invalid_token", error_description="expired", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", methods="api_key oauth2"')
    assert.equal(renderChallenges([{scheme: 'Bearer', params: {realm: 'keyward'}}], ['api_key']), 'Bearer realm="keyward"', 'one method: no methods parameter')
    assert.equal(renderChallenges([], ['api_key']), undefined)
  })

  it('only the authenticator that refused carries the error; the others still offer their way in', () => {
    const data = emptyData()
    const index = KeyIndex.fromVault(data)
    const auth = createAuthenticators(['api-key', 'proxy-header'], {
      vault: {keys: () => index, data: () => data},
      proxy: {trusted: [parseCidr('10.0.0.5')!], userHeader: 'x-forwarded-user', groupsHeader: 'x-forwarded-groups', scopes: ['echo'], groupScopes: new Map()},
    })
    const failure = new AuthFailure('untrusted_proxy', 'Unauthorized: identity headers are accepted only from the trusted proxy', 'invalid_request', 401)
    failure.by = auth.list[1]
    assert.equal(auth.challenge(failure), 'Bearer realm="keyward", error="invalid_request", error_description="Unauthorized: identity headers are accepted only from the trusted proxy", methods="api_key proxy_header"')
    assert.equal(auth.challenge(), 'Bearer realm="keyward", methods="api_key proxy_header"', 'no credential: no error, the proxy offers no challenge of its own')
  })
})
