/**
 * Stateless Streamable HTTP without rebuilding the server per request. The SDK's stateless
 * pattern builds a new server and transport for every POST (its transport refuses reuse,
 * because request ids from different clients would collide). Here one Server is connected to
 * a transport that gives each inbound request a private id and maps the response back, so ids
 * cannot collide and the server is built once.
 *
 * A client may only touch its own requests: a cancellation names a request by the id its
 * client gave it, and is matched only among that principal's requests in flight. A request whose
 * POST closes before its answer is cancelled.
 *
 * What the server sends related to a request (progress, log messages) goes on that request's
 * POST, which then becomes an event stream ending with the answer (exchange.ts), when the request
 * accepts `text/event-stream`. A request the server makes of the client (sampling, elicitation,
 * roots) is refused at once: without a session, the client's answer could not find its way back.
 *
 * What the server declares in `initialize` (its authentication) can change on a reload: a new
 * declaration gets a new shared server, as 2026-07-28 requests do (shared-servers.ts), and a
 * cancellation reaches a request wherever it runs, on the new server or on one still finishing.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {Server} from '@modelcontextprotocol/server'
import type {Transport, TransportSendOptions} from '@modelcontextprotocol/server'
import type {JSONRPCMessage, JSONRPCNotification, JSONRPCRequest, MessageExtraInfo} from '@modelcontextprotocol/server'

import type {RequestContext} from '../context.js'
import {authInfoFor} from '../mcp.js'
import {RPC} from '../refusal.js'
import type {Logger} from '../log.js'
import {describeRequest} from './backlog.js'
import {abandoned, Exchange, untilAnswered} from './exchange.js'
import type {HttpDispatch} from './http.js'
import {sendJson} from './respond.js'
import {Retirement, SharedServers, type SharedDispatcher} from './shared-servers.js'

type Reply = Extract<JSONRPCMessage, {id: string | number}> & ({result: unknown} | {error: unknown})

/** Where a request's answer goes: its JSON body, or an event stream that ends with it. */
export interface ReplyTo {
  /** Something related to the request; absent when the request does not take an event stream. */
  event?(message: JSONRPCMessage): void
  finish(reply: Reply): void
}

interface InFlight {
  owner: string
  clientId: string | number
  reply: ReplyTo
}

export class StatelessDispatcher implements Transport, SharedDispatcher {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  private nextId = 0
  private readonly pending = new Map<number, InFlight>()
  /** `owner \0 client id` -> private id, for cancellations. */
  private readonly byClient = new Map<string, number>()
  private readonly retirement = new Retirement(() => this.pending.size === 0, () => this.close())

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.pending.clear()
    this.byClient.clear()
    this.onclose?.()
  }

  retire(closed: () => void): void {
    this.retirement.retire(closed)
  }

  /**
   * Answers go back to the HTTP request that asked, and what relates to it on its event stream;
   * a request to the client is refused at once, as a stateless server has no way to hear back.
   */
  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('method' in message && 'id' in message) {
      const refusal = 'stateless HTTP has no way back to the client: requests to it (sampling, elicitation, roots) are refused'
      queueMicrotask(() => this.onmessage?.({jsonrpc: '2.0', id: message.id, error: {code: RPC.METHOD_NOT_FOUND, message: refusal}}))
      return
    }
    if (!('id' in message) || !('result' in message || 'error' in message)) {
      const related = options?.relatedRequestId
      const entry = typeof related === 'number' ? this.pending.get(related) : undefined
      entry?.reply.event?.(message)
      return
    }
    const privateId = message.id as number
    const entry = this.pending.get(privateId)
    if (!entry) return
    this.forget(privateId, entry)
    entry.reply.finish({...(message as Reply), id: entry.clientId})
    this.retirement.check()
  }

  /** Hands one request to the server under a private id, which it returns (what `abandon` takes). */
  request(message: JSONRPCRequest, extra: MessageExtraInfo, owner: string, reply: ReplyTo): number {
    const id = ++this.nextId
    this.pending.set(id, {owner, clientId: message.id, reply})
    this.byClient.set(`${owner}\0${message.id}`, id)
    this.onmessage?.({...message, id}, extra)
    return id
  }

  /**
   * The client closed the connection that waited for a request's answer: the request is cancelled, and nothing is sent.
   * By private id: clients sharing a key may reuse each other's request ids, and one's POST closing must not cancel another's.
   */
  abandon(privateId: number): void {
    const entry = this.pending.get(privateId)
    if (!entry) return
    this.forget(privateId, entry)
    this.onmessage?.(abandoned(privateId))
    this.retirement.check()
  }

  /** Drops a request; its client id names it for cancellations only while no later request of the owner took that id. */
  private forget(privateId: number, entry: InFlight): void {
    this.pending.delete(privateId)
    const key = `${entry.owner}\0${entry.clientId}`
    if (this.byClient.get(key) === privateId) this.byClient.delete(key)
  }

  /** A client's notification. Cancellation is translated to the private id of the owner's own request, or dropped. */
  notify(message: JSONRPCNotification, extra: MessageExtraInfo, owner: string): void {
    if (message.method === 'notifications/cancelled') {
      const requestId = (message.params as {requestId?: unknown} | undefined)?.requestId
      const privateId = typeof requestId === 'string' || typeof requestId === 'number' ? this.byClient.get(`${owner}\0${requestId}`) : undefined
      if (privateId === undefined) return
      this.onmessage?.({...message, params: {...message.params, requestId: privateId}}, extra)
      // The server sends nothing for a cancelled request; the client's POST still needs an answer.
      const entry = this.pending.get(privateId)
      if (entry) void this.send({jsonrpc: '2.0', id: privateId, error: {code: RPC.REQUEST_CANCELLED, message: 'Request cancelled'}})
      return
    }
    // Progress names a token of a request the server made; a stateless server makes none.
    if (message.method === 'notifications/progress') return
    this.onmessage?.(message, extra)
  }
}

/** Where one POSTed request's answer goes: JSON, or an event stream when it takes one and something relates to it first. */
function replyTo(ctx: RequestContext, res: ServerResponse, log: Logger): ReplyTo {
  const accept = ctx.headers.accept?.join(',') ?? ''
  if (!accept.includes('text/event-stream')) return {finish: (reply) => sendJson(res, 200, reply, ctx.responseHeaders)}
  const {method, params} = ctx.message!
  const exchange = new Exchange(res, ctx.responseHeaders, {what: describeRequest(method, params), report: (line) => log('warn', line)})
  return {event: (message) => exchange.event(message), finish: (reply) => exchange.finish(reply)}
}

export interface StatelessServing {
  /** A fresh server for all stateless 2025 requests. */
  createServer(): Server
  /** What it declares that may change while serving, as text: when it changes, the next request gets a new server. */
  declaration(): string
  log: Logger
}

export function statelessDispatch(serving: StatelessServing): HttpDispatch {
  const servers = new SharedServers(serving.declaration, async () => {
    const dispatcher = new StatelessDispatcher()
    await serving.createServer().connect(dispatcher)
    return dispatcher
  })
  return {
    async dispatch(ctx: RequestContext, _req: IncomingMessage, res: ServerResponse) {
      const message = ctx.message!.json
      const shared = servers.dispatcherFor('2025', ctx.runtime)
      const dispatcher = shared instanceof StatelessDispatcher ? shared : await shared
      const extra = {authInfo: authInfoFor(ctx.principal!, ctx.runtime)}
      const owner = ctx.principal!.id
      if ('method' in message && 'id' in message) {
        const reply = replyTo(ctx, res, serving.log)
        await untilAnswered(
          res,
          (answered) => dispatcher.request(message as JSONRPCRequest, extra, owner, {event: reply.event, finish: (r) => (answered(), reply.finish(r))}),
          (id) => dispatcher.abandon(id),
        )
        return
      }
      // A cancellation names a request that may still run on a server retired by a reload.
      if ('method' in message) for (const d of message.method === 'notifications/cancelled' ? servers.live() : [dispatcher]) d.notify(message as JSONRPCNotification, extra, owner)
      sendJson(res, 202, undefined, ctx.responseHeaders)
    },
    close: () => servers.close(),
  }
}
