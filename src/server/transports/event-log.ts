/**
 * One stateful session's SSE events, kept so that a client that lost the connection of a stream
 * can resume it (MCP 2025-11-25 Streamable HTTP, "Resumability and Redelivery"): a GET with the
 * `Last-Event-ID` it saw gets the events of that stream after it, and of no other stream.
 *
 * What is kept is the frame as written to the client, so results and notifications after
 * redaction, never anything else; in memory only, never on disk or in Redis, and gone with the
 * session. Bounded per session in events and bytes, oldest first: a stream that lost an event to
 * the bounds can no longer be resumed from a cursor before that event (a replay with a hole in it
 * would not be the stream). The transport drops a stream's events as soon as they are known to
 * be delivered, or when nobody resumed it in time.
 *
 * An event id is `<stream>/<n>`: the stream a random UUID (so an id is unique across the
 * session's streams, and an id seen in one session names nothing in another), n counting from 0,
 * the priming event's cursor.
 */
import {randomUUID} from 'node:crypto'

import type {JSONRPCMessage} from '@modelcontextprotocol/server'

import {sseEvent} from './exchange.js'

export interface EventLogLimits {
  maxEvents: number
  maxBytes: number
}

/** Per session. The bytes bound holds a large tool result whole; anything bigger is written but not kept. */
export const EVENT_LOG_LIMITS: EventLogLimits = {maxEvents: 1000, maxBytes: 4 * 1024 * 1024}

/** The longest Last-Event-ID worth parsing: a UUID, a slash and a count. */
const MAX_ID_LENGTH = 64

interface Entry {
  id: string
  seq: number
  frame: string
  bytes: number
  stream: LoggedStream
}

/** A stream's place in the log, held by its stream; only the log reads and writes the fields after `primingId`. */
export interface LoggedStream {
  readonly key: string
  /** The priming event's id: a cursor before the stream's first event. */
  readonly primingId: string
  next: number
  entries: Entry[]
  /** The last event the bounds (or its own size) cost this stream; 0 when none. */
  lost: number
  dropped: boolean
}

export type Replay = {stream: LoggedStream; frames: string[]} | {refused: 'unknown' | 'gap'}

export class EventLog {
  /** Every kept event, oldest first (a Map iterates in insertion order). */
  private readonly entries = new Map<string, Entry>()
  private readonly streams = new Map<string, LoggedStream>()
  private bytes = 0

  constructor(private readonly limits: EventLogLimits = EVENT_LOG_LIMITS) {}

  get size(): {events: number; bytes: number; streams: number} {
    return {events: this.entries.size, bytes: this.bytes, streams: this.streams.size}
  }

  open(): LoggedStream {
    const key = randomUUID()
    const stream: LoggedStream = {key, primingId: `${key}/0`, next: 1, entries: [], lost: 0, dropped: false}
    this.streams.set(key, stream)
    return stream
  }

  /** The event's frame, with the id it got; kept when the stream is open and the bounds allow. */
  append(stream: LoggedStream, message: JSONRPCMessage): string {
    const seq = stream.next++
    const id = `${stream.key}/${seq}`
    const frame = sseEvent(message, id)
    if (stream.dropped) return frame
    const bytes = Buffer.byteLength(frame)
    if (bytes > this.limits.maxBytes) {
      stream.lost = seq
      return frame
    }
    while (this.entries.size > 0 && (this.entries.size >= this.limits.maxEvents || this.bytes + bytes > this.limits.maxBytes)) this.evictOldest()
    const entry: Entry = {id, seq, frame, bytes, stream}
    this.entries.set(id, entry)
    stream.entries.push(entry)
    this.bytes += bytes
    return frame
  }

  /** The frames of the stream `lastEventId` belongs to, after it; refused when this session never issued it, or lost some of them. */
  after(lastEventId: string): Replay {
    if (lastEventId.length > MAX_ID_LENGTH) return {refused: 'unknown'}
    const slash = lastEventId.lastIndexOf('/')
    const stream = slash === -1 ? undefined : this.streams.get(lastEventId.slice(0, slash))
    const digits = lastEventId.slice(slash + 1)
    const seq = /^\d{1,9}$/.test(digits) ? Number(digits) : -1
    if (!stream || seq < 0 || seq >= stream.next) return {refused: 'unknown'}
    if (stream.lost > seq) return {refused: 'gap'}
    return {stream, frames: stream.entries.filter((e) => e.seq > seq).map((e) => e.frame)}
  }

  /** Forgets a stream and its events (delivered, or nobody resumed it in time). */
  drop(stream: LoggedStream): void {
    if (stream.dropped) return
    stream.dropped = true
    for (const entry of stream.entries) {
      this.entries.delete(entry.id)
      this.bytes -= entry.bytes
    }
    stream.entries = []
    this.streams.delete(stream.key)
  }

  clear(): void {
    for (const stream of [...this.streams.values()]) this.drop(stream)
  }

  private evictOldest(): void {
    const oldest = this.entries.values().next().value!
    this.entries.delete(oldest.id)
    this.bytes -= oldest.bytes
    // A stream's events are in the log in its own order, so its oldest is first in its list.
    oldest.stream.entries.shift()
    oldest.stream.lost = oldest.seq
  }
}
