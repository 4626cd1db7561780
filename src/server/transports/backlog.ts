/**
 * How much of what a server sends unasked (progress, log messages, resource updates, list
 * changes) may wait unread on one response or stream. The one place that decides it.
 *
 * Why: an upstream may send as fast as it likes (a log message up to 32 MiB, the longest line it
 * may write), a client may read as slowly as it likes or not at all, and Node never refuses a
 * write: it keeps what the socket has not taken in memory. Without a bound, a slow client and a
 * chatty (or hostile) upstream together grow keyward's memory without end. So a notification is
 * written only while less than MAX_UNREAD_BYTES wait unread on its response (the writable's own
 * count of what it holds), and dropped otherwise: at most MAX_UNREAD_BYTES, plus the one message
 * that crossed it, wait per response. The drops are counted and logged once, when the response
 * or stream ends. An answer is never dropped: a call's result always arrives. A request to the
 * client (sampling, elicitation) is not dropped either: it is refused to whoever asked (an
 * upstream gets an error), so nothing waits for an answer that cannot come.
 *
 * The check is one comparison, so a response with nothing to send unasked pays nothing.
 */

/** Per response (or stream): what may wait unread before notifications are dropped. */
export const MAX_UNREAD_BYTES = 8 * 1024 * 1024

/** What holds the bytes written and not yet taken by the client: a ServerResponse, a socket, stdout. */
export interface Sink {
  readonly writableLength: number
}

/** True when `sink` holds so much unread that a notification must not be added to it. */
export function backedUp(sink: Sink): boolean {
  return sink.writableLength >= MAX_UNREAD_BYTES
}

/** The refusal of a request to a client that does not read: the error its asker gets. */
export function backedUpError(): Error {
  return new Error(`the client is not reading what keyward sends it (over ${MAX_UNREAD_BYTES / 1048576} MiB wait unread): request not sent`)
}

/** Where a response's drops are told: what it carries (`tools/call NAME`), and the log. */
export interface DropReport {
  readonly what: string
  report(line: string): void
}

const PLAIN = /^[\w./-]{1,128}$/

/** What a request is, for a log line: its method, and the tool or prompt it names (a tool's name starts with its upstream's); only plain names, as a client chose them. */
export function describeRequest(method: unknown, params: unknown): string {
  if (typeof method !== 'string' || !PLAIN.test(method)) return 'a request'
  const name = (params as {name?: unknown} | undefined)?.name
  return typeof name === 'string' && PLAIN.test(name) ? `${method} ${name}` : method
}

/** The notifications one response or stream dropped, logged in one line when it ends; made at the first drop. */
export class Dropped {
  private count = 0

  constructor(private readonly to: DropReport) {}

  add(): void {
    this.count++
  }

  /** The response or stream is over: one line, if anything was dropped. */
  end(): void {
    if (this.count === 0) return
    const n = this.count
    this.count = 0
    this.to.report(`${n} notification${n === 1 ? '' : 's'} not sent to a client that reads too slowly (${this.to.what}): at most ${MAX_UNREAD_BYTES / 1048576} MiB may wait unread on a response`)
  }
}
