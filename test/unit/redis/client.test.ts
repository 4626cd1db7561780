/**
 * The Redis client (src/redis/client.ts) with `batchWrites`: commands written in one turn of the
 * event loop leave in one write, and each still gets its own answer or failure; a real
 * redis-server answers them.
 */
import assert from 'node:assert/strict'

import {connectRedis, connectWithin, type Redis} from '../../../src/redis/client.js'
import {needRedisServer, RedisServer} from '../../helpers/redis.js'

/** Counts the system-call writes the client's socket makes (one `_write` or `_writev` each). */
function countWrites(client: Redis): {writes: number; chunks: number} {
  const seen = {writes: 0, chunks: 0}
  const socket = client.stream as typeof client.stream & {_write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void}
  const write = socket._write.bind(socket)
  const writev = socket._writev.bind(socket)
  socket._write = (...args) => {
    seen.writes++
    seen.chunks++
    write(...args)
  }
  socket._writev = (chunks, cb) => {
    seen.writes++
    seen.chunks += chunks.length
    writev(chunks, cb)
  }
  return seen
}

describe('a Redis client that batches writes', function () {
  let redis: RedisServer
  let client: Redis

  before(async function () {
    needRedisServer.call(this)
    redis = await RedisServer.start()
    client = await connectRedis({url: redis.url, display: redis.url}, {name: 'test', batchWrites: true})
    assert.equal(await connectWithin(client, 5000), true)
  })

  after(async () => {
    client?.disconnect()
    await redis?.kill()
  })

  it('sends the commands of one turn in one write, and each gets its own answer', async () => {
    const seen = countWrites(client)
    const answers = Promise.all(Array.from({length: 50}, (_, i) => client.incrby('batch:n', i + 1)))
    const sums = await answers
    assert.deepEqual(sums, Array.from({length: 50}, (_, i) => ((i + 1) * (i + 2)) / 2), 'in order, one answer per command')
    assert.equal(seen.chunks, 50)
    assert.equal(seen.writes, 1, 'one write for the whole turn')
  })

  it('fails only the command that fails, and a lone command in a later turn is still sent', async () => {
    await client.set('batch:text', 'not a number')
    const [bad, good] = await Promise.allSettled([client.incr('batch:text'), client.incr('batch:m')])
    assert.equal(bad.status, 'rejected')
    assert.deepEqual(good, {status: 'fulfilled', value: 1})
    await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(await client.get('batch:m'), '1')
  })
})
