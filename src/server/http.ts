/**
 * The Streamable HTTP front. Per request: guard (Host/Origin, query), admission chain, session
 * binding, then the MCP transport. Stateful mode keeps one SDK server and transport per
 * session, bound to the principal that opened it; stateless mode shares one server.
 */
import {randomUUID} from 'node:crypto'
import {createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse} from 'node:http'

import type {Server} from '@modelcontextprotocol/sdk/server/index.js'
import type {StreamableHTTPServerTransport} from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import {
  isInitializeRequest,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  isJSONRPCErrorResponse,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js'

import {KeywardError} from '../errors/index.js'
import {Rejection, type Chains} from './chain.js'
import {allowedHosts, credentialFrom, guardRequest} from './http-guard.js'
import type {Logger} from './log.js'
import {authInfoFor} from './mcp.js'
import type {Principal} from './principal.js'
import {StatelessDispatcher} from './stateless.js'
import {UNAUTHORIZED_CODE} from './admitted-transport.js'
import {MCP_PATH} from './defaults.js'

const MAX_BODY_BYTES = 4 * 1024 * 1024
const SESSION_IDLE_MS = 30 * 60_000
const MAX_SESSIONS = 10_000
/** One key cannot hold more; its least recently used session is closed to make room. */
const MAX_SESSIONS_PER_PRINCIPAL = 64

export interface HttpOptions {
  host: string
  port: number
  stateless: boolean
  allowedHosts: string[]
  chains: Chains
  createServer: () => Server
  log: Logger
  /** Whether the principal's key is still usable; sessions of keys that are not are closed on reload. */
  stillValid: (principal: Principal) => boolean
}

interface Session {
  transport: StreamableHTTPServerTransport
  server: Server
  principal: Principal
  lastSeen: number
}

export interface HttpFront {
  url: string
  port: number
  /** Closes sessions whose key was revoked, expired or removed. */
  pruneSessions(): void
  close(): Promise<void>
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, {
    ...(body === undefined ? {} : {'content-type': 'application/json'}),
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

function sendRpcError(res: ServerResponse, status: number, code: number, message: string, data?: unknown, headers?: Record<string, string>): void {
  send(res, status, {jsonrpc: '2.0', error: {code, message, ...(data === undefined ? {} : {data})}, id: null}, headers)
}

function sendRejection(res: ServerResponse, rejection: Rejection): void {
  const headers: Record<string, string> = {}
  if (rejection.status === 401) {
    headers['www-authenticate'] =
      rejection.reason === 'missing'
        ? 'Bearer realm="keyward"'
        : `Bearer realm="keyward", error="invalid_token", error_description="${rejection.message.replace(/"/g, "'")}"`
  }
  const code = rejection.status === 401 ? UNAUTHORIZED_CODE : -32000
  sendRpcError(res, rejection.status, code, rejection.message, {reason: rejection.reason}, headers)
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new Rejection(413, 'too_large', `Payload Too Large: the body exceeds ${MAX_BODY_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    return PARSE_ERROR
  }
}

const PARSE_ERROR = Symbol('parse error')

export async function startHttp(options: HttpOptions): Promise<HttpFront> {
  const {StreamableHTTPServerTransport} = await import('@modelcontextprotocol/sdk/server/streamableHttp.js')
  const sessions = new Map<string, Session>()
  let hosts: string[] = []
  let dispatcher: StatelessDispatcher | undefined
  if (options.stateless) {
    dispatcher = new StatelessDispatcher()
    await options.createServer().connect(dispatcher)
  }

  async function openSession(req: IncomingMessage, res: ServerResponse, body: unknown, principal: Principal): Promise<void> {
    evictOldestSession(principal)
    if (sessions.size >= MAX_SESSIONS) {
      sendRpcError(res, 503, -32000, 'Service Unavailable: too many open sessions; retry later')
      return
    }
    const server = options.createServer()
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, {transport, server, principal, lastSeen: Date.now()})
      },
      onsessionclosed: (id) => {
        sessions.delete(id)
      },
    })
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId)
    }
    await server.connect(transport)
    await transport.handleRequest(req, res, body)
  }

  async function stateful(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    ;(req as IncomingMessage & {auth?: unknown}).auth = authInfoFor(principal)
    const sessionId = req.headers['mcp-session-id']
    const body = req.method === 'POST' ? await readJsonBody(req) : undefined
    if (body === PARSE_ERROR) return sendRpcError(res, 400, -32700, 'Parse error: body is not valid JSON')
    if (typeof sessionId !== 'string') {
      if (req.method === 'POST' && isInitializeRequest(body)) return openSession(req, res, body, principal)
      return sendRpcError(res, 400, -32000, 'Bad Request: no valid session id; start with an initialize request')
    }
    const session = sessions.get(sessionId)
    // A session presented with another credential is, to that caller, a session that does not exist.
    if (!session || session.principal.id !== principal.id) return sendRpcError(res, 404, -32001, 'Session not found')
    session.lastSeen = Date.now()
    await session.transport.handleRequest(req, res, body)
  }

  async function stateless(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    if (req.method !== 'POST') return send(res, 405, {jsonrpc: '2.0', error: {code: -32000, message: 'Method not allowed: this server is stateless'}, id: null}, {allow: 'POST'})
    const accept = req.headers.accept ?? ''
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return sendRpcError(res, 406, -32000, 'Not Acceptable: Accept must include application/json and text/event-stream')
    }
    if (!(req.headers['content-type'] ?? '').includes('application/json')) {
      return sendRpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json')
    }
    const version = req.headers['mcp-protocol-version']
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      return sendRpcError(res, 400, -32000, `Bad Request: unsupported MCP-Protocol-Version ${version}`)
    }
    const body = await readJsonBody(req)
    if (body === PARSE_ERROR) return sendRpcError(res, 400, -32700, 'Parse error: body is not valid JSON')
    const extra = {authInfo: authInfoFor(principal)}
    if (isJSONRPCRequest(body)) {
      const reply = await dispatcher!.request(body, extra)
      return send(res, 200, reply)
    }
    if (isJSONRPCNotification(body)) {
      dispatcher!.notify(body, extra)
      return send(res, 202, undefined)
    }
    if (isJSONRPCResultResponse(body) || isJSONRPCErrorResponse(body)) return send(res, 202, undefined)
    return sendRpcError(res, 400, -32600, 'Invalid Request: expected one JSON-RPC request or notification')
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const pathname = q === -1 ? url : url.slice(0, q)
    if (pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return send(res, 200, {status: 'ok'})
    if (pathname !== MCP_PATH) return send(res, 404, {error: 'not found', mcp: MCP_PATH})
    try {
      guardRequest(req, q === -1 ? '' : url.slice(q + 1), hosts)
      const principal = await options.chains.admit({transport: 'http', credential: credentialFrom(req)})
      await (options.stateless ? stateless(req, res, principal) : stateful(req, res, principal))
    } catch (err) {
      if (!(err instanceof Rejection)) throw err
      // Facts only: never the credential.
      options.log('info', `refused ${req.method} ${pathname} from ${req.socket.remoteAddress ?? '?'}: ${err.status} ${err.reason}`)
      return sendRejection(res, err)
    }
  }

  const http: HttpServer = createServer((req, res) => {
    handle(req, res).catch((err) => {
      options.log('error', `request failed (${(err as Error).name})`)
      sendRpcError(res, 500, -32603, 'Internal error')
    })
  })

  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message)
      reject(new KeywardError('LISTEN_FAILED', `cannot listen on ${options.host}:${options.port}: ${why}; pick another --port or --host`))
    }
    http.once('error', fail)
    http.listen(options.port, options.host, () => {
      http.off('error', fail)
      resolve()
    })
  })
  const address = http.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  hosts = allowedHosts(options.host, port, options.allowedHosts)

  const sweep = setInterval(() => {
    const cutoff = Date.now() - SESSION_IDLE_MS
    for (const [id, session] of sessions) if (session.lastSeen < cutoff) closeSession(id, session)
  }, 60_000)
  sweep.unref()

  function evictOldestSession(principal: Principal): void {
    let count = 0
    let oldest: [string, Session] | undefined
    for (const entry of sessions) {
      if (entry[1].principal.id !== principal.id) continue
      count++
      if (!oldest || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry
    }
    if (oldest && count >= MAX_SESSIONS_PER_PRINCIPAL) closeSession(...oldest)
  }

  function closeSession(id: string, session: Session): void {
    sessions.delete(id)
    void session.transport.close().catch(() => {})
    void session.server.close().catch(() => {})
  }

  const displayHost = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${displayHost}:${port}${MCP_PATH}`,
    port,
    pruneSessions() {
      for (const [id, session] of sessions) if (!options.stillValid(session.principal)) closeSession(id, session)
    },
    async close() {
      clearInterval(sweep)
      for (const [id, session] of sessions) closeSession(id, session)
      await dispatcher?.close()
      await new Promise<void>((resolve) => {
        http.close(() => resolve())
        http.closeIdleConnections()
        setTimeout(() => http.closeAllConnections(), 2000).unref()
      })
    },
  }
}
