/**
 * An SSE stream of a stateful session that a client can resume: the answer to one POSTed
 * request, or the session's GET stream. Its events get ids and are kept in the session's event
 * log (event-log.ts); the connection that carries the stream may change: a client that lost it
 * reconnects with GET and `Last-Event-ID` and gets the events it missed, then the rest live.
 *
 * A request's answer stays one JSON object when it comes quickly. For a client of MCP 2025-11-25
 * (which reads a priming event: an id and empty data), a request not answered within
 * STREAM_AFTER_MS, or with something to send before its answer, gets a stream that opens with a
 * priming event, so the client has a cursor to resume from even before the first message, and
 * the `retry` it should wait before reconnecting. An older client gets a stream only for a
 * message before the answer, without priming, as before; its events get ids all the same.
 *
 * The spec says a disconnection is not a cancellation: a stream whose connection closes is kept
 * RESUME_WINDOW_MS for a resumption, its events with it, before its events are dropped and, if
 * it has no answer yet, its request cancelled (as if the client had sent
 * notifications/cancelled). A request whose connection closes before any stream started has no
 * cursor to resume from, so it is cancelled at once.
 */
import type {ServerResponse} from 'node:http'

import type {JSONRPCMessage} from '@modelcontextprotocol/server'

import {backedUp, backedUpError, Dropped} from './backlog.js'
import type {EventLog, LoggedStream} from './event-log.js'
import {SSE_HEADERS} from './exchange.js'

/** What the client is told to wait before it reconnects (the SSE `retry` field of the priming event). */
export const RETRY_MS = 1000
/** How long a stream whose connection closed (its answer written or not) is kept for a resumption. */
export const RESUME_WINDOW_MS = 10_000
/** A 2025-11-25 client's request not answered within this gets a primed stream; a quicker answer is plain JSON. */
export const STREAM_AFTER_MS = 20
/** A comment line this often keeps proxies from closing an idle GET stream. */
const KEEPALIVE_MS = 25_000

/** A write to an ended response would be an 'error' event; one to a destroyed socket goes nowhere. */
function writable(res: ServerResponse): boolean {
  return !res.writableEnded && !res.destroyed
}

export interface StreamOwner {
  readonly log: EventLog
  /** How long a stream whose connection closed waits to be resumed (RESUME_WINDOW_MS but in tests). */
  readonly resumeWindowMs: number
  /** The stream has an id in the log: a Last-Event-ID may name it from now on. */
  opened(stream: SessionStream): void
  /** The stream is over: delivered, or not resumed in time (`answered` false: its request is still running). */
  gone(stream: SessionStream, answered: boolean): void
  /** Where the count of notifications dropped for a client that does not read is told (backlog.ts). */
  report(line: string): void
}

export class SessionStream {
  private res?: ServerResponse
  private logged?: LoggedStream
  private startTimer?: NodeJS.Timeout
  private keepalive?: NodeJS.Timeout
  private expiry?: NodeJS.Timeout
  private answered = false
  private done = false
  private dropped?: Dropped

  private constructor(
    private readonly owner: StreamOwner,
    /** Whether the client reads a priming event (MCP 2025-11-25 and later). */
    private readonly prime: boolean,
    private headers: Record<string, string>,
    /** What the stream carries, for a log line: `tools/call NAME`, the session's GET stream. */
    private readonly what: string,
    /** The JSON-RPC id of the request whose answer this stream carries; none for the GET stream. */
    readonly requestId?: string | number,
  ) {}

  /** The answer to a POSTed request (`what` it is, for a log line), on that POST's response. */
  static forRequest(owner: StreamOwner, requestId: string | number, what: string, res: ServerResponse, headers: Record<string, string>, prime: boolean): SessionStream {
    const stream = new SessionStream(owner, prime, headers, what, requestId)
    stream.connect(res)
    if (prime) stream.startTimer = setTimeout(() => stream.start(), STREAM_AFTER_MS)
    return stream
  }

  /** The session's GET stream for messages related to no request, started at once. */
  static standalone(owner: StreamOwner, res: ServerResponse, headers: Record<string, string>, prime: boolean): SessionStream {
    const stream = new SessionStream(owner, prime, headers, "the session's GET stream")
    stream.connect(res)
    stream.start()
    if (!prime) res.flushHeaders()
    stream.startKeepalive(res)
    return stream
  }

  get key(): string | undefined {
    return this.logged?.key
  }

  /** True while a connection carries the stream. */
  get connected(): boolean {
    return this.res !== undefined
  }

  /**
   * A message of this stream; `answer` for the request's answer, its last. While the client
   * leaves too much unread on the connection (backlog.ts), a notification is dropped (not kept
   * for a resumption either: it gets no id, so a replay has no hole) and a request to the client
   * throws, refused to its asker; an answer always goes.
   */
  send(message: JSONRPCMessage, answer = false): void {
    if (this.done || this.answered) return
    if (!answer && this.res && backedUp(this.res)) {
      if ('id' in message) throw backedUpError()
      return void (this.dropped ??= new Dropped({what: this.what, report: (line) => this.owner.report(line)})).add()
    }
    if (!this.logged) {
      if (answer) return this.answerWithJson(message)
      this.start()
    }
    const frame = this.owner.log.append(this.logged!, message)
    this.answered = answer
    // The answer ends what can be dropped: the count is told now, not when the stream is forgotten.
    if (answer) this.dropped?.end()
    const res = this.res
    if (!res || !writable(res)) return // kept for a resumption
    if (answer) res.end(frame)
    else res.write(frame)
  }

  /** Carries on on `res` (a GET with Last-Event-ID): the frames the client missed, then the rest live. */
  resume(res: ServerResponse, frames: string[], headers: Record<string, string>): void {
    this.stopTimers()
    const previous = this.res
    this.headers = headers
    this.connect(res)
    // The client gave up on the earlier connection, or it would not have come back.
    if (previous && writable(previous)) previous.end()
    res.writeHead(200, {...SSE_HEADERS, ...headers})
    if (this.answered) {
      res.end(frames.join(''))
      return
    }
    if (frames.length > 0) res.write(frames.join(''))
    else res.flushHeaders()
    this.startKeepalive(res)
  }

  /** The session ended: the connection is ended, the events dropped. */
  close(): void {
    this.done = true
    this.dropped?.end()
    this.stopTimers()
    if (this.logged) this.owner.log.drop(this.logged)
    const res = this.res
    this.res = undefined
    if (res && writable(res)) res.end()
  }

  private connect(res: ServerResponse): void {
    this.res = res
    res.once('close', () => this.connectionClosed(res))
  }

  /** The stream begins on the current connection: SSE headers, and for a 2025-11-25 client the priming event. */
  private start(): void {
    clearTimeout(this.startTimer)
    this.logged = this.owner.log.open()
    this.owner.opened(this)
    const res = this.res!
    res.writeHead(200, {...SSE_HEADERS, ...this.headers})
    if (this.prime) res.write(`id: ${this.logged.primingId}\nretry: ${RETRY_MS}\ndata: \n\n`)
  }

  private answerWithJson(message: JSONRPCMessage): void {
    this.answered = true
    this.stopTimers()
    const body = JSON.stringify(message)
    const res = this.res
    if (res && writable(res)) {
      res.writeHead(200, {'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...this.headers})
      res.end(body)
    }
    this.finish(true)
  }

  private connectionClosed(res: ServerResponse): void {
    if (this.res !== res) return // an earlier connection, replaced by a resumption
    this.res = undefined
    this.stopTimers()
    if (this.done) return
    // Closed before the stream began: the client has no cursor to resume from.
    if (!this.logged) return this.finish(false)
    // Even a stream whose answer was written may be resumed: a write the server saw finish may
    // still be lost with a connection the client had already dropped.
    this.expiry = setTimeout(() => this.finish(this.answered), this.owner.resumeWindowMs)
    this.expiry.unref()
  }

  private finish(answered: boolean): void {
    if (this.done) return
    this.done = true
    this.dropped?.end()
    this.stopTimers()
    if (this.logged) this.owner.log.drop(this.logged)
    this.owner.gone(this, answered)
  }

  private startKeepalive(res: ServerResponse): void {
    clearInterval(this.keepalive)
    this.keepalive = setInterval(() => writable(res) && !backedUp(res) && res.write(': keepalive\n\n'), KEEPALIVE_MS)
    this.keepalive.unref()
  }

  private stopTimers(): void {
    clearTimeout(this.startTimer)
    clearTimeout(this.expiry)
    clearInterval(this.keepalive)
  }
}
