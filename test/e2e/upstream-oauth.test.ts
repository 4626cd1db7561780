/**
 * Upstream OAuth (issue 19): keyward signs in to a remote MCP server once (`upstream login`),
 * keeps the tokens in the vault and renews them for every client. Against a real issuer
 * (oauth2-mock-server, made strict in test/helpers/issuer.ts), a real upstream that checks its
 * tokens against the issuer's JWKS (test/fixtures/oauth-upstream.ts), the built CLI, and
 * $BROWSER set to a program that follows the redirects (test/fixtures/browser.ts).
 */
import assert from 'node:assert/strict'
import {generateKeyPairSync} from 'node:crypto'
import {promises as fs} from 'node:fs'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import {vaultAuditLog} from '../helpers/audit.js'
import {Bed} from '../helpers/bed.js'
import {json, ROOT, sleep, type Result} from '../helpers/cli.js'
import {TestIssuer} from '../helpers/issuer.js'
import {startOAuthUpstream, type RunningOAuthUpstream} from '../fixtures/oauth-upstream.js'

const BROWSER = `"${process.execPath}" "${path.join(ROOT, 'dist', 'test', 'fixtures', 'browser.js')}"`

type CallResult = {isError?: boolean; content: {type: string; text?: string}[]}
const text = (r: CallResult) => r.content.map((c) => c.text ?? '').join('')

describe('upstream OAuth', function () {
  this.timeout(90_000)
  const bed = new Bed()
  let issuer: TestIssuer
  let upstream: RunningOAuthUpstream
  const outputs: string[] = []

  beforeEach(async () => {
    await bed.setUp()
    issuer = new TestIssuer()
    await issuer.start()
    upstream = await startOAuthUpstream({issuer: issuer.url, scopesSupported: ['notes:read', 'notes:write']})
  })

  afterEach(async () => {
    await bed.tearDown()
    await upstream.close()
    await issuer.stop()
    outputs.length = 0
  })

  /** Runs a command that must succeed; keeps its output to look for tokens in. */
  async function cli(args: string[], input?: string): Promise<Result> {
    const r = await bed.cli(args, input)
    outputs.push(r.stdout, r.stderr)
    return r
  }

  async function login(name: string, args: string[] = [], env: Record<string, string> = {}): Promise<Result> {
    const r = await bed.box.run(['upstream', 'login', name, ...args], {env: {BROWSER, ...env}})
    outputs.push(r.stdout, r.stderr)
    return r
  }

  const show = async (name: string) => json(await cli(['upstream', 'show', name, '--json'])).upstream.oauth
  const auditLog = () => fs.readFile(vaultAuditLog(bed.box.vault, bed.box.path('.local', 'state')), 'utf8').catch(() => '')
  const events = async (name: string) => (await auditLog()).split('\n').filter((l) => l.includes(`"event":"${name}"`)).map((l) => JSON.parse(l) as Record<string, unknown>)

  async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
    const start = Date.now()
    while (Date.now() - start < ms) {
      if (await check()) return true
      await sleep(50)
    }
    return false
  }

  async function call(url: string, key: string, tool: string, args: Record<string, unknown> = {}): Promise<CallResult> {
    const client = await bed.connect(url, key)
    const result = (await client.callTool({name: tool, arguments: args})) as CallResult
    outputs.push(JSON.stringify(result))
    return result
  }

  const whoami = async (url: string, key: string) => JSON.parse(text(await call(url, key, 'notes__whoami'))) as {sub: string; jti: string; scope: string}

  it('authorization code with PKCE (S256), resource and state: one login, then every client calls with the token', async () => {
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test'])
    assert.equal((await show('notes')).needsLogin, true)
    const visited = bed.box.path('browser.log')
    const r = await login('notes', [], {FIXTURE_BROWSER_LOG: visited})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /Signed in to notes as johndoe, expires in (1h|59m) \(scopes: notes:read notes:write\)/)
    const [authorize, callback] = (await fs.readFile(visited, 'utf8')).trim().split('\n').map((u) => new URL(u))
    const q = authorize.searchParams
    assert.equal(q.get('code_challenge_method'), 'S256')
    assert.match(q.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(q.get('resource'), upstream.resource, 'RFC 8707 resource in the authorization request')
    assert.equal(q.get('scope'), 'notes:read notes:write', "the protected resource's scopes_supported")
    assert.match(q.get('state')!, /^[A-Za-z0-9_-]{43}$/)
    assert.match(q.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/)
    assert.equal(callback.searchParams.get('state'), q.get('state'))
    const exchange = issuer.grants.find((g) => g.grant === 'authorization_code')!
    assert.equal(exchange.resource, upstream.resource, 'RFC 8707 resource in the token request')

    const state = await show('notes')
    assert.deepEqual({signedIn: state.signedIn, as: state.signedInAs, scopes: state.scopes, needsLogin: state.needsLogin, issuer: state.issuer}, {signedIn: true, as: 'johndoe', scopes: ['notes:read', 'notes:write'], needsLogin: false, issuer: issuer.url})
    assert.ok(state.expiresIn > 3500 && state.expiresIn <= 3600)
    const listed = json(await cli(['upstream', 'list', '--json'])).upstreams[0].oauth
    assert.equal(listed.signedInAs, 'johndoe')
    assert.match((await cli(['upstream', 'list'])).stdout, /as johndoe, expires in (1h|59m)/)

    const [a, b] = [await bed.key('a'), await bed.key('b')]
    const s = await bed.serve()
    assert.equal((await whoami(s.url, a)).jti, issuer.lastJti)
    assert.equal((await whoami(s.url, b)).jti, issuer.lastJti, "a second client's session uses the same login")
    assert.equal(issuer.count('authorization_code'), 1)
    const [loginEvent] = await events('upstream.login')
    assert.deepEqual([loginEvent.upstream, loginEvent.grant, loginEvent.as, loginEvent.scope], ['notes', 'authorization_code', 'johndoe', 'notes:read notes:write'])
  })

  it('a login that fails says why in one line (denied, state mismatch, wrong issuer, timeout), exits 30 and leaves the vault as it was', async () => {
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test'])
    const before = await fs.readFile(bed.box.vault)
    const cases: [string, string[], RegExp][] = [
      ['deny', [], /^keyward: the sign-in was denied \(access_denied\)$/],
      ['state', [], /^keyward: state mismatch: the browser came back with a state this login did not send/],
      ['iss', [], /^keyward: wrong issuer: the browser came back from an authorization server other than "http:\/\/localhost:\d+"/],
      ['none', ['--timeout', '2s'], /^keyward: timed out after 2s waiting for the browser to come back; run the login again \(--timeout sets the wait\)$/],
    ]
    for (const [tamper, args, message] of cases) {
      const r = await login('notes', args, {FIXTURE_BROWSER_TAMPER: tamper})
      assert.equal(r.code, 30, `${tamper}: ${r.stderr}`)
      const last = r.stderr.trim().split('\n').at(-1)!
      assert.match(last, message, tamper)
      assert.ok(!/\bat \S+ \(/.test(r.stderr), 'no stack trace')
      assert.deepEqual(await fs.readFile(bed.box.vault), before, `${tamper}: the vault is unchanged`)
    }
    assert.equal(issuer.count('authorization_code'), 0, 'no code was redeemed')
    const wrong = await bed.box.run(['upstream', 'login', 'notes', '--json'], {env: {BROWSER, FIXTURE_BROWSER_TAMPER: 'deny'}})
    assert.deepEqual(JSON.parse(wrong.stdout), {error: {code: 'LOGIN_FAILED', message: 'the sign-in was denied (access_denied)'}})
  })

  it('an upstream replaced by another URL (or removed) while its login waits for the browser does not get the tokens of what it was: exit 30, no sign-in kept, nothing sent to the new URL', async () => {
    const other = await startOAuthUpstream({issuer: issuer.url, scopesSupported: ['notes:read', 'notes:write']})
    try {
      await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test'])
      // The browser gets no KEYWARD_ variable (browser.ts): the key file is named.
      const replace = JSON.stringify([path.join(ROOT, 'bin', 'run.js'), 'upstream', 'add', 'notes', '--url', other.url, '--oauth', '--client-id', 'keyward-test', '--replace', '--skip-check', '--key-file', bed.box.env.KEYWARD_KEY_FILE])
      const r = await login('notes', [], {FIXTURE_BROWSER_BEFORE: replace})
      assert.equal(r.code, 30, r.stderr)
      assert.match(r.stderr.trim().split('\n').at(-1)!, /^keyward: upstream notes was changed while signing in; the tokens were not kept/)
      assert.equal((await show('notes')).signedIn, false)
      const s = await bed.serve()
      // Its tools are not listed (it cannot start without a login); the call only makes serve try.
      await call(s.url, await bed.key('a'), 'notes__whoami').catch(() => undefined)
      assert.equal(other.stats.requests, 0, 'the new URL was sent nothing')
      const removeThen = JSON.stringify([path.join(ROOT, 'bin', 'run.js'), 'upstream', 'rm', 'notes', '--yes', '--key-file', bed.box.env.KEYWARD_KEY_FILE])
      await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test', '--replace', '--skip-check'])
      const removed = await login('notes', [], {FIXTURE_BROWSER_BEFORE: removeThen})
      assert.equal(removed.code, 30, removed.stderr)
      assert.match(removed.stderr, /upstream notes was removed while signing in/)
    } finally {
      await other.close()
    }
  })

  it('a metadata document or authorization server that never answers fails the login in bounded time (exit 30, vault unchanged), it does not hang it', async () => {
    // A hostile upstream: its challenge names a protected-resource metadata document on a server that accepts and never answers.
    const seen: string[] = []
    const silent = http.createServer((req, res) => {
      if (req.url === '/mcp') {
        res.writeHead(401, {'www-authenticate': `Bearer resource_metadata="http://127.0.0.1:${(silent.address() as AddressInfo).port}/metadata"`}).end()
        return
      }
      seen.push(`${req.method} ${req.url}`) // and never answered
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    try {
      await cli(['upstream', 'add', 'silent', '--url', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/mcp`, '--oauth', '--client-id', 'keyward-test', '--skip-check'])
      const before = await fs.readFile(bed.box.vault)
      const started = Date.now()
      const r = await login('silent', ['--no-browser', '--timeout', '5s'])
      assert.equal(r.code, 30, r.stderr)
      assert.match(r.stderr.trim().split('\n').at(-1)!, /^keyward: a request to the authorization server timed out/)
      assert.ok(Date.now() - started < 60_000, `the login ended after ${Date.now() - started} ms`)
      assert.ok(seen.includes('GET /metadata'), seen.join(', '))
      assert.deepEqual(await fs.readFile(bed.box.vault), before, 'the vault is unchanged')
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })

  it('an authorization endpoint that is not a web address (file:, a custom scheme) is never handed to the browser opener', async () => {
    // A hostile upstream names its own authorization server, whose metadata points the sign-in at a local file.
    const evil = http.createServer((req, res) => {
      const base = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`
      const send = (body: unknown) => res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(body))
      if (req.url === '/mcp') res.writeHead(401, {'www-authenticate': `Bearer resource_metadata="${base}/prm"`}).end()
      else if (req.url === '/prm') send({resource: `${base}/mcp`, authorization_servers: [base]})
      else if (req.url?.startsWith('/.well-known/oauth-authorization-server')) {
        send({issuer: base, authorization_endpoint: 'file:///etc/passwd', token_endpoint: `${base}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256']})
      } else res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
    try {
      await cli(['upstream', 'add', 'evil', '--url', `http://127.0.0.1:${(evil.address() as AddressInfo).port}/mcp`, '--oauth', '--client-id', 'keyward-test', '--skip-check'])
      const opened = bed.box.path('opened.txt')
      const recorder = bed.box.path('browser.js')
      await fs.writeFile(recorder, `require('node:fs').appendFileSync(${JSON.stringify(opened)}, process.argv.slice(2).join(' ') + '\\n')`)
      const before = await fs.readFile(bed.box.vault)
      const r = await bed.box.run(['upstream', 'login', 'evil', '--timeout', '3s'], {env: {BROWSER: `"${process.execPath}" "${recorder}"`}})
      assert.equal(r.code, 30, r.stderr)
      assert.match(r.stderr, /^keyward: the authorization server's authorization endpoint is not a web address \("file:"\)/m)
      assert.ok(!r.stderr.includes('/etc/passwd'), 'the URL is not printed for the person to open either')
      assert.equal(await fs.readFile(opened, 'utf8').catch(() => 'nothing opened'), 'nothing opened')
      assert.deepEqual(await fs.readFile(bed.box.vault), before, 'the vault is unchanged')
    } finally {
      evil.closeAllConnections()
      evil.close()
    }
  })

  it('serve renews the token ahead of expiry and once after a 401; clients never notice', async () => {
    issuer.ttl = 8
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test'])
    assert.equal((await login('notes')).code, 0)
    const loggedIn = Date.now()
    const key = await bed.key('k')
    const s = await bed.serve()
    const first = (await whoami(s.url, key)).jti
    // Renewed a quarter of the lifetime before expiry, with no call to prompt it.
    assert.ok(await until(() => issuer.count('refresh_token') === 1, 12_000), 'renewed ahead of expiry')
    const renewal = issuer.grants.find((g) => g.grant === 'refresh_token')!
    assert.ok(renewal.at < loggedIn + 8000, `renewed ${renewal.at - loggedIn} ms after login, before the token expired`)
    assert.ok(await until(async () => (await events("upstream.refresh")).length === 1, 3000), `audited: ${await auditLog()}`)
    const second = (await whoami(s.url, key)).jti
    assert.notEqual(second, first)
    assert.equal(second, issuer.lastJti)

    // The upstream stops taking every token issued so far: one 401, one renewal, and the call goes through.
    issuer.ttl = 3600
    await sleep(1100)
    upstream.revokeIssuedBefore(Date.now() - 1000)
    const refused = upstream.stats.unauthorized
    const third = await whoami(s.url, key)
    assert.equal(third.jti, issuer.lastJti)
    assert.equal(upstream.stats.unauthorized, refused + 1)
    assert.equal(issuer.count('refresh_token'), 2)
    // The audit writer batches its records: the second renewal's may land just after the call's answer.
    assert.ok(await until(async () => (await events('upstream.refresh')).length === 2, 3000), `audited: ${await auditLog()}`)
    const refreshes = await events('upstream.refresh')
    assert.deepEqual(refreshes.map((e) => e.outcome), ['ok', 'ok'])
    const state = await show('notes')
    assert.equal(state.refreshes, 2)
    assert.ok(state.lastRefresh)
  })

  it('a renewal whose vault write fails keeps the rotated tokens: calls go on with the new token, the next renewal presents the new refresh token (never the spent one), one line says so, and they are saved once the vault can be written', async () => {
    issuer.ttl = 6
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test'])
    assert.equal((await login('notes')).code, 0)
    const key = await bed.key('k')
    const s = await bed.serve()
    assert.equal((await whoami(s.url, key)).jti, issuer.lastJti)
    // A real failure to replace the vault, after the refresh has happened (root ignores chmod): its
    // backup's path is a directory with something in it, so keeping the backup fails, and the vault is left as it was.
    const bak = `${bed.box.vault}.bak`
    for (;;) {
      // A renewal may put the backup back between the two steps: then again.
      await fs.rm(bak, {recursive: true, force: true})
      if (await fs.mkdir(path.join(bak, 'in-the-way'), {recursive: true}).then(() => true, () => false)) break
    }
    // A renewal already past keeping its backup may still replace the vault (a CI run saw it): wait until the vault stands still.
    let before = await fs.readFile(bed.box.vault)
    for (let settled = false; !settled; ) {
      await sleep(300)
      const now = await fs.readFile(bed.box.vault)
      settled = now.equals(before)
      before = now
    }
    const from = issuer.count('refresh_token')
    // Calls keep the token in use, so it is renewed ahead of expiry (an unused one waits a minute).
    const calling = async () => {
      await whoami(s.url, key)
      await sleep(400)
      return issuer.count('refresh_token') >= from + 2
    }
    assert.ok(await until(calling, 20_000), `renewed twice while the vault could not be written: ${s.logs()} ${JSON.stringify(issuer.grants)}`)
    assert.deepEqual(await fs.readFile(bed.box.vault), before, 'the vault was not written')
    const presented = issuer.grants.filter((g) => g.grant === 'refresh_token').map((g) => g.refreshToken)
    assert.equal(new Set(presented).size, presented.length, 'no refresh token presented twice')
    assert.equal((await whoami(s.url, key)).jti, issuer.lastJti, 'calls carry the newest token')
    // A token the vault does not have is redacted all the same: an upstream that echoes it shows none.
    assert.equal(text(await call(s.url, key, 'notes__echo_token')), 'you sent: Bearer [REDACTED:UPSTREAM_NOTES_OAUTH]')
    assert.equal(s.logs().match(/renewed its OAuth token but could not save it in the vault/g)?.length, 1, s.logs())
    assert.equal((await show('notes')).needsLogin, false)

    await fs.rm(bak, {recursive: true})
    assert.ok(await until(async () => (await show('notes')).refreshes >= 2, 20_000), 'saved once the vault could be written')
    // A restart reads the saved tokens: its renewal presents the newest refresh token, which the issuer takes.
    await bed.stopServers()
    const again = await bed.serve()
    const renewals = issuer.count('refresh_token')
    assert.ok(await until(() => issuer.count('refresh_token') > renewals, 10_000))
    const all = issuer.grants.filter((g) => g.grant === 'refresh_token').map((g) => g.refreshToken)
    assert.equal(new Set(all).size, all.length, 'no spent refresh token presented, before the restart or after')
    assert.equal((await whoami(again.url, key)).jti, issuer.lastJti)
    assert.equal((await show('notes')).needsLogin, false)
    const everything = [s.logs(), again.logs(), await auditLog()].join('\n')
    for (const token of issuer.issued) assert.ok(!everything.includes(token), `a token (${token.slice(0, 6)}…) was logged`)
  })

  it('a token answer that is not Bearer (DPoP, mac, none) is refused at sign-in and at renewal, in one line naming the type, kept nowhere, and never shown', async () => {
    issuer.ttl = 6
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test'])
    const before = await fs.readFile(bed.box.vault)
    const cases: [string | null, string][] = [['DPoP', 'a token of type "DPoP"'], ['mac', 'a token of type "mac"'], [null, 'a token with no token_type']]
    for (const [type, named] of cases) {
      issuer.tokenType = type
      const r = await login('notes')
      assert.equal(r.code, 30, `${type}: ${r.stderr}`)
      assert.equal(
        r.stderr.trim().split('\n').at(-1),
        `keyward: the authorization server issued ${named}, not a Bearer token, which keyward does not support: keyward sends upstream tokens only as Bearer tokens (RFC 6750); have the authorization server issue Bearer tokens to keyward's client, then sign in again`,
      )
      assert.deepEqual(await fs.readFile(bed.box.vault), before, `${type}: the vault is unchanged`)
    }
    assert.equal((await show('notes')).signedIn, false)
    // The type is compared without case (RFC 6749 5.1).
    issuer.tokenType = 'bearer'
    assert.equal((await login('notes')).code, 0)
    const key = await bed.key('k')
    const s = await bed.serve()
    assert.equal((await whoami(s.url, key)).jti, issuer.lastJti)

    issuer.tokenType = 'DPoP'
    assert.ok(await until(async () => (await show('notes')).needsLogin === true, 15_000), 'the renewal was refused')
    const state = await show('notes')
    assert.equal(state.needsLoginReason, 'the authorization server issued a token of type "DPoP", not a Bearer token, which keyward does not support')
    assert.equal(state.refreshes, 0, 'the DPoP token was not kept')
    const answer = await call(s.url, key, 'notes__whoami')
    assert.equal(answer.isError, true)
    assert.match(text(answer), /upstream notes needs a new login \(the authorization server issued a token of type "DPoP", not a Bearer token, which keyward does not support\): run `keyward upstream login notes`/)
    assert.ok(await until(async () => (await events('upstream.needs_login')).length >= 1, 3000))
    await bed.stopServers()
    const everything = [...outputs, s.logs(), await auditLog()].join('\n')
    for (const token of issuer.issued) assert.ok(!everything.includes(token), `a token (${token.slice(0, 6)}…) was printed or logged`)
  })

  it('403 insufficient_scope: the upstream is marked as needing a login with the wider scope, audited, its tools say so; a new login fixes it', async () => {
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test', '--scope', 'notes:read'])
    assert.equal((await login('notes')).code, 0)
    const key = await bed.key('k')
    const s = await bed.serve()
    assert.equal((await whoami(s.url, key)).scope, 'notes:read')
    const refused = await call(s.url, key, 'notes__write_note', {text: 'hi'})
    assert.equal(refused.isError, true)
    assert.match(text(refused), /^upstream notes needs a new login \(the upstream asked for scope "notes:write" \(insufficient_scope\)\): run `keyward upstream login notes`, which asks for scope "notes:read notes:write"/)
    const other = text(await call(s.url, key, 'notes__whoami'))
    assert.match(other, /needs a new login/, `its other tools say so too: ${other}`)
    const state = await show('notes')
    assert.deepEqual([state.needsLogin, state.needsLoginScope], [true, 'notes:read notes:write'])
    const [marked] = await events('upstream.needs_login')
    assert.deepEqual([marked.upstream, marked.scope], ['notes', 'notes:read notes:write'])

    const visited = bed.box.path('browser.log')
    const restarts = () => s.logs().match(/upstream notes restarted/g)?.length ?? 0
    const before = restarts()
    assert.equal((await login('notes', [], {FIXTURE_BROWSER_LOG: visited})).code, 0)
    assert.equal(new URL((await fs.readFile(visited, 'utf8')).split('\n')[0]).searchParams.get('scope'), 'notes:read notes:write')
    // A call that meets the upstream's restart may fail (its tool is briefly unlisted, or its connection closes under it), but
    // never with a DOM code for a JSON-RPC one (an aborted fetch is code 20); one after the restart succeeds.
    const afterLogin = async () => {
      try {
        return text(await call(s.url, key, 'notes__write_note', {text: 'hi'})) === 'noted'
      } catch (err) {
        assert.notEqual((err as {code?: unknown}).code, 20, String(err))
        return false
      }
    }
    // A call in flight on the old connection when the new one takes over is cut off with it: wait for the takeover.
    assert.ok(await until(async () => restarts() > before && (await afterLogin()), 10_000), 'serve picked up the new login')
    assert.equal(text(await call(s.url, key, 'notes__write_note', {text: 'hi'})), 'noted')
  })

  it('client credentials with a secret, and with a private key (RFC 7523): no person, serve obtains the token', async () => {
    await cli(['secrets', 'set', 'SVC_SECRET'], 'svc-secret-value-123')
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--grant', 'client_credentials', '--client-id', 'svc', '--client-secret', 'secret:SVC_SECRET', '--scope', 'notes:read'])
    const {publicKey, privateKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    issuer.clientPublicKey = publicKey.export({type: 'spki', format: 'pem'}).toString()
    await cli(['secrets', 'set', 'SVC_KEY'], privateKey.export({type: 'pkcs8', format: 'pem'}).toString())
    await cli(['upstream', 'add', 'keyed', '--url', upstream.url, '--grant', 'client_credentials', '--client-id', 'svc-keyed', '--client-key', 'secret:SVC_KEY'])
    const key = await bed.key('k')
    const s = await bed.serve()
    // Both upstreams obtain a token at start-up, in either order: notes's is one of the two.
    const notes = await whoami(s.url, key)
    assert.ok(issuer.jtis.some((t) => t.jti === notes.jti && t.grant === 'client_credentials'), 'a client_credentials token')
    assert.equal(notes.scope, 'notes:read')
    const bySecret = issuer.grants.filter((g) => g.grant === 'client_credentials' && g.basic)
    assert.equal(bySecret.length, 1)
    assert.equal(Buffer.from(bySecret[0].basic!.replace(/^Basic /, ''), 'base64').toString(), 'svc:svc-secret-value-123', 'client_secret_basic')
    assert.equal(bySecret[0].resource, upstream.resource)
    const keyed = JSON.parse(text(await call(s.url, key, 'keyed__whoami')))
    const byKey = issuer.grants.filter((g) => g.grant === 'client_credentials' && g.assertion)
    assert.equal(byKey.length, 1)
    assert.equal(byKey[0].basic, undefined, 'the key, not a secret')
    assert.ok(keyed.jti)
    const assertion = byKey[0].assertion!
    const claims = await issuer.verifyAssertion(assertion, 'svc-keyed')
    assert.equal(claims.iss, 'svc-keyed')
    assert.equal((await show('notes')).signedInAs, 'client svc')
    assert.ok(!(await cli(['upstream', 'show', 'keyed'])).stdout.includes('PRIVATE KEY'))
    // `upstream login` checks the client now, and replaces the token.
    assert.equal((await login('notes')).code, 0)
    assert.equal(issuer.count('client_credentials'), 3)
  })

  it('logout revokes the tokens (RFC 7009), removes them, and serve then says a login is needed', async () => {
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth', '--client-id', 'keyward-test'])
    assert.equal((await login('notes')).code, 0)
    const key = await bed.key('k')
    const s = await bed.serve()
    await whoami(s.url, key)
    const r = await cli(['upstream', 'logout', 'notes'])
    assert.match(r.stdout, /Signed out of notes: the server revoked its tokens; the vault no longer holds them/)
    assert.deepEqual(issuer.revoked.map((x) => x.hint), ['refresh_token', 'access_token'])
    assert.deepEqual(issuer.revoked.map((x) => x.token), [issuer.issued.at(-2), issuer.issued.at(-3)], 'the refresh token, then the access token')
    const state = await show('notes')
    assert.deepEqual([state.signedIn, state.needsLogin], [false, true])
    // The upstream restarts without tokens: it cannot be reached, so its tools are no longer offered.
    const client = await bed.connect(s.url, key)
    assert.ok(await until(async () => !(await client.listTools()).tools.some((t) => t.name === 'notes__whoami'), 10_000))
    assert.match(s.logs(), /upstream notes needs a new login \(it is not signed in\): run `keyward upstream login notes`/)
    const [event] = await events('upstream.logout')
    assert.deepEqual([event.upstream, event.revocation], ['notes', 'revoked'])
  })

  it('an authorization server that echoes the refresh token in its error gets it kept out of serve’s log and the audit log', async () => {
    issuer.ttl = 6
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth'])
    assert.equal((await login('notes')).code, 0)
    issuer.echoRefresh = true
    const s = await bed.serve()
    assert.ok(await until(async () => (await events('upstream.refresh')).length >= 1, 15_000), 'a renewal was tried and audited')
    await bed.stopServers()
    const [failed] = await events('upstream.refresh')
    assert.equal(failed.outcome, 'failed')
    assert.match(String(failed.reason), /the authorization server answered invalid_request: refresh_token \[REDACTED:UPSTREAM_NOTES_OAUTH\] is malformed/)
    const everything = [s.logs(), await auditLog()].join('\n')
    assert.ok(issuer.issued.length >= 2)
    for (const token of issuer.issued) assert.ok(!everything.includes(token), `a token (${token.slice(0, 6)}…) was logged`)
  })

  it('no token in stdout, stderr, the audit log, serve’s log or a client’s response; an upstream that echoes it gets it redacted', async () => {
    issuer.ttl = 6
    await cli(['upstream', 'add', 'notes', '--url', upstream.url, '--oauth'])
    assert.equal(issuer.registrations.length, 0)
    const r = await login('notes')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(issuer.registrations.length, 1, 'registered itself (RFC 7591)')
    assert.deepEqual(issuer.registrations[0].redirect_uris?.toString().match(/^http:\/\/127\.0\.0\.1:\d+\/callback$/)?.length, 1)
    const key = await bed.key('k')
    const s = await bed.serve()
    const echoed = await call(s.url, key, 'notes__echo_token')
    assert.equal(text(echoed), 'you sent: Bearer [REDACTED:UPSTREAM_NOTES_OAUTH]')
    assert.ok(await until(() => issuer.count('refresh_token') >= 1, 10_000))
    await sleep(300)
    await call(s.url, key, 'notes__echo_token')
    await cli(['upstream', 'show', 'notes', '--json'])
    await cli(['upstream', 'list'])
    await cli(['audit', 'tail', '-n', '100'])
    await cli(['upstream', 'logout', 'notes'])
    await bed.stopServers()
    const everything = [...outputs, s.logs(), await auditLog()].join('\n')
    assert.ok(issuer.issued.length >= 6)
    for (const token of issuer.issued) assert.ok(!everything.includes(token), `a token (${token.slice(0, 6)}…) was printed or logged`)
  })
})
