/**
 * One stateful Streamable HTTP session, as the SDK server sees it: a Transport that writes to the
 * HTTP responses waiting for it. Written against node:http directly, so a call costs one JSON
 * write; the SDK's own transport converts every request to web-standard Request and Response
 * objects and streams, which is most of its time.
 *
 * Each POSTed request waits on its response for its answer, and a GET carries the messages
 * related to no request (list changes, resource updates); both are session streams
 * (session-stream.ts): a quick answer is plain JSON, anything else an SSE stream whose events
 * get ids and are kept in the session's event log (event-log.ts), so that a client that loses a
 * connection resumes the stream with GET and `Last-Event-ID`. A Last-Event-ID reaches only this
 * session's log, and the session stage has already checked that the GET's principal owns the
 * session.
 */
import type {ServerResponse} from 'node:http'

import type {Transport, TransportSendOptions} from '@modelcontextprotocol/server'
import type {JSONRPCMessage, MessageExtraInfo} from '@modelcontextprotocol/server'

import {Refusal} from '../refusal.js'
import {describeRequest} from './backlog.js'
import {EventLog, type EventLogLimits} from './event-log.js'
import {abandoned} from './exchange.js'
import {RESUME_WINDOW_MS, SessionStream, type StreamOwner} from './session-stream.js'

/** A GET's request for the session's stream: resumable clients (2025-11-25) get a priming event; `lastEventId` resumes a stream. */
export interface StreamRequest {
  prime: boolean
  lastEventId?: string
  responseHeaders: Record<string, string>
}

export class SessionTransport implements Transport, StreamOwner {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  readonly log: EventLog
  /** Requests waiting for their answer, by JSON-RPC id. */
  private readonly pending = new Map<string | number, SessionStream>()
  /** Streams a Last-Event-ID may name, by their key in the log. */
  private readonly streams = new Map<string, SessionStream>()
  private standalone?: SessionStream
  private closed = false

  readonly resumeWindowMs: number
  /** Where the notifications dropped for a client that does not read are told (backlog.ts). */
  readonly report: (line: string) => void

  constructor(
    readonly sessionId: string,
    resumption: {limits?: EventLogLimits; windowMs?: number} = {},
    report: (line: string) => void = () => {},
  ) {
    this.log = new EventLog(resumption.limits)
    this.resumeWindowMs = resumption.windowMs ?? RESUME_WINDOW_MS
    this.report = report
  }

  async start(): Promise<void> {}

  private get headers(): Record<string, string> {
    return {'mcp-session-id': this.sessionId}
  }

  /** A POSTed message, admitted by every stage. A request waits for its answer; anything else gets 202. `prime`: the client reads priming events. */
  post(message: JSONRPCMessage, res: ServerResponse, extra: MessageExtraInfo, responseHeaders: Record<string, string>, prime = false): void {
    if ('method' in message && 'id' in message) {
      if (this.pending.has(message.id)) {
        throw Refusal.invalidRequest('duplicate_id', `Invalid Request: request id ${JSON.stringify(message.id).slice(0, 40)} is already in use in this session`)
      }
      this.pending.set(message.id, SessionStream.forRequest(this, message.id, describeRequest(message.method, message.params), res, {...this.headers, ...responseHeaders}, prime))
      this.onmessage?.(message, extra)
      return
    }
    res.writeHead(202, {...this.headers, ...responseHeaders})
    res.end()
    this.onmessage?.(message, extra)
  }

  /** GET: resumes the stream `lastEventId` names, or opens the stream for messages related to no request (one at a time). */
  stream(res: ServerResponse, request: StreamRequest): void {
    const headers = {...this.headers, ...request.responseHeaders}
    if (request.lastEventId !== undefined) return this.resume(res, request.lastEventId, headers)
    if (this.standalone?.connected) {
      throw Refusal.protocol(409, 'stream_open', 'Conflict: this session already has an open stream')
    }
    // A GET without Last-Event-ID starts afresh: the earlier stream's kept events are of no more use.
    const earlier = this.standalone
    if (earlier) {
      earlier.close()
      if (earlier.key !== undefined) this.streams.delete(earlier.key)
    }
    this.standalone = SessionStream.standalone(this, res, headers, request.prime)
  }

  private resume(res: ServerResponse, lastEventId: string, headers: Record<string, string>): void {
    const replay = this.log.after(lastEventId)
    if ('refused' in replay) {
      // The same answer for an id this session never issued and one whose stream is over: nothing to tell apart.
      const why = replay.refused === 'gap' ? 'some of the events after it were dropped (the session keeps a bounded number)' : 'it names no stream of this session that can still be resumed'
      throw Refusal.protocol(400, `resume_${replay.refused}`, `Bad Request: cannot resume from Last-Event-ID: ${why}; send the request again`)
    }
    this.streams.get(replay.stream.key)!.resume(res, replay.frames, headers)
  }

  opened(stream: SessionStream): void {
    this.streams.set(stream.key!, stream)
  }

  gone(stream: SessionStream, answered: boolean): void {
    if (stream.key !== undefined) this.streams.delete(stream.key)
    if (this.standalone === stream) this.standalone = undefined
    const id = stream.requestId
    if (id === undefined) return
    if (this.pending.get(id) === stream) this.pending.delete(id)
    // Nobody is left to read the answer, and an upstream call left running would hold the upstream's attention (traffic.ts) for nothing.
    if (!answered && !this.closed) this.onmessage?.(abandoned(id, 'the client closed the connection that waited for the answer, and did not resume it'))
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return
    const isResponse = 'id' in message && ('result' in message || 'error' in message)
    const related = isResponse ? (message as {id: string | number}).id : options?.relatedRequestId
    if (related === undefined) {
      this.standalone?.send(message)
      return
    }
    const stream = this.pending.get(related)
    if (!stream) return // not resumed in time; nothing to deliver to
    if (isResponse) this.pending.delete(related)
    stream.send(message, isResponse)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const stream of this.pending.values()) stream.close()
    for (const stream of this.streams.values()) stream.close()
    this.standalone?.close()
    this.pending.clear()
    this.streams.clear()
    this.standalone = undefined
    this.log.clear()
    this.onclose?.()
  }
}
