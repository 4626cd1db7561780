/** The API-key authenticator on its own: a vault's key index, without a server. */
import assert from 'node:assert/strict'

import {ApiKeyAuthenticator, type VaultView} from '../../../src/auth/api-key.js'
import {AuthFailure} from '../../../src/auth/authenticator.js'
import {createAuthenticators, type Principal} from '../../../src/auth/index.js'
import {changeScopes, createKey, KeyIndex, revokeKey, rotateKey} from '../../../src/keys/index.js'
import {decodeData, emptyData, encodeData} from '../../../src/vault/payload.js'
import type {VaultData} from '../../../src/vault/index.js'

function view(data: VaultData, revoked: ReadonlySet<string> = new Set()): VaultView {
  const index = KeyIndex.fromVault(data)
  return {keys: () => index, data: () => data, revoked: () => revoked}
}

function refusal(fn: () => unknown): AuthFailure {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof AuthFailure, String(err))
    return err
  }
  assert.fail('no refusal')
}

/** API-key authenticators over a vault as `keyward serve` holds it: `reload` decodes it afresh after a change (new records, as a reload gets them). */
function served(initial: VaultData) {
  let data = initial
  const auth = createAuthenticators(['api-key'], {vault: {keys: () => KeyIndex.fromVault(data), data: () => data}})
  return {
    auth,
    reload(change: (d: VaultData) => unknown): void {
      const next = decodeData(encodeData(data), 2)!
      change(next)
      data = next
    },
    authenticate: (value: string) => auth.list[0].authenticate({source: 'authorization', value}, {transport: 'http'}) as Principal,
  }
}

describe('auth: api-key', () => {
  it('a valid key becomes its principal: id, name, scopes and rate', () => {
    const data = emptyData()
    const {key, record} = createKey(data, {name: 'ci', scopes: ['echo', '!debug_*'], rateLimit: {limit: 5, windowSeconds: 60}})
    const auth = new ApiKeyAuthenticator(view(data))
    const credential = {source: 'authorization' as const, value: key}
    assert.equal(auth.claims(credential), true)
    const principal = auth.authenticate(credential)
    assert.equal(principal.id, `key:${record.id}`)
    assert.equal(principal.authType, 'api_key')
    assert.equal(principal.name, 'ci')
    assert.equal(principal.keyId, record.id)
    assert.deepEqual(principal.rate, {limit: 5, windowSeconds: 60})
    assert.equal(principal.scopes.allows('tool', 'echo'), true)
    assert.equal(principal.scopes.allows('tool', 'get_time'), false)
    assert.equal(auth.stillValid(principal), true)
    assert.equal(auth.authenticate(credential), principal, 'the same record gives the same principal, compiled once')
  })

  it('claims only keyward-shaped credentials, so a JWT goes to OAuth', () => {
    const auth = new ApiKeyAuthenticator(view(emptyData()))
    assert.equal(auth.claims(undefined), false)
    assert.equal(auth.claims({source: 'authorization', value: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'}), false)
    assert.equal(auth.claims({source: 'x-api-key', value: 'kw_AAAAAAAAAAAA_whatever'}), true)
  })

  it('refuses a mistyped, unknown, revoked (in the vault or by a replica notice), expired or not yet valid key with its reason', () => {
    const data = emptyData()
    const hourAgo = new Date(Date.now() - 3_600_000)
    const good = createKey(data, {name: 'good', scopes: ['full']})
    const gone = createKey(data, {name: 'gone', scopes: ['full']})
    const past = createKey(data, {name: 'past', scopes: ['full'], expires: new Date(Date.now() - 60_000).toISOString()}, hourAgo)
    const future = createKey(data, {name: 'future', scopes: ['full'], notBefore: new Date(Date.now() + 60_000).toISOString()})
    revokeKey(data, 'gone', 'test')
    const noticed = new Set<string>()
    const auth = new ApiKeyAuthenticator(view(data, noticed))
    const reason = (value: string) => refusal(() => auth.authenticate({source: 'authorization', value}))
    assert.equal(reason(`${good.key.slice(0, -4)}AAAA`).reason, 'malformed', 'a bad checksum is a typo')
    assert.equal(reason(createKey(emptyData(), {name: 'elsewhere', scopes: ['full']}).key).reason, 'not_found')
    assert.equal(reason(past.key).reason, 'expired')
    assert.equal(reason(future.key).reason, 'not_yet_valid')
    const revoked = reason(gone.key)
    assert.equal(revoked.reason, 'revoked')
    assert.equal(revoked.status, 401)
    assert.equal(revoked.error, 'invalid_token')
    assert.ok(!revoked.message.includes(gone.key), 'never the key in the message')
    const principal = auth.authenticate({source: 'authorization', value: good.key})
    noticed.add(good.record.id)
    assert.equal(reason(good.key).reason, 'revoked', 'a revocation notice from another replica counts before the vault catches up')
    assert.equal(auth.stillValid(principal), false, 'and an open session of that key ends')
  })

  it('a session of a key revoked in the vault later is no longer valid', () => {
    const data = emptyData()
    const issued = createKey(data, {name: 'later', scopes: ['full']})
    const auth = new ApiKeyAuthenticator(view(data))
    const principal = auth.authenticate({source: 'authorization', value: issued.key})
    assert.equal(auth.stillValid(principal), true)
    revokeKey(data, 'later', undefined)
    assert.equal(auth.stillValid(principal), false)
  })

  it('a principal held past its request (a session, a subscription) is taken as the vault has it now: narrowed after `keys scope` and a reload, none once revoked', () => {
    const data = emptyData()
    const issued = createKey(data, {name: 'agent', scopes: ['echo', 'resource:**']})
    const {auth, reload, authenticate} = served(data)
    const held = authenticate(issued.key)
    assert.equal(auth.current(held), held, 'unchanged: the same principal')
    reload((d) => changeScopes(d, 'agent', {remove: ['resource:**']}))
    const now = auth.current(held)!
    assert.equal(now.id, held.id)
    assert.equal(now.scopes.allows('resource', 'res://x'), false, 'the narrowed key still reads resources')
    assert.equal(now.scopes.allows('tool', 'echo'), true)
    assert.equal(held.scopes.allows('resource', 'res://x'), true, 'what was held is not changed under its holder')
    reload(() => {})
    assert.equal(auth.current(held)!.scopes.allows('resource', 'res://x'), false)
    reload((d) => revokeKey(d, 'agent', undefined))
    assert.equal(auth.current(held), undefined, 'a revoked key is no principal at all')
  })

  it('a principal held past its request ends with the secret it was authenticated with: at a rotation without grace, and when the grace ends', () => {
    const data = emptyData()
    const first = createKey(data, {name: 'leaked', scopes: ['full']})
    const {auth, reload, authenticate} = served(data)
    const held = authenticate(first.key)
    let second = ''
    reload((d) => (second = rotateKey(d, 'leaked', 0).key))
    assert.equal(refusal(() => authenticate(first.key)).reason, 'not_found', 'the old secret stops working at once')
    assert.equal(auth.current(held), undefined, "and so does a session or listen stream it opened: a rotation is how a leaked key's holder is cut off")
    assert.equal(auth.stillValid(held), false)
    const renewed = authenticate(second)
    assert.ok(auth.current(renewed), 'the new secret holds its sessions')
    reload((d) => rotateKey(d, 'leaked', 60_000))
    const graced = auth.current(renewed)
    assert.ok(graced, 'a secret in its grace period is still valid')
    assert.ok(graced.expiresAt !== undefined && graced.expiresAt <= Date.now() + 60_000, 'until its grace ends, not beyond')
  })

  it('its challenge is Bearer realm="keyward", with the error of a refusal', () => {
    const auth = new ApiKeyAuthenticator(view(emptyData()))
    assert.deepEqual(auth.challenge(), {scheme: 'Bearer', params: {realm: 'keyward'}})
    const failure = new AuthFailure('revoked', 'Unauthorized: API key has been revoked', 'invalid_token')
    assert.deepEqual(auth.challenge(failure), {scheme: 'Bearer', params: {realm: 'keyward', error: 'invalid_token', error_description: 'Unauthorized: API key has been revoked'}})
  })
})
