/** The client session an SDK server carries (src/server/mcp.ts): its end is heard even by a listener added after it. */
import assert from 'node:assert/strict'

import {InMemoryTransport} from '@modelcontextprotocol/server'

import {Redactor} from '../../../src/guard/redactor.js'
import {createMcpServer, sessionOf, type McpDeps} from '../../../src/server/mcp.js'

describe('mcp: a client session ends once, for every listener', () => {
  it('calls a listener added before its end when it ends, and one added after at once (a request can outlive its session)', async () => {
    const deps = {info: {name: 'keyward', version: '0', startedAt: 0}, auth: () => ({required: false, types: []}), sessions: true, redactor: () => Redactor.none} as unknown as McpDeps
    const server = createMcpServer(deps)
    const session = sessionOf(server)!
    const heard: string[] = []
    session.onClose(() => heard.push('before'))
    const [, serverSide] = InMemoryTransport.createLinkedPair()
    await server.connect(serverSide)
    await server.close()
    assert.deepEqual(heard, ['before'])
    session.onClose(() => heard.push('after'))
    assert.deepEqual(heard, ['before', 'after'])
  })
})
