/**
 * A real OAuth issuer for the upstream OAuth tests (oauth2-mock-server), made to behave like a
 * strict one: tokens carry the `resource` asked for as their audience (RFC 8707) and the scope of
 * the authorization request; refresh tokens rotate and a spent one is refused (invalid_grant).
 * Its discovery document also lists client_secret_basic and private_key_jwt, the refresh token
 * grant, and a registration endpoint (RFC 7591) that this wrapper answers. It records every token
 * it issues (to look for leaks), every grant, registration and revocation.
 */
import {randomBytes, randomUUID} from 'node:crypto'
import http, {type IncomingMessage} from 'node:http'
import type {AddressInfo} from 'node:net'

import {importSPKI, jwtVerify} from 'jose'
import {OAuth2Server} from 'oauth2-mock-server'

type Body = Record<string, string | undefined>
type TokenReq = IncomingMessage & {body: Body}

export class TestIssuer {
  readonly server = new OAuth2Server()
  private http?: http.Server
  readonly registrations: Record<string, unknown>[] = []
  /** Access token lifetime in seconds, for the tokens issued from now on. */
  ttl = 3600
  /** Every token value issued: none may appear in anything keyward prints. */
  readonly issued: string[] = []
  readonly grants: {grant: string; refreshToken?: string; clientId?: string; assertion?: string; basic?: string; resource?: string; at: number}[] = []
  readonly revoked: {token?: string; hint?: string}[] = []
  /** The jti of the newest access token. */
  lastJti?: string
  /** The jti of each access token issued, with the client it was issued to (client_credentials: the Basic user or the assertion's issuer). */
  readonly jtis: {jti: string; grant: string}[] = []
  /** A hostile (or careless) authorization server: refuses every refresh with an error whose description echoes the refresh token. */
  echoRefresh = false
  /** The token_type of the token answers from now on (null: left out); undefined: the mock's own, Bearer. */
  tokenType: string | null | undefined
  /** How long the token endpoint takes to answer (ms): a slow authorization server. */
  tokenDelayMs = 0
  /** For client assertions: the client's public key (PEM). */
  clientPublicKey?: string
  private readonly scopeOfCode = new Map<string, string | undefined>()
  private readonly scopeOfRefresh = new Map<string, string | undefined>()
  private readonly spent = new Set<string>()

  get url(): string {
    return this.server.issuer.url!
  }

  async start(): Promise<void> {
    await this.server.issuer.keys.generate('RS256')
    const service = this.server.service
    this.http = http.createServer((req, res) => void this.route(req, res))
    await new Promise<void>((resolve) => this.http!.listen(0, '127.0.0.1', () => resolve()))
    this.server.issuer.url = `http://localhost:${(this.http.address() as AddressInfo).port}`
    service.on('beforeAuthorizeRedirect', (redirect: {url: URL}, req: IncomingMessage & {query: Body}) => {
      this.scopeOfCode.set(redirect.url.searchParams.get('code')!, req.query.scope)
    })
    service.on('beforeTokenSigning', (token: {payload: Record<string, unknown>}, req: TokenReq) => {
      const body = req.body
      if (body.resource) token.payload.aud = body.resource
      token.payload.exp = Math.floor(Date.now() / 1000) + this.ttl
      token.payload.jti = randomUUID()
      const scope = this.scopeFor(body)
      if (scope !== undefined) token.payload.scope = scope
    })
    service.on('beforeResponse', (response: {body: Record<string, unknown>; statusCode: number}, req: TokenReq) => void this.respond(response, req))
  }

  private async route(req: IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      const document = await fetch(`http://127.0.0.1:${(this.http!.address() as AddressInfo).port}/.well-known/mock-openid-configuration`).then((r) => r.json() as Promise<Record<string, unknown>>)
      document.token_endpoint_auth_methods_supported = ['client_secret_basic', 'private_key_jwt', 'none']
      document.grant_types_supported = ['authorization_code', 'refresh_token', 'client_credentials']
      document.registration_endpoint = `${this.url}/register`
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(document))
      return
    }
    if (req.method === 'GET' && path === '/.well-known/mock-openid-configuration') req.url = '/.well-known/openid-configuration'
    if (req.method === 'POST' && path === '/token' && this.tokenDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.tokenDelayMs))
    if (req.method === 'POST' && path === '/revoke') {
      // The mock does not parse the form RFC 7009 prescribes: answered here.
      let form = ''
      for await (const chunk of req) form += chunk
      const params = new URLSearchParams(form)
      this.revoked.push({token: params.get('token') ?? undefined, hint: params.get('token_type_hint') ?? undefined})
      res.writeHead(200).end()
      return
    }
    if (req.method === 'POST' && path === '/register') {
      let text = ''
      for await (const chunk of req) text += chunk
      const metadata = JSON.parse(text) as Record<string, unknown>
      this.registrations.push(metadata)
      res.writeHead(201, {'content-type': 'application/json'}).end(JSON.stringify({...metadata, client_id: `dyn-${randomUUID()}`, token_endpoint_auth_method: 'none'}))
      return
    }
    this.server.service.requestHandler(req, res)
  }

  private scopeFor(body: Body): string | undefined {
    if (body.grant_type === 'authorization_code') return this.scopeOfCode.get(body.code!)
    if (body.grant_type === 'refresh_token') return this.scopeOfRefresh.get(body.refresh_token!)
    return body.scope
  }

  private respond(response: {body: Record<string, unknown>; statusCode: number}, req: TokenReq): void {
    const body = req.body
    const grant = body.grant_type ?? ''
    const record: TestIssuer['grants'][number] = {grant, refreshToken: body.refresh_token, clientId: body.client_id, assertion: body.client_assertion, basic: req.headers.authorization, resource: body.resource, at: Date.now()}
    this.grants.push(record)
    if (grant === 'refresh_token' && this.echoRefresh) {
      response.statusCode = 400
      response.body = {error: 'invalid_request', error_description: `refresh_token ${body.refresh_token} is malformed`}
      return
    }
    if (grant === 'refresh_token') {
      // Rotation: a refresh token is good once, and only one this issuer gave out.
      if (!body.refresh_token || this.spent.has(body.refresh_token) || !this.scopeOfRefresh.has(body.refresh_token)) {
        response.statusCode = 400
        response.body = {error: 'invalid_grant', error_description: 'refresh token already used or unknown'}
        return
      }
      this.spent.add(body.refresh_token)
    }
    const scope = this.scopeFor(body)
    if (this.tokenType === null) delete response.body.token_type
    else if (this.tokenType !== undefined) response.body.token_type = this.tokenType
    response.body.expires_in = this.ttl
    if (scope !== undefined) response.body.scope = scope
    else delete response.body.scope
    if (typeof response.body.refresh_token === 'string') {
      response.body.refresh_token = `rt-${randomBytes(18).toString('base64url')}`
      this.scopeOfRefresh.set(response.body.refresh_token as string, scope)
    }
    for (const name of ['access_token', 'refresh_token', 'id_token']) if (typeof response.body[name] === 'string') this.issued.push(response.body[name] as string)
    const [, payload] = String(response.body.access_token).split('.')
    this.lastJti = JSON.parse(Buffer.from(payload, 'base64url').toString()).jti
    this.jtis.push({jti: this.lastJti!, grant: this.grants.at(-1)?.grant ?? ''})
  }

  /** Checks a private_key_jwt client assertion (issued for this issuer, by `clientId`); throws if it does not hold. */
  async verifyAssertion(assertion: string, clientId: string): Promise<Record<string, unknown>> {
    const key = await importSPKI(this.clientPublicKey!, 'ES256')
    const {payload} = await jwtVerify(assertion, key, {issuer: clientId, subject: clientId, audience: [this.url, `${this.url}/`]})
    return payload
  }

  /** Makes a refresh token this issuer did not hand out through a grant good for one use (benchmarks set up state directly). */
  registerRefreshToken(token: string, scope?: string): void {
    this.scopeOfRefresh.set(token, scope)
  }

  count(grant: string): number {
    return this.grants.filter((g) => g.grant === grant).length
  }

  async stop(): Promise<void> {
    this.server.service.removeAllListeners()
    this.http?.closeAllConnections()
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()))
  }
}
