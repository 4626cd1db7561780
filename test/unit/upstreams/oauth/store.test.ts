/** What the vault's upstream_oauth table gives out (src/upstreams/oauth/store.ts, identity.ts): a view without tokens, the tokens only to the redactor. */
import assert from 'node:assert/strict'

import {signedInAs} from '../../../../src/upstreams/oauth/identity.js'
import {oauthSecretsOf, oauthView, setOAuthState, type OAuthState} from '../../../../src/upstreams/oauth/store.js'
import {emptyData} from '../../../../src/vault/payload.js'

const jwt = (claims: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`

/** Made when a test runs, so its expiry counts from then. */
const stateNow = (): OAuthState => ({
  grant: 'authorization_code',
  grantId: 'g',
  version: 3,
  loggedInAt: '2026-11-30T00:00:00.000Z',
  lastRefresh: '2026-11-30T01:00:00.000Z',
  refreshes: 2,
  signedInAs: 'alice@example.com',
  client: {client_id: 'dyn-1', client_secret: 'dynamic-client-secret-1'},
  tokens: {access_token: 'access-token-value-123', refresh_token: 'refresh-token-value-456', id_token: jwt({sub: 'u1'}), token_type: 'Bearer', scope: 'a b', expires_at: Date.now() + 90_000, issuer: 'https://as.example'},
})

describe('upstream OAuth state', () => {
  it('the view says where things stand and carries no token', () => {
    const state = stateNow()
    const view = oauthView('authorization_code', state)
    assert.deepEqual({...view, expiresIn: undefined}, {grant: 'authorization_code', signedIn: true, signedInAs: 'alice@example.com', scopes: ['a', 'b'], expiresIn: undefined, loggedInAt: state.loggedInAt, lastRefresh: state.lastRefresh, refreshes: 2, issuer: 'https://as.example', needsLogin: false, needsLoginReason: undefined, needsLoginScope: undefined})
    assert.ok(view.expiresIn! > 85 && view.expiresIn! <= 90)
    const printed = JSON.stringify(view)
    for (const secret of ['access-token-value-123', 'refresh-token-value-456', state.tokens!.id_token!, 'dynamic-client-secret-1']) assert.ok(!printed.includes(secret))
    assert.deepEqual(oauthView('authorization_code', undefined), {grant: 'authorization_code', signedIn: false, scopes: [], refreshes: 0, needsLogin: true, needsLoginReason: 'not signed in yet', needsLoginScope: undefined})
    assert.equal(oauthView('client_credentials', undefined).needsLogin, false, 'a service identity needs no person to start')
  })

  it('every token and a registered client secret go to the redactor, named after the upstream', () => {
    const data = emptyData()
    setOAuthState(data, 'pg-main', stateNow())
    assert.deepEqual(oauthSecretsOf(data).map(([name]) => name), ['UPSTREAM_PG_MAIN_OAUTH', 'UPSTREAM_PG_MAIN_OAUTH', 'UPSTREAM_PG_MAIN_OAUTH', 'UPSTREAM_PG_MAIN_OAUTH_CLIENT'])
    assert.ok(oauthSecretsOf(data).some(([, v]) => v === 'refresh-token-value-456'))
  })

  it('who a token says the operator is: a label from the ID token or the access token, printable and short', () => {
    assert.equal(signedInAs({access_token: 'opaque', token_type: 'Bearer', id_token: jwt({sub: 'u1', email: 'alice@example.com'})}), 'alice@example.com')
    assert.equal(signedInAs({access_token: jwt({sub: 'u2', preferred_username: 'bob\u202E\u0007'}), token_type: 'Bearer'}), 'bob')
    assert.equal(signedInAs({access_token: 'opaque', token_type: 'Bearer'}), undefined)
    assert.equal(signedInAs({access_token: 'x', token_type: 'Bearer'}, 'svc', true), 'client svc')
    assert.equal(signedInAs({access_token: jwt({sub: 'x'.repeat(200)}), token_type: 'Bearer'})!.length, 80)
  })
})
