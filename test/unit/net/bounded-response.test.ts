/**
 * boundedResponse (src/net/bounded-response.ts): a body past its limit fails; an event stream is
 * limited per event, so a long stream of small events reads through, wherever the chunks split.
 */
import assert from 'node:assert/strict'

import {boundedResponse} from '../../../src/net/bounded-response.js'

/** A response whose body arrives in exactly these chunks. */
function responseOf(chunks: string[], contentType: string): Response {
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      controller.close()
    },
  })
  return new Response(body, {headers: {'content-type': contentType}})
}

const event = (n: number) => `data: ${'x'.repeat(90)}${String(n).padStart(4, '0')}\n\n`

describe('a bounded response', () => {
  it('a JSON body over the limit fails, naming what and the limit; one within it reads whole', async () => {
    await assert.rejects(boundedResponse(responseOf(['{"a":"', 'x'.repeat(2000), '"}'], 'application/json'), 1024, 'the answer').text(), /the answer was over 1 KiB, which keyward does not read/)
    assert.equal(await boundedResponse(responseOf(['{"a":', '1}'], 'application/json'), 1024, 'the answer').text(), '{"a":1}')
  })

  it('an event stream is limited per event: many small events read through, one large event fails', async () => {
    const events = Array.from({length: 100}, (_, i) => event(i))
    const whole = events.join('')
    assert.equal(await boundedResponse(responseOf(events, 'text/event-stream'), 256, 'the stream').text(), whole, 'one event per chunk')
    // Split at every offset, so that blank lines (\n\n, \r\n\r\n, a bare \r's \r\r, mixed) fall across chunks too.
    for (const separator of ['\n\n', '\r\n\r\n', '\r\r', '\n\r\n', '\r\n\n']) {
      const text = events.map((e) => e.replace('\n\n', separator)).join('')
      for (const size of [1, 2, 3, 7, 97, 1000]) {
        const chunks = Array.from({length: Math.ceil(text.length / size)}, (_, i) => text.slice(i * size, (i + 1) * size))
        assert.equal(await boundedResponse(responseOf(chunks, 'text/event-stream; charset=utf-8'), 256, 'the stream').text(), text, `chunks of ${size}, ${JSON.stringify(separator)}`)
      }
    }
    const large = `data: ${'y'.repeat(1000)}\n\n`
    await assert.rejects(boundedResponse(responseOf([event(1), large.slice(0, 500), large.slice(500)], 'text/event-stream'), 256, 'the stream').text(), /the stream was over 0.25 KiB in one event/)
  })

  it('a body that ends its lines with single newlines only is one event, counted whole', async () => {
    for (const end of ['\n', '\r', '\r\n']) {
      const lines = Array.from({length: 10}, () => `data: ${'z'.repeat(50)}${end}`)
      await assert.rejects(boundedResponse(responseOf(lines, 'text/event-stream'), 256, 'the stream').text(), /over/, JSON.stringify(end))
    }
  })
})
