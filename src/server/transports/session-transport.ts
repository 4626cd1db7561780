/**
 * One stateful Streamable HTTP session, as the SDK server sees it: a Transport that writes to the
 * HTTP responses waiting for it. Written against node:http directly, so a call costs one JSON
 * write; the SDK's own transport converts every request to web-standard Request and Response
 * objects and streams, which is most of its time.
 *
 * Each POSTed request waits in an exchange until its response is sent. Its answer is plain JSON,
 * unless the server sends something related to it first (progress, a log message, a request to
 * the client): the exchange then turns into an SSE stream, as the protocol lets a server choose
 * per request. Messages related to no request go to the session's GET stream, if one is open.
 * Resumption (Last-Event-ID) is not offered, so a request whose POST closes before its answer is
 * cancelled, as if its client had sent notifications/cancelled.
 */
import type {ServerResponse} from 'node:http'

import type {Transport, TransportSendOptions} from '@modelcontextprotocol/server'
import type {JSONRPCMessage, MessageExtraInfo} from '@modelcontextprotocol/server'

import {Refusal} from '../refusal.js'
import {abandoned, Exchange, SSE_HEADERS, sseEvent} from './exchange.js'

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000

export class SessionTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  private readonly exchanges = new Map<string | number, Exchange>()
  private standalone?: {res: ServerResponse; keepalive: NodeJS.Timeout}
  private closed = false

  constructor(readonly sessionId: string) {}

  async start(): Promise<void> {}

  private get headers(): Record<string, string> {
    return {'mcp-session-id': this.sessionId}
  }

  /** A POSTed message, admitted by every stage. A request waits for its answer; anything else gets 202. */
  post(message: JSONRPCMessage, res: ServerResponse, extra: MessageExtraInfo, responseHeaders: Record<string, string>): void {
    if ('method' in message && 'id' in message) {
      if (this.exchanges.has(message.id)) {
        throw Refusal.invalidRequest('duplicate_id', `Invalid Request: request id ${JSON.stringify(message.id).slice(0, 40)} is already in use in this session`)
      }
      const exchange = new Exchange(res, {...this.headers, ...responseHeaders})
      this.exchanges.set(message.id, exchange)
      // A client that goes away before its answer does not leave its exchange behind, nor its
      // request running: with no resumption offered, the answer could never reach it, and an
      // upstream call left in flight would hold the upstream's attention (traffic.ts) for nothing.
      res.once('close', () => {
        if (this.exchanges.get(message.id) !== exchange) return
        this.exchanges.delete(message.id)
        if (!this.closed) this.onmessage?.(abandoned(message.id))
      })
      this.onmessage?.(message, extra)
      return
    }
    res.writeHead(202, {...this.headers, ...responseHeaders})
    res.end()
    this.onmessage?.(message, extra)
  }

  /** GET: the stream for messages related to no request (list changes, resource updates). One at a time. */
  stream(res: ServerResponse): void {
    if (this.standalone && !this.standalone.res.writableEnded) {
      throw Refusal.protocol(409, 'stream_open', 'Conflict: this session already has an open stream')
    }
    res.writeHead(200, {...SSE_HEADERS, ...this.headers})
    res.flushHeaders()
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS)
    keepalive.unref()
    this.standalone = {res, keepalive}
    res.once('close', () => {
      clearInterval(keepalive)
      if (this.standalone?.res === res) this.standalone = undefined
    })
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return
    const isResponse = 'id' in message && ('result' in message || 'error' in message)
    const related = isResponse ? (message as {id: string | number}).id : options?.relatedRequestId
    if (related === undefined) {
      const stream = this.standalone
      if (stream && !stream.res.writableEnded) stream.res.write(sseEvent(message))
      return
    }
    const exchange = this.exchanges.get(related)
    if (!exchange) return // the client went away; nothing to deliver to
    if (isResponse) {
      this.exchanges.delete(related)
      exchange.finish(message)
    } else {
      exchange.event(message)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const exchange of this.exchanges.values()) exchange.abort()
    this.exchanges.clear()
    if (this.standalone) {
      clearInterval(this.standalone.keepalive)
      this.standalone.res.end()
      this.standalone = undefined
    }
    this.onclose?.()
  }
}
