/** The transport hook (src/upstreams/oauth/fetch.ts): the token on every request, one retry after a 401, insufficient_scope recognised. */
import assert from 'node:assert/strict'

import type {TokenKeeper} from '../../../../src/upstreams/oauth/broker.js'
import {UpstreamNeedsLogin} from '../../../../src/upstreams/oauth/errors.js'
import {bearerChallenge, oauthFetch} from '../../../../src/upstreams/oauth/fetch.js'

function keeper(tokens: string[]) {
  const calls: string[] = []
  let current = tokens.shift()!
  const k = {
    token: async () => current,
    afterUnauthorized: async (sent: string) => {
      calls.push(`401:${sent}`)
      current = tokens.shift() ?? current
      return current
    },
    refusedFresh: async () => new UpstreamNeedsLogin('notes', 'the upstream refused a freshly renewed token (HTTP 401)'),
    insufficientScope: async (scope?: string) => {
      calls.push(`403:${scope}`)
      return new UpstreamNeedsLogin('notes', 'insufficient_scope', scope)
    },
  }
  return {k: k as unknown as TokenKeeper, calls}
}

describe('upstream OAuth fetch', () => {
  it('reads error and scope from a Bearer challenge, quoted or not', () => {
    assert.deepEqual(bearerChallenge('Bearer error="insufficient_scope", scope="a b", resource_metadata="https://x/y"'), {error: 'insufficient_scope', scope: 'a b'})
    assert.deepEqual(bearerChallenge('Bearer error=insufficient_scope,scope=a'), {error: 'insufficient_scope', scope: 'a'})
    assert.deepEqual(bearerChallenge('Basic realm="x"'), {})
    assert.deepEqual(bearerChallenge(null), {})
  })

  it('sends the token, replacing any Authorization the transport set, and passes other answers through', async () => {
    const {k} = keeper(['t1'])
    const seen: string[] = []
    const f = oauthFetch(k, async (_url, init) => {
      seen.push(new Headers(init?.headers).get('authorization')!)
      return new Response('ok', {status: 200})
    })
    const r = await f('https://up/mcp', {method: 'POST', headers: {authorization: 'Bearer other', 'x-a': '1'}, body: '{}'})
    assert.equal(r.status, 200)
    assert.deepEqual(seen, ['Bearer t1'])
  })

  it('after a 401: one renewal and one retry with the new token; a second 401 means a login is needed', async () => {
    const {k, calls} = keeper(['t1', 't2'])
    const statuses = [401, 200]
    const seen: string[] = []
    const f = oauthFetch(k, async (_url, init) => {
      seen.push(new Headers(init?.headers).get('authorization')!)
      return new Response(null, {status: statuses.shift()!})
    })
    assert.equal((await f('https://up/mcp', {method: 'POST', body: '{}'})).status, 200)
    assert.deepEqual(seen, ['Bearer t1', 'Bearer t2'])
    assert.deepEqual(calls, ['401:t1'])
    const always = oauthFetch(keeper(['t1', 't2']).k, async () => new Response(null, {status: 401}))
    await assert.rejects(always('https://up/mcp', {method: 'POST', body: '{}'}), /refused a freshly renewed token/)
  })

  it('403 insufficient_scope becomes "needs a login"; another 403 passes through', async () => {
    const {k, calls} = keeper(['t1'])
    const scoped = oauthFetch(k, async () => new Response(null, {status: 403, headers: {'www-authenticate': 'Bearer error="insufficient_scope", scope="notes:write"'}}))
    await assert.rejects(scoped('https://up/mcp', {method: 'POST', body: '{}'}), UpstreamNeedsLogin)
    assert.deepEqual(calls, ['403:notes:write'])
    const plain = oauthFetch(k, async () => new Response(null, {status: 403}))
    assert.equal((await plain('https://up/mcp', {method: 'POST', body: '{}'})).status, 403)
  })

  it('a connection made for an earlier definition (another URL) gets none of the tokens of the one that replaced it', async () => {
    const before = {name: 'notes', transport: 'http', url: 'https://old.example/mcp', headers: {}, oauth: {grant: 'client_credentials', clientId: 'c'}, prefix: true, created: '', updated: ''} as const
    const {k} = keeper(['for-the-new-one'])
    const shared = k as unknown as {def: unknown}
    shared.def = before
    const sent: string[] = []
    const f = oauthFetch(k, async (_url, init) => (sent.push(new Headers(init?.headers).get('authorization')!), new Response('ok')), before)
    assert.equal((await f('https://old.example/mcp')).status, 200, 'the same definition: the token is sent')
    // The broker's keeper follows the newest definition of the name.
    shared.def = {...before, url: 'https://new.example/mcp'}
    await assert.rejects(f('https://old.example/mcp'), /was changed/)
    assert.deepEqual(sent, ['Bearer for-the-new-one'], 'nothing sent to the old URL after the change')
  })
})
