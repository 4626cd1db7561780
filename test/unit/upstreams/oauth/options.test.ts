/** `upstream add`'s OAuth flags (src/upstreams/oauth/options.ts): secrets by reference only, and combinations that make sense. */
import assert from 'node:assert/strict'

import {checkOAuthHeaders, oauthFromFlags} from '../../../../src/upstreams/oauth/options.js'

describe('upstream OAuth flags', () => {
  it('none given: no OAuth; --oauth alone: the authorization code grant', () => {
    assert.equal(oauthFromFlags({}), undefined)
    assert.deepEqual(oauthFromFlags({oauth: true}), {grant: 'authorization_code'})
    assert.deepEqual(oauthFromFlags({scope: 'read,write  admin'}), {grant: 'authorization_code', scope: 'read write admin'})
  })

  it('a client secret or key is a secret:NAME reference, never a value', () => {
    assert.throws(() => oauthFromFlags({'client-id': 'c', 'client-secret': 's3cr3t-value'}), /--client-secret takes a vault secret as secret:NAME, never the value itself/)
    assert.throws(() => oauthFromFlags({'client-id': 'c', 'client-key': '-----BEGIN PRIVATE KEY-----'}), /--client-key takes a vault secret/)
    assert.deepEqual(oauthFromFlags({'client-id': 'c', 'client-secret': 'secret:CLIENT_SECRET'}), {grant: 'authorization_code', clientId: 'c', clientSecret: 'CLIENT_SECRET'})
  })

  it('client_credentials and cross_app_access need a registered client; the identity provider only with the latter', () => {
    assert.throws(() => oauthFromFlags({grant: 'client_credentials'}), /needs the client registered for it/)
    assert.throws(() => oauthFromFlags({grant: 'client_credentials', 'client-id': 'c'}), /needs the client registered for it/)
    assert.deepEqual(oauthFromFlags({grant: 'client-credentials', 'client-id': 'c', 'client-key': 'secret:K'}), {grant: 'client_credentials', clientId: 'c', clientKey: 'K'})
    assert.throws(() => oauthFromFlags({grant: 'client_credentials', 'client-id': 'c', 'client-secret': 'secret:S', 'client-key': 'secret:K'}), /not both/)
    assert.throws(() => oauthFromFlags({grant: 'password'}), /is not one keyward uses/)
    assert.throws(() => oauthFromFlags({oauth: true, 'id-token': 'secret:T'}), /are for --grant cross_app_access/)
    assert.throws(() => oauthFromFlags({grant: 'cross_app_access', 'client-id': 'c', 'client-secret': 'secret:S'}), /needs the identity provider/)
    assert.deepEqual(oauthFromFlags({grant: 'cross_app_access', 'client-id': 'c', 'client-secret': 'secret:S', 'idp-issuer': 'https://idp.example', 'idp-client-id': 'i', 'id-token': 'secret:T'}), {
      grant: 'cross_app_access',
      clientId: 'c',
      clientSecret: 'S',
      idp: {issuer: 'https://idp.example', clientId: 'i', idToken: 'T'},
    })
  })

  it('a metadata document URL is https with a path; an issuer pin needs a pre-registered client', () => {
    assert.throws(() => oauthFromFlags({'client-metadata-url': 'http://example.com/client.json'}), /must be an https:\/\/ URL with a path/)
    assert.throws(() => oauthFromFlags({'client-metadata-url': 'https://example.com/'}), /with a path/)
    assert.throws(() => oauthFromFlags({issuer: 'https://as.example'}), /give its --client-id too/)
    assert.throws(() => oauthFromFlags({scope: 'a "b"'}), /is not a list of OAuth scopes/)
  })

  it('an OAuth upstream cannot also set Authorization', () => {
    assert.throws(() => checkOAuthHeaders({authorization: 'Bearer {secret:X}'}), /cannot be combined with OAuth/)
    checkOAuthHeaders({'x-tenant': 'acme'})
  })
})
