/**
 * The HTTP response that waits for one request's answer in stateless Streamable HTTP (stateful
 * sessions have resumable streams instead: session-stream.ts). Its answer is plain JSON, unless
 * something related to the request is sent first (progress, a log message): the response then
 * turns into an SSE stream that carries those and ends with the answer, as the protocol lets a
 * server choose per request. Also the SSE wire format both modes write.
 */
import type {ServerResponse} from 'node:http'

import type {JSONRPCMessage} from '@modelcontextprotocol/server'

import {backedUp, Dropped, type DropReport} from './backlog.js'

export const SSE_HEADERS = {'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no'}

/** One SSE event carrying a message; with an id when the stream is resumable. */
export function sseEvent(message: JSONRPCMessage, id?: string): string {
  return `event: message\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(message)}\n\n`
}

/**
 * The cancellation keyward gives itself for a request whose answer can reach its client no more:
 * stateless HTTP offers no resumption, so when the connection that waited for it closes;
 * stateful, when that stream was not resumed in time (session-stream.ts).
 */
export function abandoned(requestId: string | number, reason = 'the client closed the connection that waited for the answer'): JSONRPCMessage {
  return {jsonrpc: '2.0', method: 'notifications/cancelled', params: {requestId, reason}}
}

/**
 * Hands one request over (`start` returns the id to abandon it by) and resolves once its answer
 * is written or its client is gone. A client gone before the answer has the request abandoned:
 * nothing could reach it, so the work stops; that includes one gone while the request stages
 * ran, whose `close` fired before anyone listened.
 */
export function untilAnswered(res: ServerResponse, start: (answered: () => void) => number, abandon: (id: number) => void): Promise<void> {
  return new Promise((resolve) => {
    let answered = false
    const id = start(() => {
      answered = true
      resolve()
    })
    const gone = () => {
      if (!answered) abandon(id)
      resolve()
    }
    if (res.destroyed) gone()
    else res.once('close', gone)
  })
}

/** The HTTP response that waits for one request's answer. */
export class Exchange {
  private streaming = false
  private keepalive?: NodeJS.Timeout
  private dropped?: Dropped

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Record<string, string>,
    /** Where the notifications dropped for a client that does not read are told (backlog.ts). */
    private readonly drops: DropReport,
    /** Once streaming, an SSE comment this often, so that proxies keep a quiet stream open; 0: none. */
    private readonly keepAliveMs = 0,
  ) {}

  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed
  }

  /** Something related to the request (a notification): dropped while the client leaves too much unread (backlog.ts). */
  event(message: JSONRPCMessage): void {
    if (!this.open) return
    if (this.streaming && backedUp(this.res)) return this.drop()
    if (!this.streaming) {
      this.streaming = true
      this.res.writeHead(200, {...SSE_HEADERS, ...this.headers})
      if (this.keepAliveMs > 0) this.keepAlive()
    }
    this.res.write(sseEvent(message))
  }

  /** The answer: the end of the event stream, or a JSON body with `status` (a refusal before dispatch may be 400 or 404). */
  finish(message: JSONRPCMessage, status = 200): void {
    clearInterval(this.keepalive)
    if (!this.open) return
    if (this.streaming) {
      this.res.end(sseEvent(message))
      return
    }
    const body = JSON.stringify(message)
    this.res.writeHead(status, {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...this.headers})
    this.res.end(body)
  }

  abort(): void {
    clearInterval(this.keepalive)
    if (this.open) this.res.end()
  }

  private drop(): void {
    if (!this.dropped) {
      const dropped = (this.dropped = new Dropped(this.drops))
      this.res.once('close', () => dropped.end())
    }
    this.dropped.add()
  }

  private keepAlive(): void {
    this.keepalive = setInterval(() => void (this.open && !backedUp(this.res) && this.res.write(': keepalive\n\n')), this.keepAliveMs)
    this.keepalive.unref()
    this.res.once('close', () => clearInterval(this.keepalive))
  }
}

