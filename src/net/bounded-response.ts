/**
 * A fetch `Response` whose body fails once it passes a limit, which also stops the transfer.
 * What a remote server sends is untrusted, and the SDK's clients read it without a bound: an
 * answer whole (JSON, an OAuth token response), an event stream event by event. Without this, a
 * hostile server streams hundreds of MiB into keyward's memory.
 *
 * An event stream may rightly run for hours, so there the limit is per event (events end at a
 * blank line: a line terminator, `\n`, `\r\n` or a bare `\r`, right after another). Any other
 * body is limited whole.
 */

/** Statuses whose response has no body (a Response made with one throws). */
const NO_BODY = new Set([101, 103, 204, 205, 304])

const LF = 0x0a
const CR = 0x0d

/** Whether byte `c` after byte `prev` ends a blank line: a line terminator right after another (`\r\n` is one terminator, not two). */
const endsBlankLine = (prev: number, c: number) => (c === LF || c === CR) && (prev === LF || (prev === CR && c === CR))

/** The end of the last blank line in `bytes` (the index after it), or -1; `before` is the byte that came before, for a blank line split across chunks. */
function lastEventEnd(bytes: Uint8Array, before: number): number {
  for (let i = bytes.length - 1; i >= 0; i--) if (endsBlankLine(i >= 1 ? bytes[i - 1] : before, bytes[i])) return i + 1
  return -1
}

/**
 * `response`, its body limited to `maxBytes` (per event for `text/event-stream`); past the limit
 * the body fails with an error naming `what` and the limit.
 */
export function boundedResponse(response: Response, maxBytes: number, what: string): Response {
  if (!response.body || NO_BODY.has(response.status)) return response
  const perEvent = /^\s*text\/event-stream/i.test(response.headers.get('content-type') ?? '')
  let counted = 0
  let before = 0
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const end = perEvent ? lastEventEnd(chunk, before) : -1
        counted = end === -1 ? counted + chunk.byteLength : chunk.byteLength - end
        if (chunk.byteLength > 0) before = chunk[chunk.byteLength - 1]
        if (counted > maxBytes) controller.error(new Error(`${what} was over ${limitText(maxBytes)}${perEvent ? ' in one event' : ''}, which keyward does not read`))
        else controller.enqueue(chunk)
      },
    }),
  )
  const out = new Response(body, {status: response.status, statusText: response.statusText, headers: response.headers})
  Object.defineProperty(out, 'url', {value: response.url})
  return out
}

function limitText(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`
}

/** A fetch as the SDK's transports take one. */
type UrlFetch = (url: string | URL, init?: RequestInit) => Promise<Response>

/** `fetchFn` with every response bounded as above. */
export function boundedFetch(fetchFn: UrlFetch, maxBytes: number, what: string): UrlFetch {
  return async (url, init) => boundedResponse(await fetchFn(url, init), maxBytes, what)
}
