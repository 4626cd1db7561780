/** Reading a Server-Sent Events body event by event, for the fields MCP uses (id, retry, event, data); comment lines are skipped. */
export interface SseEvent {
  id?: string
  retry?: number
  event?: string
  data: string
}

export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<string>
  private buffer = ''

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.pipeThrough(new TextDecoderStream()).getReader()
  }

  /** The next event; undefined when the stream ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n')
      if (end !== -1) {
        const block = this.buffer.slice(0, end)
        this.buffer = this.buffer.slice(end + 2)
        const event = parse(block)
        if (event) return event
        continue
      }
      const {value, done} = await this.reader.read()
      if (done) return undefined
      this.buffer += value
    }
  }

  /** Every event up to the end of the stream. */
  async rest(): Promise<SseEvent[]> {
    const events: SseEvent[] = []
    for (let e = await this.next(); e; e = await this.next()) events.push(e)
    return events
  }

  cancel(): Promise<void> {
    return this.reader.cancel()
  }
}

function parse(block: string): SseEvent | undefined {
  const event: SseEvent = {data: ''}
  const data: string[] = []
  let fields = 0
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const name = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    fields++
    if (name === 'data') data.push(value)
    else if (name === 'id') event.id = value
    else if (name === 'retry') event.retry = Number(value)
    else if (name === 'event') event.event = value
  }
  if (fields === 0) return undefined
  event.data = data.join('\n')
  return event
}

/**
 * The JSON-RPC answer in a POST's response, whichever form it came in: one JSON object, or (an
 * answer slower than the server waits before it streams) the last message of an SSE body.
 */
export function answerIn(response: {headers: Headers; text: string}): {result?: Record<string, unknown>; error?: {code: number; message: string}} {
  if (!/event-stream/.test(response.headers.get('content-type') ?? '')) return JSON.parse(response.text)
  const data = response.text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).filter((d) => d !== '')
  return JSON.parse(data.at(-1) ?? 'null')
}
