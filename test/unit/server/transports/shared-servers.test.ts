/** The servers many HTTP requests share, and a new one when what they declare changes (shared-servers.ts). */
import assert from 'node:assert/strict'

import type {Runtime} from '../../../../src/server/runtime.js'
import {SharedServers, type SharedDispatcher} from '../../../../src/server/transports/shared-servers.js'

class FakeDispatcher implements SharedDispatcher {
  inFlight = 0
  closed = false
  private retired?: () => void
  constructor(readonly declaration: string) {}
  retire(closed: () => void): void {
    this.retired = closed
    this.settle()
  }
  answer(): void {
    this.inFlight--
    this.settle()
  }
  async close(): Promise<void> {
    this.closed = true
  }
  private settle(): void {
    if (this.retired && this.inFlight === 0) void this.close().then(this.retired)
  }
}

const runtime = () => ({}) as Runtime
const tick = () => new Promise((resolve) => setImmediate(resolve))

function shared(failFirst = false) {
  let declaration = 'api_key'
  let connects = 0
  const servers = new SharedServers<FakeDispatcher>(
    () => declaration,
    async () => {
      if (failFirst && connects++ === 0) throw new Error('connect failed')
      return new FakeDispatcher(declaration)
    },
  )
  return {servers, declare: (d: string) => (declaration = d)}
}

describe('shared servers', () => {
  it('hands out one dispatcher, as it is once connected, while the declaration holds, across runtimes', async () => {
    const {servers} = shared()
    const first = await servers.dispatcherFor('k', runtime())
    assert.equal(servers.dispatcherFor('k', runtime()), first, 'a new runtime with the same declaration keeps the server, without a promise')
    assert.deepEqual(servers.live(), [first])
  })

  it('a new declaration gets a new server; the old one takes no request and closes once its last is answered', async () => {
    const {servers, declare} = shared()
    const old = await servers.dispatcherFor('k', runtime())
    old.inFlight = 1
    declare('api_key,oauth2')
    const next = await servers.dispatcherFor('k', runtime())
    assert.notEqual(next, old)
    assert.equal(next.declaration, 'api_key,oauth2')
    await tick()
    assert.deepEqual(servers.live(), [next, old], 'a cancellation may still name a request the old one runs')
    assert.equal(old.closed, false)
    old.answer()
    await tick()
    assert.equal(old.closed, true)
    assert.deepEqual(servers.live(), [next])
  })

  it('a server that failed to connect is not kept: the next request tries again', async () => {
    const {servers} = shared(true)
    await assert.rejects(Promise.resolve(servers.dispatcherFor('k', runtime())), /connect failed/)
    await tick()
    assert.ok(await servers.dispatcherFor('k', runtime()))
  })

  it('close closes every server, retiring ones too', async () => {
    const {servers, declare} = shared()
    const old = await servers.dispatcherFor('k', runtime())
    old.inFlight = 1
    declare('other')
    const next = await servers.dispatcherFor('k', runtime())
    await tick()
    await servers.close()
    assert.equal(old.closed, true)
    assert.equal(next.closed, true)
  })
})
