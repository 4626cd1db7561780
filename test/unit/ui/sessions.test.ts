/** Who may use the console: one login link, used once; sessions that end when idle; the CSRF token. */
import assert from 'node:assert/strict'

import {LOGIN_TTL_MS, Sessions} from '../../../src/ui/http/sessions.js'

describe('console sessions', () => {
  let now = 0
  const clock = () => now
  beforeEach(() => (now = 1_000_000))

  it('a login token opens one session, once; a wrong or repeated token opens none', () => {
    const sessions = new Sessions(60_000, clock)
    const token = sessions.issueLoginToken()
    assert.equal(sessions.redeem(undefined), undefined)
    assert.equal(sessions.redeem(`${token}x`), undefined)
    const first = sessions.redeem(token)
    assert.ok(first)
    assert.equal(sessions.redeem(token), undefined, 'a second use')
    assert.equal(sessions.touch(first.cookie), first.session)
    assert.equal(sessions.touch('made-up'), undefined)
  })

  it('a login token not used within its lifetime opens no session', () => {
    const sessions = new Sessions(60 * 60_000, clock)
    const inTime = sessions.issueLoginToken()
    now += LOGIN_TTL_MS
    assert.ok(sessions.redeem(inTime), 'used just in time')
    const late = sessions.issueLoginToken()
    now += LOGIN_TTL_MS + 1
    assert.equal(sessions.redeem(late), undefined, 'too late')
  })

  it('a new login token voids the one not used yet', () => {
    const sessions = new Sessions(60_000, clock)
    const old = sessions.issueLoginToken()
    const fresh = sessions.issueLoginToken()
    assert.equal(sessions.redeem(old), undefined)
    assert.ok(sessions.redeem(fresh))
  })

  it('an idle session ends; activity keeps it, the page’s own refreshes do not', () => {
    const sessions = new Sessions(1000, clock)
    const {cookie} = sessions.redeem(sessions.issueLoginToken())!
    now += 900
    assert.ok(sessions.touch(cookie), 'activity')
    now += 900
    assert.ok(sessions.touch(cookie, false), 'a refresh, within the idle time')
    now += 200
    assert.equal(sessions.touch(cookie, false), undefined, 'idle 1100 ms: ended, though refreshed meanwhile')
    now = 0
    assert.equal(sessions.touch(cookie), undefined, 'ended for good')
  })

  it('the CSRF token must be presented exactly', () => {
    const sessions = new Sessions(1000, clock)
    const {session} = sessions.redeem(sessions.issueLoginToken())!
    assert.equal(Sessions.csrfMatches(session, session.csrf), true)
    assert.equal(Sessions.csrfMatches(session, undefined), false)
    assert.equal(Sessions.csrfMatches(session, ''), false)
    assert.equal(Sessions.csrfMatches(session, session.csrf.slice(1)), false)
  })
})
