/**
 * The stdio transport's writes to a client that does not read its stdout (backlog.ts): past the
 * bound a notification is dropped and a request to the client refused; an answer always goes;
 * the drops are told in one line when the transport closes.
 */
import assert from 'node:assert/strict'
import {PassThrough, Writable} from 'node:stream'

import type {JSONRPCMessage} from '@modelcontextprotocol/server'

import type {Pipeline} from '../../../../src/server/pipeline/pipeline.js'
import {MAX_UNREAD_BYTES} from '../../../../src/server/transports/backlog.js'
import {StdioTransport} from '../../../../src/server/transports/stdio.js'

/** A stdout nobody reads: every write stays buffered in the stream. */
function unread(): Writable {
  return new Writable({highWaterMark: 16 * 1024, write: () => {}})
}

describe('server: the stdio transport, to a client that does not read', () => {
  it('drops notifications past the bound, refuses requests to the client, always writes the answer, and tells the drops once', async () => {
    const output = unread()
    const lines: string[] = []
    const transport = new StdioTransport({input: new PassThrough(), output, pipeline: {} as Pipeline, credential: () => undefined, log: (_level, line) => void lines.push(line)})
    const big = 'x'.repeat(1024 * 1024)
    const sent = 3 * (MAX_UNREAD_BYTES / big.length)
    const note = (n: number) => ({jsonrpc: '2.0', method: 'notifications/message', params: {level: 'info', data: `${n} ${big}`}}) as JSONRPCMessage
    for (let n = 0; n < sent; n++) void transport.send(note(n))
    const kept = output.writableLength
    assert.ok(kept >= MAX_UNREAD_BYTES && kept < MAX_UNREAD_BYTES + 2 * big.length, `${kept} bytes wait unread`)
    await assert.rejects(transport.send({jsonrpc: '2.0', id: 'ask', method: 'sampling/createMessage', params: {}} as JSONRPCMessage), /not reading/)
    void transport.send({jsonrpc: '2.0', id: 1, result: {}} as JSONRPCMessage)
    assert.ok(output.writableLength > kept, 'the answer was written all the same')
    assert.deepEqual(lines, [])
    await transport.close()
    const written = Math.ceil(MAX_UNREAD_BYTES / (big.length + 40))
    assert.deepEqual(lines, [`${sent - written} notifications not sent to a client that reads too slowly (stdio): at most 8 MiB may wait unread on a response`])
  })
})
