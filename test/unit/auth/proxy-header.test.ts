/** The proxy-header authenticator on its own: trusted addresses, the identity headers, scopes per group. */
import assert from 'node:assert/strict'

import {AuthFailure} from '../../../src/auth/authenticator.js'
import {ProxyHeaderAuthenticator} from '../../../src/auth/proxy-header.js'
import {parseCidr} from '../../../src/net/addresses.js'

function proxy(cidrs: string[], scopes: string[] = ['echo'], groups: Record<string, string[]> = {admins: ['*']}) {
  return new ProxyHeaderAuthenticator({
    trusted: cidrs.map((c) => parseCidr(c)!),
    userHeader: 'x-forwarded-user',
    groupsHeader: 'x-forwarded-groups',
    scopes,
    groupScopes: new Map(Object.entries(groups)),
  })
}

const request = (peer: string, headers: Record<string, string>) => ({transport: 'http' as const, peer, headers})

function refusal(fn: () => unknown): AuthFailure {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof AuthFailure, String(err))
    return err
  }
  assert.fail('no refusal')
}

describe('auth: proxy-header', () => {
  it('claims a request that carries the user header, whatever its credential', () => {
    const auth = proxy(['10.0.0.0/8'])
    assert.equal(auth.claims(undefined, request('10.1.2.3', {'x-forwarded-user': 'alice'})), true)
    assert.equal(auth.claims({source: 'authorization', value: 'x'}, request('10.1.2.3', {})), false)
    assert.deepEqual(auth.headerNames, ['x-forwarded-user', 'x-forwarded-groups'])
  })

  it('a trusted peer (IPv4, IPv4-mapped IPv6, IPv6) makes the user a principal with the base scopes plus its groups’', () => {
    const auth = proxy(['10.0.0.0/8', 'fd00::/8'])
    for (const peer of ['10.1.2.3', '::ffff:10.1.2.3', 'fd00::5']) {
      const p = auth.authenticate(undefined, request(peer, {'x-forwarded-user': ' alice ', 'x-forwarded-groups': 'staff, admins'}))
      assert.equal(p.id, 'proxy:alice', peer)
      assert.equal(p.authType, 'proxy_header')
      assert.equal(p.scopes.allows('tool', 'get_time'), true, 'admins grant *')
    }
    const plain = auth.authenticate(undefined, request('10.0.0.1', {'x-forwarded-user': 'bob'}))
    assert.equal(plain.scopes.allows('tool', 'echo'), true)
    assert.equal(plain.scopes.allows('tool', 'get_time'), false, 'no group, base scopes only')
    assert.equal(auth.stillValid(), true)
  })

  it('refuses the header from any other address (untrusted_proxy), a malformed user, and a user with no scopes', () => {
    const auth = proxy(['10.0.0.5/32'], [], {admins: ['*']})
    for (const peer of ['10.0.0.6', '::ffff:10.0.0.6', '127.0.0.1', '::1']) {
      const f = refusal(() => auth.authenticate(undefined, request(peer, {'x-forwarded-user': 'admin', 'x-forwarded-groups': 'admins'})))
      assert.equal(f.reason, 'untrusted_proxy', peer)
      assert.equal(f.status, 401)
    }
    assert.equal(refusal(() => auth.authenticate(undefined, request('10.0.0.5', {'x-forwarded-user': 'a b"c'}))).reason, 'malformed')
    const none = refusal(() => auth.authenticate(undefined, request('10.0.0.5', {'x-forwarded-user': 'carol', 'x-forwarded-groups': 'staff'})))
    assert.equal(none.reason, 'insufficient_scope')
    assert.equal(none.status, 403)
  })

  describe('current: a principal under reloaded settings (a reload builds a new authenticator)', () => {
    const alice = () => proxy(['10.0.0.0/8'], ['echo'], {admins: ['*'], ops: ['get_*']}).authenticate(undefined, request('10.1.2.3', {'x-forwarded-user': 'alice', 'x-forwarded-groups': 'staff, admins'}))

    it('maps the groups the proxy asserted again: a narrowed proxy.scope-map narrows it, unchanged settings keep the very principal', () => {
      const p = alice()
      assert.deepEqual(p.basis, {kind: 'proxy_header', groups: ['staff', 'admins'], peer: '10.1.2.3', userHeader: 'x-forwarded-user', groupsHeader: 'x-forwarded-groups'})
      assert.equal(p.scopes.allows('tool', 'get_time'), true)
      const same = proxy(['10.0.0.0/8'], ['echo'], {admins: ['*'], ops: ['get_*']})
      assert.equal(same.current(p), p)
      const narrowed = proxy(['10.0.0.0/8'], ['echo'], {admins: ['hello_world']})
      const now = narrowed.current(p)!
      assert.equal(now.id, 'proxy:alice')
      assert.equal(now.scopes.allows('tool', 'get_time'), false, 'admins narrowed')
      assert.equal(now.scopes.allows('tool', 'hello_world'), true)
      assert.equal(now.scopes.allows('tool', 'echo'), true, 'proxy.scopes still')
      assert.equal(narrowed.current(p), now, 'derived once per principal')
      assert.equal(narrowed.current(now), now)
      assert.equal(proxy(['10.0.0.0/8'], [], {staff: ['echo']}).current(p)?.scopes.allows('tool', 'echo'), true, 'another group of its own now maps')
    })

    it('none once it would no longer be admitted: no scope left, its proxy no longer trusted, the identity headers renamed', () => {
      const p = alice()
      assert.equal(proxy(['10.0.0.0/8'], [], {ops: ['get_*']}).current(p), undefined, 'neither proxy.scopes nor any of its groups')
      assert.equal(proxy(['10.9.0.0/16'], ['echo'], {admins: ['*']}).current(p), undefined, 'proxy.trusted-cidrs no longer holds its proxy')
      const renamed = (user: string, groups: string) => new ProxyHeaderAuthenticator({trusted: [parseCidr('10.0.0.0/8')!], userHeader: user, groupsHeader: groups, scopes: ['echo'], groupScopes: new Map([['admins', ['*']]])})
      assert.equal(renamed('x-auth-request-user', 'x-forwarded-groups').current(p), undefined)
      assert.equal(renamed('x-forwarded-user', 'x-auth-request-groups').current(p), undefined)
      assert.equal(renamed('x-forwarded-user', 'x-forwarded-groups').current(p)?.scopes.allows('tool', 'get_time'), true)
      assert.equal(proxy(['10.0.0.0/8']).current({...p, basis: undefined}), undefined, 'nothing to derive it from')
    })
  })

  it('challenges only for its own refusals', () => {
    const auth = proxy(['10.0.0.5/32'])
    assert.equal(auth.challenge(), undefined)
    const f = refusal(() => auth.authenticate(undefined, request('10.9.9.9', {'x-forwarded-user': 'x'})))
    assert.equal(auth.challenge(f), undefined, 'not marked as its own yet')
    f.by = auth
    assert.deepEqual(auth.challenge(f)?.params, {realm: 'keyward', error: 'invalid_request', error_description: f.message})
  })
})
