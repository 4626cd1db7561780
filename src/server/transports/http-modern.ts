/**
 * MCP 2026-07-28 over HTTP, for the stateful and stateless modes alike. The revision has no
 * sessions, so each request is served on its own; the request stages have run (the caller is
 * authenticated, its `_meta` and headers are checked by the era stage, its rate counted).
 *
 * All requests share one SDK server, as 2025 stateless requests do (http-stateless.ts): building
 * a server and a per-request transport for each request cost half the throughput. The server is
 * bound to the revision the way the SDK binds one, by connecting it to a
 * PerRequestHTTPServerTransport; here a subclass of it (ModernDispatcher) that serves many
 * exchanges instead of one. Like the stateless dispatcher, it gives each request a private id,
 * so ids from different clients cannot collide, and sends back to a request's own HTTP response
 * only its answer, under the client's id, and what relates to it (progress, log messages),
 * which turn the response into an SSE stream. What relates to no request in flight is dropped:
 * one caller's messages never reach another's response. A request whose client closes it is
 * cancelled (the revision's cancellation). Answers keep the SDK transport's HTTP statuses: an
 * error the SDK answers before any handler runs is 400 or 404 (statusOf), and
 * MISSING_CLIENT_CAPABILITY is 400 wherever it comes from.
 *
 * What a server declares can change while serving (its authentication, in server/discover); a
 * new declaration gets a new shared server (shared-servers.ts).
 *
 * `subscriptions/listen` is served by listen.ts; a notification (the revision sends none that a
 * server acts on over HTTP) is acknowledged and dropped.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {
  PerRequestHTTPServerTransport,
  type AuthInfo,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type MessageClassification,
  type Server,
  type TransportSendOptions,
} from '@modelcontextprotocol/server'

import type {RequestContext} from '../context.js'
import {MODERN_VERSION} from '../era/protocol.js'
import {authInfoFor} from '../mcp.js'
import {RPC} from '../refusal.js'
import type {Logger} from '../log.js'
import {describeRequest} from './backlog.js'
import {abandoned, Exchange, untilAnswered} from './exchange.js'
import type {HttpDispatch} from './http.js'
import type {ListenStreams} from './listen.js'
import {sendJson} from './respond.js'
import {Retirement, SharedServers, type SharedDispatcher} from './shared-servers.js'

export interface ModernServing {
  /** A fresh server bound to nothing yet, listing the modern revision. */
  createServer(): Server
  /** What a server declares that may change while serving, as text: when it changes, the next request gets a new server. */
  declaration(): string
  listen: ListenStreams
  log: Logger
}

/** An SSE comment this often on a streaming answer, as the SDK's per-request transport sends. */
const KEEPALIVE_MS = 15_000

type Answer = Extract<JSONRPCMessage, {id: string | number}> & ({result: unknown} | {error: {code: number}})

/** Where one request's answer goes, and what relates to it. */
export interface ModernReply {
  event(message: JSONRPCMessage): void
  finish(answer: Answer, status: number): void
}

/** The HTTP statuses of the errors the SDK answers before a handler runs, as its per-request transport maps them. */
const BEFORE_HANDLER: Record<number, number> = {
  [RPC.PARSE_ERROR]: 400,
  [RPC.INVALID_REQUEST]: 400,
  [RPC.METHOD_NOT_FOUND]: 404,
  [RPC.UNSUPPORTED_PROTOCOL_VERSION]: 400,
  [RPC.MISSING_CLIENT_CAPABILITY]: 400,
  [RPC.HEADER_MISMATCH]: 400,
}

/** An answer's HTTP status: 200, but for an error the SDK gave before any handler ran, and MISSING_CLIENT_CAPABILITY (400 by the revision, wherever it comes from). */
export function statusOf(answer: Answer, beforeHandler: boolean): number {
  const code = 'error' in answer ? answer.error.code : undefined
  if (code === undefined || !(beforeHandler || code === RPC.MISSING_CLIENT_CAPABILITY)) return 200
  return BEFORE_HANDLER[code] ?? 200
}

function isAnswer(message: JSONRPCMessage): message is Answer {
  return 'id' in message && ('result' in message || 'error' in message)
}

/**
 * The transport of the shared modern server: an SDK per-request transport in kind (which is what
 * binds the server to the revision when it connects), serving every request in flight.
 */
export class ModernDispatcher extends PerRequestHTTPServerTransport implements SharedDispatcher {
  private readonly classified: MessageClassification
  private nextId = 0
  private readonly inFlight = new Map<number, {clientId: string | number; reply: ModernReply}>()
  /** True while a request is handed to the server: what it answers then, it answers before any handler ran. */
  private dispatching = false
  private readonly retirement = new Retirement(() => this.inFlight.size === 0, () => this.close())

  constructor(revision: string) {
    const classification = {era: 'modern', revision} as MessageClassification
    super({classification})
    this.classified = classification
  }

  override async start(): Promise<void> {}

  /** Not used: this transport serves requests through `request`, many at a time. */
  override handleMessage(): Promise<Response> {
    return Promise.reject(new Error('ModernDispatcher serves requests through request()'))
  }

  /** Hands one request to the server under a private id, which it returns; `reply` gets what the server sends for it. */
  request(message: JSONRPCRequest, authInfo: AuthInfo, reply: ModernReply): number {
    const id = ++this.nextId
    this.inFlight.set(id, {clientId: message.id, reply})
    this.dispatching = true
    try {
      this.onmessage?.({...message, id}, {classification: this.classified, authInfo})
    } catch (err) {
      this.inFlight.delete(id)
      throw err
    } finally {
      this.dispatching = false
    }
    return id
  }

  /** The client closed the connection that waited for a request's answer: the request is cancelled, and nothing is sent. */
  abandon(id: number): void {
    if (!this.inFlight.delete(id)) return
    this.onmessage?.(abandoned(id), {classification: this.classified})
    this.retirement.check()
  }

  /** An answer goes to its own request's response, under the client's id; a message related to a request in flight, to that request's stream; anything else nowhere. */
  override async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isAnswer(message)) {
      const entry = typeof message.id === 'number' ? this.inFlight.get(message.id) : undefined
      if (!entry) return
      this.inFlight.delete(message.id as number)
      entry.reply.finish({...message, id: entry.clientId}, statusOf(message, this.dispatching))
      this.retirement.check()
      return
    }
    const related = options?.relatedRequestId
    if (typeof related === 'number') this.inFlight.get(related)?.reply.event(message)
  }

  retire(closed: () => void): void {
    this.retirement.retire(closed)
  }

  override async close(): Promise<void> {
    this.inFlight.clear()
    this.onclose?.()
  }
}

export function modernDispatch(serving: ModernServing): HttpDispatch {
  const servers = new SharedServers(serving.declaration, async (revision) => {
    const dispatcher = new ModernDispatcher(revision)
    await serving.createServer().connect(dispatcher)
    return dispatcher
  })
  return {
    async dispatch(ctx: RequestContext, _req: IncomingMessage, res: ServerResponse) {
      const message = ctx.message!
      if (message.method === undefined || message.id === undefined) return sendJson(res, 202, undefined, ctx.responseHeaders)
      if (message.method === 'subscriptions/listen') return serving.listen.open(ctx, res)
      const shared = servers.dispatcherFor(ctx.requestMeta?.protocolVersion ?? MODERN_VERSION, ctx.runtime)
      const dispatcher = shared instanceof ModernDispatcher ? shared : await shared
      const drops = {what: describeRequest(message.method, message.params), report: (line: string) => serving.log('warn', line)}
      const exchange = new Exchange(res, ctx.responseHeaders, drops, KEEPALIVE_MS)
      // Abandoned, a held call ends with it.
      await untilAnswered(
        res,
        (answered) => {
          const finish = (answer: Answer, status: number) => (answered(), exchange.finish(answer, status))
          return dispatcher.request(message.json as JSONRPCRequest, authInfoFor(ctx.principal!, ctx.runtime), {event: (related) => exchange.event(related), finish})
        },
        (id) => dispatcher.abandon(id),
      )
    },
    close: () => servers.close(),
  }
}
