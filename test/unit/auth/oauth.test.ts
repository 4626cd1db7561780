/**
 * The OAuth authenticator on its own, against a real issuer in this process (oauth2-mock-server)
 * and an RFC 7662 endpoint the test serves: JWT checks, key rotation, introspection, scopes and
 * the challenge, without a keyward server.
 */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

import {SignJWT, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWK} from 'jose'
import {OAuth2Server} from 'oauth2-mock-server'

import {AuthFailure} from '../../../src/auth/authenticator.js'
import {OAuthAuthenticator, type OAuthSettings} from '../../../src/auth/oauth.js'
import {sleep} from '../../helpers/cli.js'

const AUDIENCE = 'https://mcp.example/mcp'
const METADATA = 'https://mcp.example/.well-known/oauth-protected-resource/mcp'
/** Long enough that a loaded machine stays within it between two steps of the rotation test. */
const COOLDOWN_MS = 600

type Edit = (header: Record<string, unknown>, payload: Record<string, unknown>) => void

/** A tiny HTTP server whose answer the test sets, counting the requests it gets. */
class Endpoint {
  calls = 0
  bodies: string[] = []
  answer: () => unknown = () => ({})
  private readonly server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
      this.calls++
      this.bodies.push(body)
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(this.answer()))
    })
  })

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

async function refusal(pending: Promise<unknown>): Promise<AuthFailure> {
  const err = await pending.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  )
  assert.ok(err instanceof AuthFailure, String(err))
  return err
}

describe('auth: oauth', function () {
  this.timeout(20_000)
  let issuer: OAuth2Server
  let other: OAuth2Server
  const jwks = new Endpoint()
  const introspection = new Endpoint()
  let jwksUri: string
  let introspectionUrl: string
  const logs: string[] = []

  function authenticator(over: Partial<OAuthSettings> = {}): OAuthAuthenticator {
    return new OAuthAuthenticator({
      issuer: issuer.issuer.url!,
      audiences: () => [AUDIENCE],
      jwksUri,
      algorithms: ['RS256', 'ES256'],
      clockSkewSeconds: 0,
      introspectionCacheMs: 60_000,
      scopeMap: new Map([['repo:read', ['github__get_*']]]),
      jwksCooldownMs: COOLDOWN_MS,
      resourceMetadataUrl: () => METADATA,
      log: (m) => void logs.push(m),
      ...over,
    })
  }

  function token(scope: string, edit: Edit = () => {}, kid = 'main', from = issuer): Promise<string> {
    return from.issuer.buildToken({
      kid,
      scopesOrTransform: (header, payload) => {
        Object.assign(payload, {aud: AUDIENCE, scope, sub: 'alice', client_id: 'agent-app'})
        edit(header as Record<string, unknown>, payload as Record<string, unknown>)
      },
    })
  }

  const bearer = (value: string) => ({source: 'authorization' as const, value})

  before(async () => {
    issuer = new OAuth2Server()
    await issuer.issuer.keys.generate('RS256', {kid: 'main'})
    await issuer.issuer.keys.generate('ES256', {kid: 'ec'})
    await issuer.start(0, '127.0.0.1')
    other = new OAuth2Server()
    await other.issuer.keys.generate('RS256', {kid: 'stranger'})
    await other.start(0, '127.0.0.1')
    jwks.answer = () => ({keys: issuer.issuer.keys.toJSON()})
    jwksUri = `${await jwks.start()}jwks`
    introspectionUrl = `${await introspection.start()}introspect`
  })

  after(async () => {
    await Promise.all([issuer.stop(), other.stop(), jwks.stop(), introspection.stop()])
  })

  beforeEach(() => {
    jwks.calls = 0
    introspection.calls = 0
    introspection.bodies = []
    logs.length = 0
  })

  it("a token without sub (a client acting for no user) is a principal apart from any user's, even a user whose sub is the client's id", async () => {
    const auth = authenticator()
    const user = await auth.authenticate(bearer(await token('mcp:tool:echo', (_h, p) => Object.assign(p, {sub: 'agent-app'}))))
    const client = await auth.authenticate(bearer(await token('mcp:tool:echo', (_h, p) => delete p.sub)))
    assert.equal(client.clientId, 'agent-app')
    assert.notEqual(client.id, user.id)
    assert.equal(client.id, `oauth:${issuer.issuer.url}#client:agent-app`)
  })

  it('a valid JWT becomes a principal with mapped scopes, is verified once and then cached by hash', async () => {
    const auth = authenticator()
    const jwt = await token('mcp:tool:echo mcp:prompt:greet mcp:resource:file:///docs/** repo:read')
    assert.equal(auth.claims(bearer(jwt)), true)
    assert.equal(auth.claims({source: 'x-api-key', value: jwt}), false, 'a token only from the Authorization header')
    const p = await auth.authenticate(bearer(jwt))
    assert.equal(p.id, `oauth:${issuer.issuer.url}#alice`)
    assert.equal(p.authType, 'oauth2')
    assert.equal(p.clientId, 'agent-app')
    assert.ok(p.expiresAt! > Date.now())
    assert.deepEqual(p.scopes.sources, ['echo', 'prompt:greet', 'resource:file:///docs/**', 'github__get_*'])
    assert.equal(p.scopes.allows('tool', 'get_time'), false)
    assert.equal(await auth.authenticate(bearer(jwt)), p, 'cached')
    assert.equal(jwks.calls, 1)
    assert.equal(auth.stillValid(p), true)
  })

  it('refuses bad JWTs, each with its reason, as 401 invalid_token', async () => {
    const auth = authenticator({algorithms: ['RS256']})
    const now = Math.floor(Date.now() / 1000)
    const scope = 'mcp:tool:*'
    const main = issuer.issuer.keys.get('main') as JWK
    const pem = await exportSPKI((await importJWK({kty: main.kty, n: main.n, e: main.e}, 'RS256')) as Parameters<typeof exportSPKI>[0])
    const base = {aud: AUDIENCE, iss: issuer.issuer.url, sub: 'mallory', scope, exp: now + 600}
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const cases: [string, Promise<string> | string][] = [
      ['expired', token(scope, (_h, p) => void (p.exp = now - 60))],
      ['not_yet_valid', token(scope, (_h, p) => void (p.nbf = now + 600))],
      ['wrong_audience', token(scope, (_h, p) => void (p.aud = 'https://other.example/mcp'))],
      ['wrong_audience', token(scope, (_h, p) => void delete p.aud)],
      ['wrong_issuer', token(scope, (_h, p) => void (p.iss = 'https://evil.example'))],
      ['malformed', token(scope, (_h, p) => void delete p.exp)],
      ['unknown_key', token(scope, (_h, p) => void (p.iss = issuer.issuer.url), 'stranger', other)],
      ['wrong_token_type', token(scope, (h) => void (h.typ = 'dpop+jwt'))],
      ['wrong_token_type', token(scope, (h) => void (h.typ = 'logout+jwt'))],
      ['algorithm_not_allowed', `${b64({alg: 'none', typ: 'JWT'})}.${b64(base)}.`],
      ['algorithm_not_allowed', new SignJWT(base).setProtectedHeader({alg: 'HS256', kid: 'main'}).sign(new TextEncoder().encode(pem))],
      ['bad_signature', token(scope).then((t) => `${t.slice(0, -6)}AAAAAA`)],
      ['malformed', 'bm90IGpzb24.eyJzdWIiOiJ4In0.AAAA'],
    ]
    for (const [reason, pending] of cases) {
      const jwt = await pending
      const f = await refusal(auth.authenticate(bearer(jwt)))
      assert.equal(f.reason, reason, `${reason}: ${f.message}`)
      assert.equal(f.status, 401)
      assert.equal(f.error, 'invalid_token')
      assert.ok(!f.message.includes(jwt.slice(-12)), 'never the token in the message')
    }
    for (const typ of ['at+jwt', 'JWT', 'application/at+jwt']) {
      assert.ok(await auth.authenticate(bearer(await token(scope, (h) => void (h.typ = typ)))), typ)
    }
  })

  it('a token signed by a real key of the issuer, with an algorithm jose verifies but oauth.algorithms leaves out, is refused', async () => {
    // ES256 is a key the issuer holds and publishes: only the allow-list (RS256 here) stops it.
    const es256 = await token('mcp:tool:*', () => {}, 'ec')
    const f = await refusal(authenticator({algorithms: ['RS256']}).authenticate(bearer(es256)))
    assert.equal(f.reason, 'algorithm_not_allowed')
    assert.ok((await authenticator({algorithms: ['RS256', 'ES256']}).authenticate(bearer(es256))).id, 'the same token passes when the allow-list has ES256')
  })

  it('a token with no MCP scope is refused 403 insufficient_scope naming mcp:server:access; mcp:server:access alone grants nothing', async () => {
    const auth = authenticator()
    const f = await refusal(auth.authenticate(bearer(await token('profile email'))))
    assert.equal(f.status, 403)
    assert.equal(f.error, 'insufficient_scope')
    assert.equal(f.scope, 'mcp:server:access')
    const admitted = await auth.authenticate(bearer(await token('mcp:server:access')))
    assert.deepEqual(admitted.scopes.sources, [])
  })

  it('a key replaced under the same kid is picked up by one refetch, and failed signatures refetch at most once per cooldown', async () => {
    const auth = authenticator()
    // Made ahead: key generation is slow on a loaded machine, and the steps below must fall within one cooldown.
    const replacement = {...(await exportJWK((await generateKeyPair('RS256', {extractable: true})).privateKey)), kid: 'main', alg: 'RS256'}
    const first = await token('mcp:tool:*')
    assert.ok(await auth.authenticate(bearer(first)))
    assert.equal(jwks.calls, 1)
    const before = issuer.issuer.keys.get('main') as JWK
    await issuer.issuer.keys.add(replacement)
    assert.notEqual((issuer.issuer.keys.get('main') as JWK).n, before.n, 'a new key under the old kid')
    const rotated = await token('mcp:tool:*', (_h, p) => void (p.sub = 'bob'))
    // Within the cooldown of the first fetch: no refetch yet.
    assert.equal((await refusal(auth.authenticate(bearer(rotated)))).reason, 'bad_signature')
    assert.equal(jwks.calls, 1)
    await sleep(COOLDOWN_MS + 50)
    const p = await auth.authenticate(bearer(rotated))
    assert.equal(p.name, 'bob')
    assert.equal(jwks.calls, 2, 'one refetch')
    // A flood of forged signatures under the known kid: no refetch within the cooldown.
    const forged = await Promise.all(Array.from({length: 20}, (_, i) => token('mcp:tool:*', (_h, q) => void (q.sub = `x${i}`)).then((t) => `${t.slice(0, -6)}AAAAAA`)))
    for (const f of await Promise.all(forged.map((t) => refusal(auth.authenticate(bearer(t)))))) assert.equal(f.reason, 'bad_signature')
    assert.equal(jwks.calls, 2)
    // Past the cooldown, the next one refetches once more, and is still refused.
    await sleep(COOLDOWN_MS + 50)
    const more = await Promise.all(forged.slice(0, 5).map((t) => refusal(auth.authenticate(bearer(`${t.slice(0, -7)}B`)))))
    assert.ok(more.every((f) => f.reason === 'bad_signature'))
    assert.equal(jwks.calls, 3)
  })

  it('the issuer’s keys out of reach is 503, and discovery is tried again on the next token', async () => {
    const auth = authenticator({jwksUri: undefined, issuer: 'http://127.0.0.1:9/'})
    const jwt = await token('mcp:tool:*', (_h, p) => void (p.iss = 'http://127.0.0.1:9/'))
    const f = await refusal(auth.authenticate(bearer(jwt)))
    assert.equal(f.reason, 'issuer_unavailable')
    assert.equal(f.status, 503)
    assert.ok(logs.some((l) => /cannot get the issuer's keys/.test(l)))
    assert.ok(!logs.join('\n').includes(jwt.slice(-12)), 'never the token in the log')
  })

  describe('introspection', () => {
    function introspecting(over: Partial<OAuthSettings> = {}) {
      return authenticator({introspection: {url: introspectionUrl, clientId: 'kw', clientSecret: 'introspection-secret'}, ...over})
    }
    const active = (over: Record<string, unknown> = {}) => ({active: true, scope: 'mcp:tool:echo', sub: 'alice', client_id: 'app', aud: AUDIENCE, iss: issuer.issuer.url, exp: Math.floor(Date.now() / 1000) + 600, ...over})

    it('an active token becomes a principal, introspected once with the client’s Basic credentials and then cached', async () => {
      introspection.answer = () => active({aud: ['https://elsewhere.example', AUDIENCE]})
      const auth = introspecting()
      assert.equal(auth.claims(bearer('opaque-1')), true)
      const p = await auth.authenticate(bearer('opaque-1'))
      assert.equal(p.id, `oauth:${issuer.issuer.url}#alice`)
      assert.deepEqual(p.scopes.sources, ['echo'])
      await auth.authenticate(bearer('opaque-1'))
      assert.equal(introspection.calls, 1)
      const form = new URLSearchParams(introspection.bodies[0])
      assert.equal(form.get('token'), 'opaque-1')
      assert.equal(form.get('token_type_hint'), 'access_token')
    })

    it('refuses an inactive token even when the answer carries scopes, and remembers it briefly', async () => {
      introspection.answer = () => ({active: false, scope: 'mcp:tool:echo', sub: 'alice', aud: AUDIENCE})
      const auth = introspecting()
      const f = await refusal(auth.authenticate(bearer('opaque-inactive')))
      assert.equal(f.reason, 'inactive')
      assert.equal(f.status, 401)
      assert.equal((await refusal(auth.authenticate(bearer('opaque-inactive')))).reason, 'inactive')
      assert.equal(introspection.calls, 1, 'the negative answer is cached')
    })

    it('refuses a result with no aud, another aud, another issuer, or past exp', async () => {
      const now = Math.floor(Date.now() / 1000)
      const cases: [string, Record<string, unknown>][] = [
        ['wrong_audience', active({aud: undefined})],
        ['wrong_audience', active({aud: 'https://other.example/mcp'})],
        ['wrong_audience', active({aud: []})],
        ['wrong_issuer', active({iss: 'https://evil.example'})],
        ['expired', active({exp: now - 10})],
        ['not_yet_valid', active({nbf: now + 600})],
      ]
      for (const [i, [reason, answer]] of cases.entries()) {
        introspection.answer = () => answer
        const f = await refusal(introspecting().authenticate(bearer(`opaque-bad-${i}`)))
        assert.equal(f.reason, reason, JSON.stringify(answer))
      }
    })

    it('an endpoint out of reach is 503, and the client secret is never logged', async () => {
      const auth = introspecting({introspection: {url: 'http://127.0.0.1:9/introspect', clientId: 'kw', clientSecret: 'introspection-secret'}})
      const f = await refusal(auth.authenticate(bearer('opaque-x')))
      assert.equal(f.status, 503)
      assert.ok(!logs.join('\n').includes('introspection-secret'))
    })

    it('without an endpoint, an opaque token is not claimed', () => {
      assert.equal(authenticator().claims(bearer('opaque-token')), false)
    })
  })

  describe('current: a principal under reloaded settings (a reload builds a new authenticator)', () => {
    it('maps the token’s scopes again: a narrowed oauth.scope-map narrows it, an unchanged one keeps the very principal', async () => {
      const p = await authenticator().authenticate(bearer(await token('mcp:server:access repo:read repo:write')))
      assert.deepEqual(p.scopes.sources, ['github__get_*'])
      assert.deepEqual(p.basis, {kind: 'oauth2', granted: ['mcp:server:access', 'repo:read', 'repo:write'], audiences: [AUDIENCE], host: undefined, algorithm: 'RS256', issuer: issuer.issuer.url, verifiedBy: `jwks:${jwksUri}`})
      assert.equal(authenticator().current(p), p, 'the same settings: the same principal')
      const narrowed = authenticator({scopeMap: new Map([['repo:read', ['github__get_issue']]])})
      const now = narrowed.current(p)!
      assert.deepEqual(now.scopes.sources, ['github__get_issue'])
      assert.equal(now.scopes.allows('tool', 'github__get_pr'), false)
      assert.equal(now.id, p.id)
      assert.equal(now.expiresAt, p.expiresAt)
      assert.equal(narrowed.current(p), now, 'derived once per principal')
      assert.equal(narrowed.current(now), now)
      const widened = authenticator({scopeMap: new Map([['repo:read', ['github__get_*']], ['repo:write', ['github__create_*']]])}).current(p)!
      assert.deepEqual(widened.scopes.sources, ['github__get_*', 'github__create_*'])
    })

    it('none once the token would no longer be admitted: its scope unmapped, another issuer, keys, algorithms or audience', async () => {
      const p = await authenticator().authenticate(bearer(await token('repo:read')))
      assert.deepEqual(p.scopes.sources, ['github__get_*'])
      assert.equal(authenticator({scopeMap: new Map()}).current(p), undefined, 'repo:read maps to nothing: no access at all')
      assert.equal(authenticator({scopeMap: new Map([['repo:read', ['not a pattern ((']]])}).current(p), undefined, 'a pattern that cannot match is no access')
      assert.equal(authenticator({issuer: other.issuer.url!}).current(p), undefined, 'oauth.issuer changed')
      assert.equal(authenticator({jwksUri: `${jwksUri}?v=2`}).current(p), undefined, 'oauth.jwks-uri changed: the signature was checked with other keys')
      assert.equal(authenticator({algorithms: ['ES256']}).current(p), undefined, 'oauth.algorithms no longer allows RS256')
      assert.equal(authenticator({audiences: () => ['https://other.example/mcp']}).current(p), undefined, 'oauth.audience changed')
      const kept = authenticator({audiences: () => ['https://other.example/mcp', AUDIENCE], algorithms: ['RS256']})
      assert.equal(kept.current(p), p, 'still one of the audiences, still an allowed algorithm')
      const admitted = await authenticator().authenticate(bearer(await token('mcp:server:access repo:read')))
      assert.deepEqual(authenticator({scopeMap: new Map()}).current(admitted)?.scopes.sources, [], 'mcp:server:access keeps it admitted, with nothing')
    })

    it('the audience is checked again for the Host the token came with', async () => {
      const byHost = (host?: string) => (host ? [`http://${host}/mcp`] : [AUDIENCE])
      const local = {transport: 'http' as const, host: 'localhost:9000'}
      const p = await authenticator({audiences: byHost}).authenticate(bearer(await token('mcp:tool:echo', (_h, x) => void (x.aud = 'http://localhost:9000/mcp'))), local)
      assert.equal(p.basis?.kind === 'oauth2' && p.basis.host, 'localhost:9000')
      assert.equal(authenticator({audiences: byHost}).current(p), p)
      assert.equal(authenticator({audiences: () => ['https://mcp.example/mcp']}).current(p), undefined, 'server.public-url or oauth.audience set since')
    })

    it('an introspected token: mapped again; none once the endpoint changed or is gone', async () => {
      introspection.answer = () => ({active: true, scope: 'mcp:tool:echo repo:read', sub: 'alice', aud: AUDIENCE, iss: issuer.issuer.url, exp: Math.floor(Date.now() / 1000) + 600})
      const endpoint = {url: introspectionUrl, clientId: 'kw', clientSecret: 'introspection-secret'}
      const p = await authenticator({introspection: endpoint}).authenticate(bearer('opaque-current'))
      assert.deepEqual(p.scopes.sources, ['echo', 'github__get_*'])
      assert.ok(!JSON.stringify(p.basis).includes('opaque-current') && !JSON.stringify(p.basis).includes('introspection-secret'), 'neither the token nor the client secret')
      assert.deepEqual(authenticator({introspection: endpoint, scopeMap: new Map()}).current(p)?.scopes.sources, ['echo'])
      assert.equal(authenticator({introspection: {...endpoint, clientSecret: 'rotated'}}).current(p), p, 'a rotated client secret changes nothing for it')
      assert.equal(authenticator({introspection: {...endpoint, url: `${introspectionUrl}/v2`}}).current(p), undefined)
      assert.equal(authenticator().current(p), undefined, 'introspection turned off')
    })

    it('keeps no token in the principal; one made elsewhere (no basis) is not kept', async () => {
      const jwt = await token('mcp:tool:echo')
      const p = await authenticator().authenticate(bearer(jwt))
      assert.ok(!JSON.stringify(p).includes(jwt.split('.')[2]), 'no signature')
      assert.ok(!JSON.stringify(p).includes(jwt.split('.')[1]), 'no payload')
      assert.equal(authenticator().current({...p, basis: undefined}), undefined)
    })
  })

  it('the audience is the resource the Host names: a token for one name is refused at another, and cached per resource', async () => {
    const byHost = (host?: string) => (host ? [`http://${host}/mcp`, `http://${host}`] : [AUDIENCE])
    const auth = authenticator({audiences: byHost, resourceMetadataUrl: (host) => `http://${host}/.well-known/oauth-protected-resource/mcp`, scope: 'mcp:server:access mcp:tool:*'})
    const local = {transport: 'http' as const, host: 'localhost:9000'}
    const jwt = await token('mcp:tool:echo', (_h, p) => void (p.aud = 'http://localhost:9000/mcp'))
    assert.equal((await auth.authenticate(bearer(jwt), local)).authType, 'oauth2')
    assert.equal((await refusal(auth.authenticate(bearer(jwt), {transport: 'http', host: '127.0.0.1:9000'}))).reason, 'wrong_audience', 'the cached principal is not reused for another resource')
    const root = await token('mcp:tool:echo', (_h, p) => void (p.aud = 'http://localhost:9000'))
    assert.equal((await auth.authenticate(bearer(root), local)).authType, 'oauth2', "the origin, as the root metadata names it")
    assert.deepEqual(auth.challenge(undefined, local).params, {resource_metadata: 'http://localhost:9000/.well-known/oauth-protected-resource/mcp', scope: 'mcp:server:access mcp:tool:*'})
    const narrow = await refusal(auth.authenticate(bearer(await token('openid', (_h, p) => void (p.aud = 'http://localhost:9000/mcp'))), local))
    assert.equal(auth.challenge(narrow, local).params.scope, 'mcp:server:access', "a refusal that names a scope keeps its own")
  })

  it('its challenge points to the resource metadata and carries the refusal', async () => {
    const auth = authenticator()
    assert.deepEqual(auth.challenge(), {scheme: 'Bearer', params: {resource_metadata: METADATA}})
    const f = await refusal(auth.authenticate(bearer(await token('mcp:tool:*', (_h, p) => void (p.exp = 1)))))
    assert.deepEqual(auth.challenge(f).params, {resource_metadata: METADATA, error: 'invalid_token', error_description: f.message})
  })
})
