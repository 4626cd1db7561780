/**
 * The token keeper of serve (src/upstreams/oauth/broker.ts), over an in-memory vault whose
 * writes are serialized as the vault's lock serializes them, and a renewal that takes the time a
 * token endpoint takes. What it must do: serve the old token while it is still valid and a
 * renewal runs, make a call wait only for a token that is (nearly) expired, renew once for many
 * callers, never renew tokens someone else renewed meanwhile, and turn a refused renewal into
 * "needs a login".
 */
import assert from 'node:assert/strict'

import {OAuthError} from '@modelcontextprotocol/client'

import type {AuditEvent} from '../../../../src/audit/index.js'
import type {OAuthUpstream} from '../../../../src/upstreams/definition.js'
import {IDLE_RENEWAL_MS, timerRenewalAt, TokenKeeper, type BrokerHost} from '../../../../src/upstreams/oauth/broker.js'
import {RefreshFailed, UpstreamNeedsLogin} from '../../../../src/upstreams/oauth/errors.js'
import {oauthFetch} from '../../../../src/upstreams/oauth/fetch.js'
import type {Working} from '../../../../src/upstreams/oauth/provider.js'
import {oauthStateOf, setOAuthState, type OAuthState} from '../../../../src/upstreams/oauth/store.js'
import {upstreamsOf} from '../../../../src/upstreams/store.js'
import {emptyData} from '../../../../src/vault/payload.js'
import type {VaultData} from '../../../../src/vault/index.js'

const def: OAuthUpstream = {name: 'notes', transport: 'http', url: 'https://mcp.example/mcp', headers: {}, oauth: {grant: 'authorization_code'}, prefix: true, created: '', updated: ''}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * `served` is the vault as this process serves it; `disk` as it is under the lock. Another
 * replica's write changes `disk` first; this process sees it on its next write (or reload).
 */
function bed(renewMs = 100) {
  let disk: VaultData = emptyData()
  /** A save that fails (ENOSPC, an I/O error, Redis away) after the change ran: nothing is written. */
  let saveFails: Error | undefined
  const logs: string[] = []
  /** A rotating authorization server: each refresh token is good once, and only the newest it issued. */
  let rotating = false
  const spent: string[] = []
  upstreamsOf(disk).set(def.name, def)
  let served: VaultData = disk
  let lock = Promise.resolve()
  const audits: AuditEvent[] = []
  const renewals: number[] = []
  let fail: Error | undefined
  let issued = 0
  const host: BrokerHost = {
    data: () => served,
    write: <T>(change: (d: VaultData) => Promise<T> | T) => {
      const run = lock.then(async () => {
        const copy: VaultData = {secrets: disk.secrets, tables: new Map([...disk.tables].map(([n, t]) => [n, new Map(t)]))}
        const result = await change(copy)
        if (saveFails) throw saveFails
        // Saved, then served (the reload after a write).
        disk = copy
        served = copy
        return result
      })
      lock = run.then(() => undefined, () => undefined)
      return run
    },
    audit: (e) => void audits.push(e),
    log: (level, message) => void logs.push(`${level}: ${message}`),
    // What the redactors are told when tokens are held: the tokens held at that moment.
    heldChanged: () => void heldTold.push(keeper.heldSecrets().map(([, value]) => value)),
  }
  const heldTold: string[][] = []
  const renew = async (_d: OAuthUpstream, state: OAuthState | undefined): Promise<Working> => {
    renewals.push(state?.version ?? 0)
    await sleep(renewMs)
    if (fail) throw fail
    const presented = state?.tokens?.refresh_token ?? ''
    if (rotating && (spent.includes(presented) || presented !== `refresh-${issued}`)) throw new OAuthError('invalid_grant', 'refresh token already used')
    spent.push(presented)
    const now = Date.now()
    issued++
    return {tokens: {access_token: `access-${issued}`, token_type: 'Bearer', refresh_token: `refresh-${issued}`, expires_at: now + 3_600_000}, obtainedAt: now}
  }
  const keeper = new TokenKeeper(def, host, renew)
  const signIn = (leftMs: number, lifetimeMs = 3_600_000) => {
    const now = Date.now()
    setOAuthState(served, 'notes', {grant: 'authorization_code', grantId: 'g', version: 1, loggedInAt: '', refreshes: 0, obtainedAt: now - (lifetimeMs - leftMs), tokens: {access_token: 'access-0', token_type: 'Bearer', refresh_token: 'refresh-0', expires_at: now + leftMs}})
  }
  return {
    keeper,
    signIn,
    audits,
    renewals,
    heldTold,
    state: () => oauthStateOf(served, 'notes'),
    setData: (f: (d: VaultData) => void) => f(served),
    /** Another writer's change, saved but not yet served here. */
    otherWriter: (f: (d: VaultData) => void) => {
      disk = {secrets: disk.secrets, tables: new Map([...disk.tables].map(([n, t]) => [n, new Map(t)]))}
      f(disk)
    },
    failWith: (err: Error | undefined) => (fail = err),
    failSaves: (err: Error | undefined) => (saveFails = err),
    rotate: () => (rotating = true),
    /** The refresh tokens presented to the authorization server, in order. */
    spent,
    logs,
  }
}

describe('upstream token keeper', () => {
  it('a token of a few seconds that no call uses is not renewed every few seconds: at most once a minute; one in use is renewed ahead of expiry', () => {
    const obtainedAt = Date.now()
    const state = {grant: 'authorization_code', version: 1, obtainedAt, tokens: {access_token: 'a', token_type: 'Bearer', expires_at: obtainedAt + 3000}} as OAuthState
    assert.equal(timerRenewalAt(state, 0, false), obtainedAt + IDLE_RENEWAL_MS)
    const inUse = timerRenewalAt(state, 0, true)!
    assert.ok(inUse > obtainedAt && inUse < obtainedAt + 3000, `renewed ${inUse - obtainedAt} ms after it was obtained`)
    assert.equal(timerRenewalAt({...state, tokens: {...state.tokens!, expires_at: obtainedAt + 3_600_000}}, 0, false), obtainedAt + 3_600_000 - 60_000, 'a long-lived token: a minute ahead, used or not')
  })

  it('a token that lasts longer than a timer can wait (30 days) arms one timer, not a 1 ms loop that floods stderr with TimeoutOverflowWarning', async () => {
    const b = bed()
    b.signIn(30 * 86_400_000, 30 * 86_400_000)
    let overflows = 0
    const count = (w: Error) => void (w.name === 'TimeoutOverflowWarning' && overflows++)
    process.on('warning', count)
    try {
      assert.equal(await b.keeper.token(), 'access-0')
      await sleep(100)
    } finally {
      process.off('warning', count)
      b.keeper.close()
    }
    assert.equal(overflows, 0)
    assert.deepEqual(b.renewals, [])
  })

  it('renews only for the definition the vault holds now: none once the upstream was replaced with another URL, or removed', async () => {
    for (const change of [(d: VaultData) => void upstreamsOf(d).set(def.name, {...def, url: 'https://other.example/mcp'}), (d: VaultData) => void upstreamsOf(d).delete(def.name)]) {
      const t = bed(10)
      t.signIn(500)
      // Another command replaced the upstream; this serve has not reloaded yet and still holds the old definition.
      t.otherWriter(change)
      await assert.rejects(t.keeper.token())
      assert.deepEqual(t.renewals, [], 'no tokens obtained with the old definition')
      t.keeper.close()
    }
  })

  it('a valid token is sent as it is, with no renewal', async () => {
    const b = bed()
    b.signIn(30 * 60_000)
    assert.equal(await b.keeper.token(), 'access-0')
    assert.deepEqual(b.renewals, [])
    b.keeper.close()
  })

  it('while a renewal runs, calls keep the still-valid old token without waiting for it', async () => {
    const b = bed(400)
    b.signIn(30_000) // inside the last minute: due for renewal, still valid
    const started = Date.now()
    const tokens = await Promise.all(Array.from({length: 10}, () => b.keeper.token()))
    assert.ok(Date.now() - started < 100, `calls waited ${Date.now() - started} ms`)
    assert.deepEqual(new Set(tokens), new Set(['access-0']))
    await sleep(500)
    assert.deepEqual(b.renewals, [1], 'one renewal for all of them')
    assert.equal(await b.keeper.token(), 'access-1')
    assert.equal(b.state()?.version, 2)
    assert.equal(b.state()?.refreshes, 1)
    assert.deepEqual(b.audits.map((a) => [a.event, a.outcome]), [['upstream.refresh', 'ok']])
    b.keeper.close()
  })

  it('a token about to expire is not sent: calls wait for the renewal, which happens once', async () => {
    const b = bed(200)
    b.signIn(500)
    const started = Date.now()
    const tokens = await Promise.all(Array.from({length: 5}, () => b.keeper.token()))
    assert.ok(Date.now() - started >= 190, 'they waited')
    assert.deepEqual(new Set(tokens), new Set(['access-1']))
    assert.deepEqual(b.renewals, [1])
    b.keeper.close()
  })

  it('tokens renewed by another writer meanwhile are not renewed again (a rotated refresh token is used once)', async () => {
    const b = bed(50)
    b.signIn(500)
    // Another replica renewed first; this process still serves version 1, nearly expired.
    b.otherWriter((d) => setOAuthState(d, 'notes', {...b.state()!, version: 7, tokens: {access_token: 'theirs', token_type: 'Bearer', refresh_token: 'refresh-theirs', expires_at: Date.now() + 3_600_000}}))
    assert.equal(b.state()?.version, 1)
    assert.equal(await b.keeper.token(), 'theirs')
    assert.deepEqual(b.renewals, [], 'refresh-0 was not used again')
    b.keeper.close()
  })

  it('after a 401 the token is renewed once even though it has not expired', async () => {
    const b = bed(20)
    b.signIn(30 * 60_000)
    assert.equal(await b.keeper.afterUnauthorized('access-0'), 'access-1')
    assert.deepEqual(b.renewals, [1])
    b.keeper.close()
  })

  it('a refused renewal (invalid_grant) marks the upstream as needing a login, in the vault, and audits it', async () => {
    const b = bed(10)
    b.signIn(500)
    b.failWith(new OAuthError('invalid_grant', 'refresh token revoked'))
    await assert.rejects(b.keeper.token(), (err: unknown) => err instanceof UpstreamNeedsLogin && /the authorization server refused the renewal \(invalid_grant\)/.test(err.message))
    assert.match(b.state()?.needsLogin?.reason ?? '', /invalid_grant/)
    assert.deepEqual(b.audits.map((a) => a.event), ['upstream.refresh', 'upstream.needs_login'])
    assert.equal(b.audits[0].outcome, 'failed')
    // From now on, calls fail at once with the same line, and nothing is tried again.
    await assert.rejects(b.keeper.token(), UpstreamNeedsLogin)
    assert.equal(b.renewals.length, 1)
    b.keeper.close()
  })

  it('a renewal that may succeed later (network) keeps the old token while valid and backs off', async () => {
    const b = bed(10)
    b.signIn(500)
    b.failWith(new TypeError('fetch failed'))
    await assert.rejects(b.keeper.token(), (err: unknown) => err instanceof RefreshFailed && /refreshing its OAuth token failed/.test(err.message))
    await assert.rejects(b.keeper.token(), RefreshFailed)
    assert.equal(b.renewals.length, 1, 'no second attempt inside the backoff')
    assert.equal(b.state()?.needsLogin, undefined)
    b.keeper.close()
  })

  it('a rotating renewal whose vault write fails: the new tokens are kept and used (never the spent refresh token), one line says so, and they are saved once the vault takes writes again', async function () {
    this.timeout(6000)
    const b = bed(10)
    b.rotate()
    b.signIn(500)
    b.failSaves(new Error('ENOSPC: no space left on device, write'))
    assert.equal(await b.keeper.token(), 'access-1', 'the renewed token is sent, although the vault could not keep it')
    // The redactors learned the held tokens before the token was handed out (an upstream may echo it).
    assert.deepEqual(b.heldTold, [['access-1', 'refresh-1']])
    assert.deepEqual(b.keeper.heldSecrets(), [['UPSTREAM_NOTES_OAUTH', 'access-1'], ['UPSTREAM_NOTES_OAUTH', 'refresh-1']])
    assert.equal(b.state()?.tokens?.refresh_token, 'refresh-0', 'the vault still has the spent refresh token')
    assert.equal(b.state()?.needsLogin, undefined)
    // The next renewal (a 401 here) presents the new refresh token, not the spent one.
    assert.equal(await b.keeper.afterUnauthorized('access-1'), 'access-2')
    assert.deepEqual(b.spent, ['refresh-0', 'refresh-1'])
    const unsaved = b.logs.filter((l) => /could not save/.test(l))
    assert.equal(unsaved.length, 1, `one line for the operator: ${b.logs.join(' | ')}`)
    assert.match(unsaved[0], /^error: upstream notes: renewed its OAuth token but could not save it in the vault \(ENOSPC: no space left on device, write\)/)
    assert.ok(!b.logs.join('\n').match(/(access|refresh)-\d/), 'no token in the log')
    assert.deepEqual(b.audits.map((a) => [a.event, a.outcome]), [['upstream.refresh', 'ok'], ['upstream.refresh', 'ok']])
    // The disk has room again: a retry (after a backoff of a second) saves what is held.
    b.failSaves(undefined)
    const start = Date.now()
    while (b.state()?.tokens?.refresh_token !== 'refresh-2' && Date.now() - start < 4000) await sleep(50)
    assert.equal(b.state()?.tokens?.refresh_token, 'refresh-2', 'saved')
    assert.equal(b.state()?.tokens?.access_token, 'access-2')
    assert.equal(b.state()?.refreshes, 2)
    assert.deepEqual(b.keeper.heldSecrets(), [], 'saved: the vault has them, and its reload redacts them')
    assert.ok(b.logs.some((l) => /^info: upstream notes: saved its renewed OAuth token in the vault/.test(l)), b.logs.join(' | '))
    assert.equal(await b.keeper.token(), 'access-2')
    b.keeper.close()
  })

  it('tokens held after a failed save give way to what the vault has since: a new login, or a mark that a login is needed', async function () {
    this.timeout(6000)
    const b = bed(10)
    b.rotate()
    b.signIn(500)
    b.failSaves(new Error('EIO: i/o error, write'))
    assert.equal(await b.keeper.token(), 'access-1')
    // A new login by another process: its tokens win, the held ones are dropped and never saved over it.
    b.failSaves(undefined)
    b.setData((d) => setOAuthState(d, 'notes', {...oauthStateOf(d, 'notes')!, grantId: 'g2', version: 5, tokens: {access_token: 'fresh-login', token_type: 'Bearer', refresh_token: 'fresh-refresh', expires_at: Date.now() + 3_600_000}}))
    assert.equal(await b.keeper.token(), 'fresh-login')
    await sleep(1200)
    assert.equal(b.state()?.tokens?.access_token, 'fresh-login', 'nothing saved over the new login')
    b.keeper.close()

    // Another replica, whose renewal presented the spent refresh token, marked the upstream as needing a login: that stands.
    const c = bed(10)
    c.rotate()
    c.signIn(500)
    c.failSaves(new Error('EIO: i/o error, write'))
    assert.equal(await c.keeper.token(), 'access-1')
    c.failSaves(undefined)
    c.setData((d) => setOAuthState(d, 'notes', {...oauthStateOf(d, 'notes')!, needsLogin: {reason: 'the authorization server refused the renewal (invalid_grant)', at: ''}}))
    await assert.rejects(c.keeper.token(), UpstreamNeedsLogin)
    await sleep(1200)
    assert.equal(c.state()?.tokens?.access_token, 'access-0', 'the held tokens were not saved over the mark')
    c.keeper.close()
  })

  it('403 insufficient_scope: needs a login with the scope it had and the one asked for', async () => {
    const b = bed()
    b.signIn(30 * 60_000)
    b.setData((d) => setOAuthState(d, 'notes', {...oauthStateOf(d, 'notes')!, tokens: {...oauthStateOf(d, 'notes')!.tokens!, scope: 'notes:read'}}))
    const err = await b.keeper.insufficientScope('notes:write')
    assert.equal(err.scope, 'notes:read notes:write')
    assert.deepEqual(b.state()?.needsLogin?.scope, 'notes:read notes:write')
    await assert.rejects(b.keeper.token(), UpstreamNeedsLogin)
    b.keeper.close()
  })

  it('stored tokens whose token_type is not Bearer (a vault written before such answers were refused) are never sent: the upstream needs a login, in one line without the token, marked and audited once', async () => {
    const b = bed(10)
    b.signIn(30 * 60_000)
    b.setData((d) => {
      const state = oauthStateOf(d, 'notes')!
      setOAuthState(d, 'notes', {...state, tokens: {...state.tokens!, access_token: 'dpop-bound-token-0123456789', token_type: 'DPoP'}})
    })
    const sent: (string | null)[] = []
    const f = oauthFetch(b.keeper, async (_url, init) => (sent.push(new Headers(init?.headers).get('authorization')), new Response('ok')), def)
    for (let i = 0; i < 2; i++) {
      await assert.rejects(f('https://mcp.example/mcp', {method: 'POST', body: '{}'}), (err: unknown) => {
        assert.ok(err instanceof UpstreamNeedsLogin)
        assert.equal(err.message, 'upstream notes needs a new login (the authorization server issued a token of type "DPoP", not a Bearer token, which keyward does not support): run `keyward upstream login notes`')
        return true
      })
    }
    assert.deepEqual(sent, [], 'no request carried the token')
    assert.match(b.state()?.needsLogin?.reason ?? '', /"DPoP", not a Bearer token/)
    assert.deepEqual(b.audits.map((a) => a.event), ['upstream.needs_login'])
    assert.deepEqual(b.renewals, [], 'nothing renewed with it either')
    for (const line of [...b.logs, ...b.audits.map((a) => JSON.stringify(a))]) assert.ok(!line.includes('dpop-bound-token'), line)
    b.keeper.close()
  })

  it('token_type is compared without case; tokens another writer replaced with a non-Bearer type after a 401 are not sent either', async () => {
    const b = bed(10)
    b.signIn(30 * 60_000)
    const retype = (type: string, token: string) =>
      b.setData((d) => {
        const state = oauthStateOf(d, 'notes')!
        setOAuthState(d, 'notes', {...state, version: state.version + 1, tokens: {...state.tokens!, access_token: token, token_type: type}})
      })
    retype('bearer', 'access-lower')
    assert.equal(await b.keeper.token(), 'access-lower')
    retype('DPoP', 'dpop-after-401')
    await assert.rejects(b.keeper.afterUnauthorized('access-lower'), (err: unknown) => err instanceof UpstreamNeedsLogin && /"DPoP", not a Bearer token/.test(err.message) && !err.message.includes('dpop-after-401'))
    b.keeper.close()
  })

  it('not signed in: a clear line, audited once', async () => {
    const b = bed()
    await assert.rejects(b.keeper.token(), /upstream notes needs a new login \(it is not signed in\): run `keyward upstream login notes`/)
    await assert.rejects(b.keeper.token(), UpstreamNeedsLogin)
    assert.deepEqual(b.audits.map((a) => a.event), ['upstream.needs_login'])
  })
})
