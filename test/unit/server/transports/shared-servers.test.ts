/** The servers many HTTP requests share, and a new one when what they declare changes (shared-servers.ts). */
import assert from 'node:assert/strict'

import type {Runtime} from '../../../../src/server/runtime.js'
import {Retirement, SharedServers, type SharedDispatcher} from '../../../../src/server/transports/shared-servers.js'

/** A dispatcher with a count of requests in flight, retired the way the real ones are. */
class FakeDispatcher implements SharedDispatcher {
  inFlight = 0
  closes = 0
  private readonly retirement = new Retirement(() => this.inFlight === 0, () => this.close())
  constructor(readonly declaration: string) {}
  get closed(): boolean {
    return this.closes > 0
  }
  retire(closed: () => void): void {
    this.retirement.retire(closed)
  }
  answer(): void {
    this.inFlight--
    this.retirement.check()
  }
  async close(): Promise<void> {
    this.closes++
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
  /** A server with a request in flight, then a reload that declares `next`: the server it leaves, and the one it gets. */
  const replaced = async (next: string) => {
    const old = await servers.dispatcherFor('k', runtime())
    old.inFlight = 1
    declaration = next
    const current = await servers.dispatcherFor('k', runtime())
    await tick()
    return {old, current}
  }
  return {servers, replaced}
}

describe('shared servers', () => {
  it('hands out one dispatcher, as it is once connected, while the declaration holds, across runtimes', async () => {
    const {servers} = shared()
    const first = await servers.dispatcherFor('k', runtime())
    assert.equal(servers.dispatcherFor('k', runtime()), first, 'a new runtime with the same declaration keeps the server, without a promise')
    assert.deepEqual(servers.live(), [first])
  })

  it('a new declaration gets a new server; the old one takes no request and closes once its last is answered', async () => {
    const {servers, replaced} = shared()
    const {old, current} = await replaced('api_key,oauth2')
    assert.notEqual(current, old)
    assert.equal(current.declaration, 'api_key,oauth2')
    assert.deepEqual(servers.live(), [current, old], 'a cancellation may still name a request the old one runs')
    assert.equal(old.closed, false)
    old.answer()
    old.retire(() => {})
    await tick()
    assert.equal(old.closes, 1, 'closed once, however often it is told')
    assert.deepEqual(servers.live(), [current])
  })

  it('a server that failed to connect is not kept: the next request tries again', async () => {
    const {servers} = shared(true)
    await assert.rejects(Promise.resolve(servers.dispatcherFor('k', runtime())), /connect failed/)
    await tick()
    assert.ok(await servers.dispatcherFor('k', runtime()))
  })

  it('close closes every server, retiring ones too', async () => {
    const {servers, replaced} = shared()
    const {old, current} = await replaced('other')
    await servers.close()
    assert.equal(old.closed, true)
    assert.equal(current.closed, true)
  })
})
