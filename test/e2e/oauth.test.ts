/**
 * OAuth 2.1 for `keyward serve` (issue 10), against a real issuer started in the test
 * (oauth2-mock-server: JWKS, authorize, token, introspection), the built CLI, and the SDK's real
 * Client, its OAuth flow included.
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import {createServer, request, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import path from 'node:path'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema} from '@modelcontextprotocol/sdk/types.js'
import {SignJWT, exportJWK, exportSPKI, generateKeyPair, importJWK} from 'jose'
import {OAuth2Server} from 'oauth2-mock-server'

import {json, ROOT, Sandbox, sleep, until} from '../helpers/cli.js'
import {bearer, httpClient, INITIALIZE, post, startServe, toolNames, type RunningServe} from '../helpers/server.js'

type Transform = (header: Record<string, unknown>, payload: Record<string, unknown>) => void

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const textOf = (r: unknown) => ((r as {content: {text: string}[]}).content[0]?.text ?? '')

/** An HTTP endpoint on loopback that answers with `answer()` and counts its requests: a JWKS or an RFC 7662 endpoint. */
async function endpoint(answer: (body: string) => unknown): Promise<{url: string; calls: () => number; close: () => void}> {
  let calls = 0
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
      calls++
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(answer(body)))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, calls: () => calls, close: () => void server.close()}
}

describe('OAuth 2.1', function () {
  this.timeout(60_000)
  let box: Sandbox
  let issuer: OAuth2Server
  let other: OAuth2Server
  const running: RunningServe[] = []
  const clients: Client[] = []

  async function cli(args: string[], input?: string) {
    const r = await box.run(args, {input})
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }

  async function serve(args: string[] = []) {
    const s = await startServe(box, args)
    running.push(s)
    return s
  }

  /** A token from `from` for the server at `resource`, with these scopes; `transform` edits it before signing. */
  function token(from: OAuth2Server, resource: string, scope: string, transform: Transform = () => {}): Promise<string> {
    return from.issuer.buildToken({
      scopesOrTransform: (header, payload) => {
        payload.aud = resource
        payload.scope = scope
        payload.sub = 'alice'
        payload.client_id = 'agent-app'
        transform(header as Record<string, unknown>, payload as Record<string, unknown>)
      },
    })
  }

  before(async () => {
    issuer = new OAuth2Server()
    await issuer.issuer.keys.generate('RS256')
    await issuer.start(0, '127.0.0.1')
    other = new OAuth2Server()
    await other.issuer.keys.generate('RS256')
    await other.start(0, '127.0.0.1')
  })

  after(async () => {
    await issuer.stop()
    await other.stop()
  })

  beforeEach(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
    await cli(['config', 'set', 'auth.methods', 'api-key,oauth2'])
    await cli(['config', 'set', 'oauth.issuer', issuer.issuer.url!])
  })

  afterEach(async () => {
    issuer.service.removeAllListeners()
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    await Promise.all(running.splice(0).map((s) => s.stop()))
    await box.cleanup()
  })

  it('a valid JWT lists and calls the tools its scopes allow, beside API keys on the same server', async () => {
    const key = (await cli(['keys', 'generate', '--name', 'k', '--scope', 'limited'])).stdout.trim()
    const s = await serve()
    const jwt = await token(issuer, s.url, 'mcp:server:access mcp:tool:echo mcp:tool:get_*')
    const c = await httpClient(s.url, bearer(jwt))
    clients.push(c)
    assert.deepEqual(await toolNames(c), ['echo', 'get_time'])
    assert.deepEqual((await c.callTool({name: 'echo', arguments: {message: 'via oauth'}})).content, [{type: 'text', text: 'via oauth'}])
    const info = (await c.callTool({name: 'echo', arguments: {message: 'x'}}).then(() => c.listTools())) && (await httpClient(s.url, bearer(await token(issuer, s.url, 'mcp:tool:debug_info'))))
    clients.push(info)
    const debug = (await info.callTool({name: 'debug_info', arguments: {}})).structuredContent as Record<string, unknown>
    assert.equal(debug.authType, 'oauth2')
    assert.equal(debug.subject, 'alice')
    assert.equal(debug.clientId, 'agent-app')
    assert.deepEqual(debug.scopes, ['debug_info'])
    assert.ok(!JSON.stringify(debug).includes(jwt.slice(-20)), 'never the token')
    assert.deepEqual(info.getServerCapabilities()?.experimental?.authentication, {required: true, types: ['api_key', 'oauth2'], resource_metadata: `${new URL(s.url).origin}/.well-known/oauth-protected-resource/mcp`})
    const byKey = await httpClient(s.url, bearer(key))
    clients.push(byKey)
    assert.deepEqual(await toolNames(byKey), ['echo', 'hello_world'], 'API keys work on the same server')
    assert.ok(!s.logs().includes(jwt.slice(-20)), 'no token in the logs')
  })

  it('refuses bad tokens with 401, error="invalid_token", and the reason in the log', async () => {
    const s = await serve()
    const now = Math.floor(Date.now() / 1000)
    const scope = 'mcp:tool:*'
    const jwk = issuer.issuer.keys.get()!
    const publicKey = await importJWK({kty: jwk.kty, n: (jwk as {n: string}).n, e: (jwk as {e: string}).e}, 'RS256')
    const pem = await exportSPKI(publicKey as Parameters<typeof exportSPKI>[0])
    const base = {aud: s.url, iss: issuer.issuer.url, sub: 'mallory', scope, exp: now + 600}
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const cases: [string, string | Promise<string>][] = [
      ['expired', token(issuer, s.url, scope, (_h, p) => void (p.exp = now - 600))],
      ['not_yet_valid', token(issuer, s.url, scope, (_h, p) => void (p.nbf = now + 600))],
      ['wrong_audience', token(issuer, 'https://another.example/mcp', scope)],
      ['wrong_issuer', token(issuer, s.url, scope, (_h, p) => void (p.iss = 'https://evil.example'))],
      ['unknown_key', token(other, s.url, scope, (_h, p) => void (p.iss = issuer.issuer.url))],
      ['algorithm_not_allowed', `${b64({alg: 'none', typ: 'JWT'})}.${b64(base)}.`],
      ['algorithm_not_allowed', new SignJWT(base).setProtectedHeader({alg: 'HS256', kid: jwk.kid}).sign(new TextEncoder().encode(pem))],
      ['bad_signature', token(issuer, s.url, scope).then((t) => `${t.slice(0, -6)}AAAAAA`)],
      ['wrong_token_type', token(issuer, s.url, scope, (h) => void (h.typ = 'dpop+jwt'))],
      ['wrong_audience', token(issuer, s.url, scope, (_h, p) => void delete p.aud)],
    ]
    for (const [reason, pending] of cases) {
      const jwt = await pending
      const r = await post(s.url, INITIALIZE, bearer(jwt))
      assert.equal(r.status, 401, `${reason}: ${r.text}`)
      const challenge = r.headers.get('www-authenticate') ?? ''
      assert.match(challenge, /error="invalid_token"/, reason)
      assert.match(challenge, /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/)
      assert.equal(JSON.parse(r.text).error.data.reason, reason)
      assert.ok(!s.logs().includes(jwt.slice(-16)), 'no token in the log')
    }
    // stderr is written asynchronously: wait for every line (the last case's included), not only one.
    const logged = (reason: string) => new RegExp(`refused POST /mcp from \\S+: 401 ${reason}`).test(s.logs())
    for (let i = 0; i < 150 && !cases.every(([reason]) => logged(reason)); i++) await sleep(20)
    for (const [reason] of cases) assert.ok(logged(reason), `logged: ${reason}`)
  })

  it('a call outside the token’s scopes gets 403 insufficient_scope naming the scope', async () => {
    const s = await serve()
    const jwt = await token(issuer, s.url, 'mcp:tool:echo')
    const opened = await post(s.url, INITIALIZE, bearer(jwt))
    assert.equal(opened.status, 200)
    const headers = {...bearer(jwt), 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25'}
    for (const name of ['get_time', 'no_such_tool']) {
      const r = await post(s.url, {jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name, arguments: {}}}, headers)
      assert.equal(r.status, 403, r.text)
      const challenge = r.headers.get('www-authenticate') ?? ''
      assert.match(challenge, new RegExp(`^Bearer error="insufficient_scope", scope="mcp:tool:${name}", error_description="[^"]*", resource_metadata="http://`))
    }
    const none = await post(s.url, INITIALIZE, bearer(await token(issuer, s.url, 'profile email')))
    assert.equal(none.status, 403, 'a token with no MCP scope is refused')
    assert.match(none.headers.get('www-authenticate') ?? '', /error="insufficient_scope", scope="mcp:server:access"/)
  })

  it('a prompt or resource outside the token’s scopes gets 403 naming mcp:prompt:NAME or mcp:resource:URI, as a tool does', async () => {
    await cli(['upstream', 'add', 'fixture', '--', process.execPath, FIXTURE])
    const s = await serve()
    const wide = await httpClient(s.url, bearer(await token(issuer, s.url, 'mcp:tool:* mcp:prompt:* mcp:resource:**')))
    clients.push(wide)
    const prompt = (await wide.listPrompts()).prompts.find((p) => p.name.endsWith('greet'))!.name
    const uri = (await wide.listResources()).resources[0].uri
    assert.ok((await wide.getPrompt({name: prompt, arguments: {who: 'ok'}})).messages.length > 0, 'with its scope, the prompt is served')
    const jwt = await token(issuer, s.url, 'mcp:tool:*')
    const opened = await post(s.url, INITIALIZE, bearer(jwt))
    assert.equal(opened.status, 200)
    const headers = {...bearer(jwt), 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25'}
    const calls: [string, Record<string, unknown>, string][] = [
      ['prompts/get', {name: prompt, arguments: {who: 'x'}}, `mcp:prompt:${prompt}`],
      ['prompts/get', {name: 'no_such_prompt', arguments: {}}, 'mcp:prompt:no_such_prompt'],
      ['resources/read', {uri}, `mcp:resource:${uri}`],
    ]
    for (const [i, [method, params, scope]] of calls.entries()) {
      const r = await post(s.url, {jsonrpc: '2.0', id: 10 + i, method, params}, headers)
      assert.equal(r.status, 403, `${method} ${JSON.stringify(params)}: ${r.text}`)
      const challenge = r.headers.get('www-authenticate') ?? ''
      assert.match(challenge, /^Bearer error="insufficient_scope", /)
      assert.ok(challenge.includes(`scope="${scope}"`), challenge)
      assert.equal(JSON.parse(r.text).error.data.scope, scope)
    }
  })

  it("a signing key the issuer replaces under the same kid is picked up by one refetch, and forged signatures do not make it refetch again", async () => {
    const rotating = new OAuth2Server()
    await rotating.issuer.keys.generate('RS256', {kid: 'kept-kid'})
    await rotating.start(0, '127.0.0.1')
    const jwks = await endpoint(() => ({keys: rotating.issuer.keys.toJSON()}))
    try {
      await cli(['config', 'set', 'oauth.issuer', rotating.issuer.url!])
      await cli(['config', 'set', 'oauth.jwks-uri', `${jwks.url}jwks`])
      const s = await serve()
      const mint = (sub: string) => rotating.issuer.buildToken({kid: 'kept-kid', scopesOrTransform: (_h, p) => Object.assign(p, {aud: s.url, scope: 'mcp:tool:*', sub})})
      // Made ahead: key generation can be slow, and the next steps should fall within one refetch cooldown.
      const replacement = {...(await exportJWK((await generateKeyPair('RS256', {extractable: true})).privateKey)), kid: 'kept-kid', alg: 'RS256'}
      assert.equal((await post(s.url, INITIALIZE, bearer(await mint('alice')))).status, 200)
      assert.equal(jwks.calls(), 1)
      await rotating.issuer.keys.add(replacement)
      const rotated = await mint('bob')
      const early = await post(s.url, INITIALIZE, bearer(rotated))
      assert.equal(JSON.parse(early.text).error?.data?.reason, 'bad_signature', 'within 5 s of the last fetch: no refetch')
      assert.equal(jwks.calls(), 1)
      await sleep(5100)
      const r = await post(s.url, INITIALIZE, bearer(rotated))
      assert.equal(r.status, 200, r.text)
      assert.equal(jwks.calls(), 2, 'one refetch')
      for (let i = 0; i < 5; i++) {
        const forged = `${(await mint(`m${i}`)).slice(0, -6)}AAAAAA`
        const f = await post(s.url, INITIALIZE, bearer(forged))
        assert.equal(JSON.parse(f.text).error.data.reason, 'bad_signature')
      }
      assert.equal(jwks.calls(), 2, 'forged signatures within the cooldown fetch nothing')
    } finally {
      jwks.close()
      await rotating.stop()
    }
  })

  it('a token signed with a real key of the issuer, in an algorithm jose verifies but oauth.algorithms leaves out, is refused', async () => {
    const mixed = new OAuth2Server()
    await mixed.issuer.keys.generate('RS256', {kid: 'rsa'})
    await mixed.issuer.keys.generate('ES256', {kid: 'ec'})
    await mixed.start(0, '127.0.0.1')
    try {
      await cli(['config', 'set', 'oauth.issuer', mixed.issuer.url!])
      await cli(['config', 'set', 'oauth.algorithms', 'RS256'])
      const s = await serve()
      const mint = (kid: string) => mixed.issuer.buildToken({kid, scopesOrTransform: (_h, p) => Object.assign(p, {aud: s.url, scope: 'mcp:tool:*', sub: 'eve'})})
      assert.equal((await post(s.url, INITIALIZE, bearer(await mint('rsa')))).status, 200)
      const r = await post(s.url, INITIALIZE, bearer(await mint('ec')))
      assert.equal(r.status, 401, `an ES256 token from the issuer's published key: ${r.text}`)
      assert.equal(JSON.parse(r.text).error.data.reason, 'algorithm_not_allowed')
    } finally {
      await mixed.stop()
    }
  })

  it('serves RFC 9728 metadata, and the 401 points to it', async () => {
    await cli(['config', 'set', 'oauth.scopes-supported', 'mcp:server:access,mcp:tool:*,repo:read'])
    const s = await serve()
    const origin = new URL(s.url).origin
    for (const [path, resource] of [['/.well-known/oauth-protected-resource', origin], ['/.well-known/oauth-protected-resource/mcp', s.url]]) {
      const r = await fetch(`${origin}${path}`)
      assert.equal(r.status, 200, path)
      // RFC 9728 3.3: the root metadata is the origin's, the path's that of the MCP URL.
      assert.deepEqual(await r.json(), {
        resource,
        authorization_servers: [issuer.issuer.url],
        scopes_supported: ['mcp:server:access', 'mcp:tool:*', 'repo:read'],
        bearer_methods_supported: ['header'],
        resource_name: 'keyward',
      })
    }
    const r = await post(s.url, INITIALIZE)
    assert.equal(r.status, 401)
    assert.equal(r.headers.get('www-authenticate'), `Bearer realm="keyward", resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp", scope="mcp:server:access mcp:tool:* repo:read", methods="api_key oauth2"`)
    const query = await post(`${s.url}?access_token=${await token(issuer, s.url, 'mcp:tool:*')}`, INITIALIZE)
    assert.equal(query.status, 400, 'never a token in the query string')
    const form = await fetch(s.url, {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded', accept: 'application/json, text/event-stream'}, body: `access_token=${await token(issuer, s.url, 'mcp:tool:*')}`})
    assert.equal(form.status, 401, 'nor in a form body')
  })

  it("picks up the issuer's new signing key without a restart", async () => {
    const s = await serve()
    const first = await post(s.url, INITIALIZE, bearer(await token(issuer, s.url, 'mcp:tool:*')))
    assert.equal(first.status, 200)
    await issuer.issuer.keys.generate('RS256', {kid: 'rotated-key'})
    await sleep(5100) // the JWKS refetch for an unknown kid is rate-limited to once every 5 s
    const rotated = await issuer.issuer.buildToken({kid: 'rotated-key', scopesOrTransform: (_h, p) => Object.assign(p, {aud: s.url, scope: 'mcp:tool:*', sub: 'bob'})})
    const r = await post(s.url, INITIALIZE, bearer(rotated))
    assert.equal(r.status, 200, r.text)
  })

  it('introspects opaque tokens with the client secret from the vault, caches them, and respects exp', async () => {
    // An RFC 7662 endpoint: the mock issuer's does not read form bodies, so the test serves one.
    const {createServer} = await import('node:http')
    let calls = 0
    let authorization = ''
    let expiry = 0
    let resource = ''
    const introspection = createServer((req, res) => {
      let body = ''
      req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        calls++
        authorization = req.headers.authorization ?? ''
        const form = new URLSearchParams(body)
        const presented = form.get('token_type_hint') === 'access_token' ? form.get('token') : undefined
        const claims = {active: true, scope: 'mcp:tool:echo', sub: 'alice', client_id: 'app', aud: resource, iss: issuer.issuer.url, exp: expiry}
        const answers: Record<string, unknown> = {
          'opaque-token-for-alice': claims,
          // Inactive, yet carrying everything else: only `active` may decide.
          'inactive-but-scoped': {...claims, active: false},
          // Active, but for no named resource: refused as a JWT without aud is.
          'no-audience': {...claims, aud: undefined},
        }
        res.writeHead(200, {'content-type': 'application/json'})
        res.end(JSON.stringify(answers[presented ?? ''] ?? {active: false}))
      })
    })
    await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', () => resolve()))
    try {
      await cli(['secrets', 'set', 'INTROSPECT_SECRET'], 'introspection-client-secret')
      await cli(['config', 'set', 'oauth.introspection-url', `http://127.0.0.1:${(introspection.address() as {port: number}).port}/introspect`])
      await cli(['config', 'set', 'oauth.client-id', 'keyward-rs'])
      await cli(['config', 'set', 'oauth.client-secret', 'secret:INTROSPECT_SECRET'])
      await cli(['config', 'set', 'oauth.clock-skew', '0s'])
      const s = await serve()
      resource = s.url
      expiry = Math.floor(Date.now() / 1000) + 3
      const c = await httpClient(s.url, bearer('opaque-token-for-alice'))
      clients.push(c)
      assert.deepEqual(await toolNames(c), ['echo'])
      for (let i = 0; i < 5; i++) await c.callTool({name: 'echo', arguments: {message: 'cached'}})
      assert.equal(calls, 1, 'introspected once, then served from the cache')
      assert.equal(authorization, `Basic ${Buffer.from('keyward-rs:introspection-client-secret').toString('base64')}`)
      assert.equal((await post(s.url, INITIALIZE, bearer('some-other-opaque-token'))).status, 401)
      for (const [presented, reason] of [['inactive-but-scoped', 'inactive'], ['no-audience', 'wrong_audience']]) {
        const r = await post(s.url, INITIALIZE, bearer(presented))
        assert.equal(r.status, 401, `${presented}: ${r.text}`)
        assert.equal(JSON.parse(r.text).error.data.reason, reason, presented)
      }
      await sleep(Math.max(0, expiry * 1000 - Date.now()) + 200)
      const late = await post(s.url, INITIALIZE, bearer('opaque-token-for-alice'))
      assert.equal(late.status, 401, 'not served from the cache past exp')
      assert.equal(JSON.parse(late.text).error.data.reason, 'expired')
      assert.ok(!s.logs().includes('introspection-client-secret'))
    } finally {
      introspection.close()
    }
  })

  it("the SDK's own client completes the whole flow: discovery from the 401, authorization, token, call", async () => {
    const s = await serve()
    issuer.service.on('beforeTokenSigning', (t: {payload: Record<string, unknown>}) => {
      t.payload.aud = s.url
      t.payload.scope = 'mcp:server:access mcp:tool:echo'
    })
    const {Client} = await import('@modelcontextprotocol/sdk/client/index.js')
    const {StreamableHTTPClientTransport} = await import('@modelcontextprotocol/sdk/client/streamableHttp.js')
    const {UnauthorizedError} = await import('@modelcontextprotocol/sdk/client/auth.js')
    const state: {tokens?: unknown; verifier?: string; authUrl?: URL} = {}
    const redirectUrl = 'http://127.0.0.1:9/callback'
    const provider = {
      redirectUrl,
      clientMetadata: {redirect_uris: [redirectUrl], client_name: 'keyward-test', grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none'},
      clientInformation: () => ({client_id: 'keyward-test-client'}),
      tokens: () => state.tokens as never,
      saveTokens: (tokens: unknown) => void (state.tokens = tokens),
      redirectToAuthorization: (url: URL) => void (state.authUrl = url),
      saveCodeVerifier: (verifier: string) => void (state.verifier = verifier),
      codeVerifier: () => state.verifier!,
    }
    const first = new StreamableHTTPClientTransport(new URL(s.url), {authProvider: provider})
    await assert.rejects(new Client({name: 'sdk', version: '1'}).connect(first), (err: Error) => err instanceof UnauthorizedError)
    assert.ok(state.authUrl, 'the client discovered the issuer from the 401 and the metadata')
    assert.equal(state.authUrl.searchParams.get('resource'), s.url, 'RFC 8707 resource indicator')
    const redirect = await fetch(state.authUrl, {redirect: 'manual'})
    const code = new URL(redirect.headers.get('location')!).searchParams.get('code')!
    await first.finishAuth(code)
    const c = new Client({name: 'sdk', version: '1'})
    await c.connect(new StreamableHTTPClientTransport(new URL(s.url), {authProvider: provider}))
    clients.push(c)
    assert.deepEqual((await c.callTool({name: 'echo', arguments: {message: 'after the flow'}})).content, [{type: 'text', text: 'after the flow'}])
  })

  it('discovery via localhost: the resource is the one the Host names (root metadata its origin), the 401 names the scope, CORS for allowed origins', async () => {
    const s = await serve()
    const port = new URL(s.url).port
    const local = `http://localhost:${port}/mcp`
    const {discoverOAuthProtectedResourceMetadata} = await import('@modelcontextprotocol/sdk/client/auth.js')
    const prm = await discoverOAuthProtectedResourceMetadata(local)
    assert.equal(prm.resource, local, "the SDK client's discovery gets the resource it asked about")
    assert.equal(((await (await fetch(`http://localhost:${port}/.well-known/oauth-protected-resource`)).json()) as {resource: string}).resource, `http://localhost:${port}`)
    // A Host the server does not answer to is never reflected: the listening URL stands.
    const {request} = await import('node:http')
    const foreign = await new Promise<string>((resolve, reject) => {
      const req = request({host: '127.0.0.1', port, path: '/.well-known/oauth-protected-resource/mcp', headers: {host: 'evil.example'}}, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(JSON.parse(body).resource))
      })
      req.on('error', reject).end()
    })
    assert.equal(foreign, s.url)
    const challenged = await post(local, INITIALIZE, {origin: `http://localhost:${port}`})
    assert.equal(challenged.status, 401)
    assert.equal(challenged.headers.get('www-authenticate'), `Bearer realm="keyward", resource_metadata="http://localhost:${port}/.well-known/oauth-protected-resource/mcp", scope="mcp:server:access mcp:tool:*", methods="api_key oauth2"`)
    assert.equal(challenged.headers.get('access-control-allow-origin'), `http://localhost:${port}`)
    assert.match(challenged.headers.get('access-control-expose-headers') ?? '', /www-authenticate.*mcp-session-id/)
    const preflight = await fetch(local, {method: 'OPTIONS', headers: {origin: `http://localhost:${port}`, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-session-id'}})
    assert.equal(preflight.status, 204)
    assert.equal(preflight.headers.get('access-control-allow-origin'), `http://localhost:${port}`)
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization.*content-type.*mcp-session-id/)
    const stranger = await post(local, INITIALIZE, {origin: 'http://evil.example'})
    assert.equal(stranger.status, 403)
    assert.equal(stranger.headers.get('access-control-allow-origin'), null, 'no CORS for an origin the server does not answer to')
    assert.equal((await fetch(`http://localhost:${port}/.well-known/oauth-protected-resource/mcp`, {headers: {origin: 'http://any.example'}})).headers.get('access-control-allow-origin'), '*', 'the metadata is public')
    // The SDK client's whole flow against localhost: a token for that resource, and a call.
    issuer.service.on('beforeTokenSigning', (t: {payload: Record<string, unknown>}) => {
      t.payload.aud = local
      t.payload.scope = 'mcp:server:access mcp:tool:echo'
    })
    const {Client} = await import('@modelcontextprotocol/sdk/client/index.js')
    const {StreamableHTTPClientTransport} = await import('@modelcontextprotocol/sdk/client/streamableHttp.js')
    const state: {tokens?: {access_token: string}; verifier?: string; authUrl?: URL} = {}
    const redirectUrl = 'http://127.0.0.1:9/callback'
    const provider = {
      redirectUrl,
      clientMetadata: {redirect_uris: [redirectUrl], client_name: 'keyward-test', grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none'},
      clientInformation: () => ({client_id: 'keyward-test-client'}),
      tokens: () => state.tokens as never,
      saveTokens: (tokens: {access_token: string}) => void (state.tokens = tokens),
      redirectToAuthorization: (url: URL) => void (state.authUrl = url),
      saveCodeVerifier: (verifier: string) => void (state.verifier = verifier),
      codeVerifier: () => state.verifier!,
    }
    const first = new StreamableHTTPClientTransport(new URL(local), {authProvider: provider})
    await assert.rejects(new Client({name: 'sdk', version: '1'}).connect(first))
    assert.equal(state.authUrl?.searchParams.get('resource'), local, 'RFC 8707 resource indicator: the localhost resource')
    assert.equal(state.authUrl?.searchParams.get('scope'), 'mcp:server:access mcp:tool:*', 'the scope the 401 named')
    const redirect = await fetch(state.authUrl!, {redirect: 'manual'})
    await first.finishAuth(new URL(redirect.headers.get('location')!).searchParams.get('code')!)
    const c = new Client({name: 'sdk', version: '1'})
    await c.connect(new StreamableHTTPClientTransport(new URL(local), {authProvider: provider}))
    clients.push(c)
    assert.deepEqual((await c.callTool({name: 'echo', arguments: {message: 'via localhost'}})).content, [{type: 'text', text: 'via localhost'}])
    const elsewhere = await post(s.url, INITIALIZE, bearer(state.tokens!.access_token))
    assert.equal(elsewhere.status, 401, 'a token for localhost is not one for 127.0.0.1')
    assert.equal(JSON.parse(elsewhere.text).error.data.reason, 'wrong_audience')
  })

  it("a reload that narrows oauth.scope-map holds a live session to it: told its resource list changed, no more updates of a resource it may no longer read, all without a request of its own", async () => {
    await cli(['upstream', 'add', 'fixture', '--', process.execPath, FIXTURE])
    await cli(['config', 'set', 'oauth.scope-map.notes:read', 'fixture__*,resource:fixture://**'])
    // Another client, by API key, makes the upstream change the resource: the OAuth client sends nothing after the reload.
    const key = (await cli(['keys', 'generate', '--name', 'toucher', '--scope', 'fixture__*'])).stdout.trim()
    const s = await serve()
    const c = await httpClient(s.url, bearer(await token(issuer, s.url, 'mcp:server:access notes:read')))
    const toucher = await httpClient(s.url, bearer(key))
    clients.push(c, toucher)
    const updated: string[] = []
    let listChanged = 0
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri))
    c.setNotificationHandler(ResourceListChangedNotificationSchema, () => void listChanged++)
    await c.subscribeResource({uri: 'fixture://counter'})
    const touch = () => toucher.callTool({name: 'fixture__touch_resource', arguments: {}})
    await touch()
    assert.ok(await until(() => updated.length === 1), 'the subscriber hears the update while the mapping allows the resource')
    assert.deepEqual((await c.listResources()).resources.map((r) => r.uri), ['fixture://counter'])
    listChanged = 0
    const reloads = () => s.logs().match(/reloaded /g)?.length ?? 0
    const before = reloads()
    await cli(['config', 'set', 'oauth.scope-map.notes:read', 'fixture__*'])
    assert.ok(await until(() => reloads() > before), 'serve did not reload')
    assert.ok(await until(() => listChanged > 0), 'the session was not told its resource list changed')
    await touch()
    const subscribed = async () => (JSON.parse(textOf(await toucher.callTool({name: 'fixture__subscription_counts', arguments: {}}))) as {subscribed: string[]}).subscribed
    assert.ok(await until(async () => (await subscribed()).length === 0), 'the upstream stays subscribed for a session that may no longer read the resource')
    await sleep(300)
    assert.equal(updated.length, 1, 'an update of a resource the narrowed mapping no longer allows reached the session')
    assert.match(s.logs(), /dropped 1 resource subscription\(s\) whose credential may no longer read the resource/)
    await assert.rejects(c.readResource({uri: 'fixture://counter'}), /403|insufficient_scope|Unknown resource/, 'and its next request is held to the new mapping too')
  })

  it('a reload that narrows proxy.scope-map tells a live session its tool list changed; one that unmaps its only group closes it', async () => {
    await cli(['config', 'set', 'auth.methods', 'api-key,proxy-header'])
    await cli(['config', 'set', 'proxy.trusted-cidrs', '127.0.0.1/32,::ffff:127.0.0.1/128'])
    await cli(['config', 'set', 'proxy.scope-map.admins', 'full'])
    const s = await serve()
    const c = await httpClient(s.url, {'x-forwarded-user': 'bob', 'x-forwarded-groups': 'admins'})
    clients.push(c)
    let changed = 0
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++)
    assert.equal((await toolNames(c)).length, 4)
    changed = 0
    const reloads = () => s.logs().match(/reloaded /g)?.length ?? 0
    let before = reloads()
    await cli(['config', 'set', 'proxy.scope-map.admins', 'echo'])
    assert.ok(await until(() => reloads() > before), 'serve did not reload')
    assert.ok(await until(() => changed > 0), 'the session was not told its tool list changed')
    assert.deepEqual(await toolNames(c), ['echo'])
    before = reloads()
    await cli(['config', 'set', 'proxy.scopes', 'echo'])
    await cli(['config', 'unset', 'proxy.scope-map.admins'])
    assert.ok(await until(() => reloads() >= before + 2), 'serve did not reload')
    assert.doesNotMatch(s.logs(), /closed \d+ session/, 'still admitted (proxy.scopes): the session is kept')
    await cli(['config', 'unset', 'proxy.scopes'])
    assert.ok(await until(() => /closed 1 session\(s\) or listen stream\(s\) whose credential is no longer valid/.test(s.logs())), 'the session of a user the settings no longer admit was kept open')
  })

  it('proxy-header is refused from an untrusted address, and maps a trusted one to scopes', async () => {
    await cli(['config', 'set', 'auth.methods', 'api-key,proxy-header'])
    await cli(['config', 'set', 'proxy.trusted-cidrs', '10.0.0.0/8'])
    await cli(['config', 'set', 'proxy.scopes', 'echo'])
    await cli(['config', 'set', 'proxy.scope-map.admins', 'full'])
    const s = await serve()
    const refused = await post(s.url, INITIALIZE, {'x-forwarded-user': 'alice'})
    assert.equal(refused.status, 401)
    assert.equal(JSON.parse(refused.text).error.data.reason, 'untrusted_proxy')
    await cli(['config', 'set', 'proxy.trusted-cidrs', '127.0.0.1/32,::ffff:127.0.0.1/128'])
    await sleep(400)
    const c = await httpClient(s.url, {'x-forwarded-user': 'alice'})
    clients.push(c)
    assert.deepEqual(await toolNames(c), ['echo'])
    const admin = await httpClient(s.url, {'x-forwarded-user': 'bob', 'x-forwarded-groups': 'staff,admins'})
    clients.push(admin)
    assert.equal((await toolNames(admin)).length, 4)
    // A proxy that appends rather than replaces passes a client's own groups header on beside its
    // own: refused, not joined into a list that grants what the client named.
    for (const headers of [{'x-forwarded-user': 'alice', 'x-forwarded-groups': ['staff', 'admins']}, {'x-forwarded-user': ['alice', 'alice']}]) {
      const twice = await new Promise<{status: number; text: string}>((resolve, reject) => {
        const body = JSON.stringify(INITIALIZE)
        const req = request(s.url, {method: 'POST', headers: {...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream'}}, (res) => {
          let text = ''
          res.setEncoding('utf8').on('data', (d: string) => (text += d))
          res.on('end', () => resolve({status: res.statusCode ?? 0, text}))
        })
        req.on('error', reject)
        req.end(body)
      })
      assert.equal(twice.status, 401, JSON.stringify(headers))
      assert.match(twice.text, /more than once/)
    }
  })
})

describe('serve flags for settings that take a name', function () {
  this.timeout(60_000)
  let box: Sandbox
  let issuer: OAuth2Server
  const running: RunningServe[] = []
  const clients: Client[] = []

  before(async () => {
    issuer = new OAuth2Server()
    await issuer.issuer.keys.generate('RS256')
    await issuer.start(0, '127.0.0.1')
  })
  after(() => issuer.stop())
  beforeEach(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    await Promise.all(running.splice(0).map((s) => s.stop()))
    await box.cleanup()
  })

  it('--proxy-scope-map GROUP=SCOPES and --oauth-scope-map SCOPE=SCOPES, repeatable, beat the vault for one run', async () => {
    assert.equal((await box.run(['config', 'set', 'proxy.scope-map.admins', 'echo'])).code, 0)
    const s = await startServe(box, [
      '--auth', 'api-key,oauth2,proxy-header',
      '--oauth-issuer', issuer.issuer.url!,
      '--proxy-trusted-cidrs', '127.0.0.1/32,::ffff:127.0.0.1/128',
      '--proxy-scopes', 'echo',
      '--proxy-scope-map', 'admins=full',
      '--proxy-scope-map', 'ops=get_*',
      '--oauth-scope-map', 'repo:read=get_*,hello_world',
    ])
    running.push(s)
    const as = async (headers: Record<string, string>) => {
      const c = await httpClient(s.url, headers)
      clients.push(c)
      return toolNames(c)
    }
    assert.deepEqual(await as({'x-forwarded-user': 'alice'}), ['echo'])
    assert.equal((await as({'x-forwarded-user': 'bob', 'x-forwarded-groups': 'admins'})).length, 4, 'the flag, not the vault’s admins=echo')
    assert.deepEqual(await as({'x-forwarded-user': 'carol', 'x-forwarded-groups': 'ops'}), ['echo', 'get_time'])
    const jwt = await issuer.issuer.buildToken({scopesOrTransform: (_h, p) => Object.assign(p, {aud: s.url, scope: 'repo:read', sub: 'dave'})})
    assert.deepEqual(await as(bearer(jwt)), ['get_time', 'hello_world'])
  })

  it('a NAME=VALUE flag without a name, or with a bad value, is refused with exit 2 naming it', async () => {
    const bad: [string[], RegExp][] = [
      [['--proxy-scope-map', 'admins'], /--proxy-scope-map takes NAME=VALUE \(the setting proxy\.scope-map\.NAME\)/],
      [['--ratelimit-tool', '=10/min'], /--ratelimit-tool takes NAME=VALUE/],
      [['--ratelimit-tool', 'echo=lots'], /config ratelimit\.tool\.echo: "lots" is not a rate/],
      [['--oauth-scope-map', 'repo:read=github/*'], /config oauth\.scope-map\.repo:read: .*can never match/],
    ]
    for (const [flags, message] of bad) {
      const r = await box.run(['serve', '--transport', 'http', '--port', '0', ...flags])
      assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.equal(r.stderr.trim().split('\n').length, 1)
    }
  })
})

describe('keyward config', function () {
  this.timeout(60_000)
  let box: Sandbox
  beforeEach(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
    assert.equal((await box.run(['secrets', 'set', 'S'], {input: 'v'})).code, 0)
  })
  afterEach(() => box.cleanup())

  const GOOD: [string, string][] = [
    ['auth.methods', 'api-key,oauth2,proxy-header'],
    ['server.public-url', 'https://mcp.example.com/mcp'],
    ['oauth.issuer', 'https://auth.example.com'],
    ['oauth.audience', 'https://mcp.example.com/mcp'],
    ['oauth.jwks-uri', 'https://auth.example.com/jwks'],
    ['oauth.algorithms', 'RS256,ES256,EdDSA'],
    ['oauth.introspection-url', 'https://auth.example.com/introspect'],
    ['oauth.client-id', 'keyward'],
    ['oauth.client-secret', 'secret:S'],
    ['oauth.scopes-supported', 'mcp:server:access,mcp:tool:*'],
    ['oauth.clock-skew', '30s'],
    ['oauth.introspection-cache', '5m'],
    ['oauth.scope-map.repo:read', 'github__get_*,github__list_*'],
    ['proxy.trusted-cidrs', '10.0.0.0/8,fd00::/8'],
    ['proxy.user-header', 'x-auth-request-user'],
    ['proxy.groups-header', 'x-auth-request-groups'],
    ['proxy.scopes', 'readonly'],
    ['proxy.scope-map.admins', 'full'],
  ]

  it('round-trips every key: set, get, list, unset', async () => {
    for (const [key, value] of GOOD) {
      const set = await box.run(['config', 'set', key, value, '--json'])
      assert.equal(set.code, 0, `${key}: ${set.stdout}`)
      const got = json(await box.run(['config', 'get', key, '--json']))
      assert.equal(got.source, 'vault')
      const presets: Record<string, string> = {readonly: 'get_*,list_*', full: '*,prompt:*,resource:**'}
      assert.equal(got.value, presets[value] ?? value, key)
    }
    const listed = json(await box.run(['config', 'list', '--json'])).settings.map((s: {key: string}) => s.key)
    assert.deepEqual(listed.sort(), GOOD.map(([k]) => k).sort())
    for (const [key] of GOOD) assert.equal((await box.run(['config', 'unset', key])).code, 0)
    assert.deepEqual(json(await box.run(['config', 'list', '--json'])).settings, [])
    assert.equal(json(await box.run(['config', 'get', 'oauth.clock-skew', '--json'])).value, '60s', 'the default applies again')
  })

  it('refuses bad values with exit 2, naming the key, and leaves the vault as it was', async () => {
    const before = await fs.readFile(box.vault)
    const BAD: [string, string, RegExp][] = [
      ['auth.methods', 'api-key,kerberos', /unknown method "kerberos"/],
      ['auth.methods', 'none,api-key', /none cannot be combined/],
      ['server.public-url', 'not a url', /is not a URL/],
      ['oauth.issuer', 'ftp://auth.example.com', /http:\/\/ or https:\/\//],
      ['oauth.algorithms', 'RS256,HS256', /"HS256" is not accepted/],
      ['oauth.algorithms', 'none', /"none" is not accepted/],
      ['oauth.client-secret', 'plaintext-secret', /give a vault secret as secret:NAME/],
      ['oauth.client-secret', 'secret:MISSING', /holds no secret MISSING/],
      ['oauth.clock-skew', 'a while', /is not a duration/],
      ['proxy.trusted-cidrs', '10.0.0.0/33', /is not an address or network/],
      ['proxy.scopes', 'github/*', /can never match/],
      ['oauth.client-id', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', /looks like a credential/],
      ['no.such.key', 'x', /unknown config key "no.such.key"/],
    ]
    for (const [key, value, message] of BAD) {
      const r = await box.run(['config', 'set', key, value, '--json'])
      assert.equal(r.code, 2, `${key}=${value}: ${r.stdout}`)
      assert.match(json(r).error.message, message)
      if (key !== 'no.such.key') assert.match(json(r).error.message, new RegExp(`config ${key.replace(/\./g, '\\.')}`))
    }
    assert.deepEqual(await fs.readFile(box.vault), before)
  })

  it('a value that opens something up needs --yes (exit 11 without a terminal, the vault unchanged), and says what it opens', async () => {
    const OPENING: [string, string, RegExp][] = [
      ['auth.methods', 'none', /turns authentication off/],
      ['proxy.trusted-cidrs', '0.0.0.0/0', /trusts identity headers from 0\.0\.0\.0\/0: any host there/],
      ['proxy.trusted-cidrs', '10.0.0.5/32,::/0', /trusts identity headers from ::\/0/],
      ['proxy.trusted-cidrs', '1.0.0.0/8', /from 1\.0\.0\.0\/8/],
      ['guard.patterns', 'none', /input guard's patterns off/],
      ['guard.redact', 'false', /secret redaction off/],
      ['oauth.clock-skew', '1h', /up to 1h after they expire/],
    ]
    const before = await fs.readFile(box.vault)
    for (const [key, value, opens] of OPENING) {
      const refused = await box.run(['config', 'set', key, value])
      assert.equal(refused.code, 11, `${key} ${value}: ${refused.stderr}`)
      assert.equal(refused.stderr.trim().split('\n').length, 1, 'one line')
      assert.match(refused.stderr, opens)
      assert.match(refused.stderr, new RegExp(`^keyward: config ${key.replace(/\./g, '\\.')} .*; pass --yes to set it\n$`))
      const j = await box.run(['config', 'set', key, value, '--json'])
      assert.equal(j.code, 11)
      assert.equal(json(j).error.code, 'INPUT_REQUIRED')
    }
    assert.deepEqual(await fs.readFile(box.vault), before, 'nothing was set')
    for (const [key, value, opens] of OPENING) {
      const r = await box.run(['config', 'set', key, value, '--yes', '--json'])
      assert.equal(r.code, 0, `${key} ${value}: ${r.stderr}`)
      assert.match(json(r).opens, opens)
      assert.match(r.stderr, /^keyward: warning: config /)
      assert.match(r.stderr, opens)
    }
    for (const [key, value] of [['auth.methods', 'api-key'], ['proxy.trusted-cidrs', '10.0.0.0/8,203.0.113.7,fd00::/8'], ['guard.patterns', 'traversal'], ['guard.redact', 'true'], ['oauth.clock-skew', '30s']]) {
      const r = await box.run(['config', 'set', key, value, '--json'])
      assert.equal(r.code, 0, `${key} ${value} needs no --yes: ${r.stderr}`)
      assert.equal(json(r).opens, null)
      assert.equal(r.stderr, '')
    }
  })

  it('a serve flag beats the vault for one run', async () => {
    await box.run(['config', 'set', 'auth.methods', 'oauth2'])
    const r = await box.run(['serve', '--transport', 'http', '--port', '0'], {})
    assert.equal(r.code, 2, 'oauth2 without an issuer is refused')
    assert.match(r.stderr, /oauth2 needs oauth\.issuer/)
    const s = await startServe(box, ['--auth', 'api-key'])
    try {
      assert.match(s.logs(), /auth: api_key\)/)
    } finally {
      await s.stop()
    }
  })
})
