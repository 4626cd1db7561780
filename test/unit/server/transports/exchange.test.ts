/** Waiting on one request's answer, and abandoning it when its client is gone (exchange.ts untilAnswered). */
import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import type {ServerResponse} from 'node:http'

import {untilAnswered} from '../../../../src/server/transports/exchange.js'

/** What untilAnswered reads of a response: whether it is destroyed, and its `close`. */
function response(destroyed = false): ServerResponse & EventEmitter {
  return Object.assign(new EventEmitter(), {destroyed}) as unknown as ServerResponse & EventEmitter
}

describe('untilAnswered', () => {
  it('resolves with the answer, and a later close abandons nothing', async () => {
    const res = response()
    const abandoned: number[] = []
    await untilAnswered(res, (answered) => (setImmediate(answered), 7), (id) => void abandoned.push(id))
    res.emit('close')
    assert.deepEqual(abandoned, [])
  })

  it('a client gone before the answer has the request abandoned, by the id it was handed over with', async () => {
    const res = response()
    const abandoned: number[] = []
    const waiting = untilAnswered(res, () => 7, (id) => void abandoned.push(id))
    res.emit('close')
    await waiting
    assert.deepEqual(abandoned, [7])
  })

  it('a client gone while the request stages ran (its close already fired) has the request abandoned at once', async () => {
    const abandoned: number[] = []
    await untilAnswered(response(true), () => 9, (id) => void abandoned.push(id))
    assert.deepEqual(abandoned, [9])
  })
})
