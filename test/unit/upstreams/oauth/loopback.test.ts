/** The login's redirect listener (src/upstreams/oauth/loopback.ts): loopback only, the state checked before anything is taken. */
import assert from 'node:assert/strict'

import {KeywardError} from '../../../../src/errors/index.js'
import {startLoopback} from '../../../../src/upstreams/oauth/loopback.js'

const STATE = 'expected-state-0123456789abcdefghijklmnopqrstu'

describe('login redirect listener', () => {
  it('listens on 127.0.0.1 with a port the system picks, and takes the code when the state matches', async () => {
    const loopback = await startLoopback(STATE)
    assert.match(loopback.redirectUrl, /^http:\/\/127\.0\.0\.1:\d+\/callback$/)
    const waiting = loopback.callback(5000)
    const page = await fetch(`${loopback.redirectUrl}?code=abc&state=${STATE}&iss=https%3A%2F%2Fas.example`)
    assert.equal(page.status, 200)
    assert.match(await page.text(), /Signed in/)
    assert.deepEqual(await waiting, {code: 'abc', iss: 'https://as.example'})
    await loopback.close()
  })

  it('a wait longer than a timer can hold (--timeout 30d) waits for the browser; it does not time out at once', async () => {
    const loopback = await startLoopback(STATE)
    try {
      const waiting = loopback.callback(30 * 86_400_000)
      const early = await Promise.race([waiting.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('waiting'), 100))])
      assert.equal(early, 'waiting')
      await fetch(`${loopback.redirectUrl}?code=abc&state=${STATE}`).then((r) => r.text())
      assert.deepEqual(await waiting, {code: 'abc', iss: undefined})
    } finally {
      await loopback.close()
    }
  })

  it('refuses another state, an error from the server, and a callback without a code, each in one line', async () => {
    const cases: [string, RegExp][] = [
      ['code=abc&state=other', /^state mismatch: /],
      ['code=abc', /^state mismatch: /],
      [`error=access_denied&error_description=%3Cscript%3E&state=${STATE}`, /^the sign-in was denied \(access_denied\)$/],
      [`error=server_error&state=${STATE}`, /^the authorization server refused the sign-in \(server_error\)$/],
      [`state=${STATE}`, /^the authorization server came back without a code or an error/],
    ]
    for (const [query, message] of cases) {
      const loopback = await startLoopback(STATE)
      try {
        const refused = assert.rejects(loopback.callback(1000), (err: unknown) => err instanceof KeywardError && err.code === 'LOGIN_FAILED' && message.test(err.message))
        const page = await fetch(`${loopback.redirectUrl}?${query}`)
        assert.equal(page.status, 400, query)
        assert.ok(!(await page.text()).includes('<script>'), 'the server’s own text is not echoed')
        await refused
      } finally {
        await loopback.close()
      }
    }
  })

  it('answers 404 to anything but one GET of the callback, and times out with one line', async () => {
    const loopback = await startLoopback(STATE)
    const base = loopback.redirectUrl.replace('/callback', '')
    assert.equal((await fetch(`${base}/other?code=x&state=${STATE}`)).status, 404)
    assert.equal((await fetch(loopback.redirectUrl, {method: 'POST', body: `code=x&state=${STATE}`})).status, 404)
    await assert.rejects(loopback.callback(200), /^KeywardError: timed out after 0s waiting for the browser to come back/)
    await loopback.close()
  })
})
