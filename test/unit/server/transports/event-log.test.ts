/**
 * The event log of a stateful session (resumable Streamable HTTP, MCP 2025-11-25): ids per
 * stream, replay after a cursor of the same stream only, ids of another log naming nothing,
 * bounds in events and bytes, and a stream that lost an event refusing a replay across the hole.
 */
import assert from 'node:assert/strict'

import {EventLog, type LoggedStream} from '../../../../src/server/transports/event-log.js'

const note = (n: number) => ({jsonrpc: '2.0' as const, method: 'notifications/progress', params: {progressToken: 't', progress: n}})
const idOf = (frame: string) => /^id: (.+)$/m.exec(frame)![1]
const dataOf = (frame: string) => JSON.parse(/^data: (.+)$/m.exec(frame)![1])
const replayed = (log: EventLog, id: string) => {
  const r = log.after(id)
  if ('refused' in r) assert.fail(`refused: ${r.refused}`)
  return r.frames.map((f) => dataOf(f).params.progress)
}

describe('server: the event log of a session', () => {
  it('gives each event an id on its stream and replays only what follows the cursor, on that stream', () => {
    const log = new EventLog()
    const a = log.open()
    const b = log.open()
    const a1 = log.append(a, note(1))
    log.append(b, note(100))
    const a2 = log.append(a, note(2))
    log.append(a, note(3))
    assert.match(a1, /^event: message\nid: [^\n]+\ndata: \{.*\}\n\n$/)
    assert.notEqual(idOf(a1), idOf(a2))
    assert.deepEqual(replayed(log, a.primingId), [1, 2, 3], 'the priming id is a cursor before the first event')
    assert.deepEqual(replayed(log, idOf(a1)), [2, 3])
    assert.deepEqual(replayed(log, idOf(a2)), [3])
    assert.deepEqual(replayed(log, b.primingId), [100], 'never an event of another stream')
    const r = log.after(idOf(a1))
    assert.ok('stream' in r && r.stream === a)
  })

  it('knows nothing of ids it did not issue: another session’s, forged, future or malformed', () => {
    const mine = new EventLog()
    const theirs = new EventLog()
    const s = mine.open()
    mine.append(s, note(1))
    const other = theirs.open()
    const foreign = theirs.append(other, note(9))
    for (const id of [idOf(foreign), other.primingId, `${s.key}/7`, `${s.key}/-1`, `${s.key}/1e3`, s.key, '', '/', `${s.key}/1/1`, 'x'.repeat(200), `${s.key}/${'9'.repeat(20)}`]) {
      assert.deepEqual(mine.after(id), {refused: 'unknown'}, id)
    }
  })

  it('forgets a dropped stream at once, and a cleared log everything', () => {
    const log = new EventLog()
    const s = log.open()
    const keep = log.open()
    log.append(s, note(1))
    log.append(keep, note(2))
    log.drop(s)
    assert.deepEqual(log.after(s.primingId), {refused: 'unknown'})
    assert.deepEqual(log.size, {events: 1, bytes: log.size.bytes, streams: 1})
    log.append(s, note(3))
    assert.equal(log.size.events, 1, 'a dropped stream keeps nothing more')
    log.clear()
    assert.deepEqual(log.size, {events: 0, bytes: 0, streams: 0})
  })

  it('keeps at most maxEvents, dropping the oldest; a replay across a dropped event is refused', () => {
    const log = new EventLog({maxEvents: 3, maxBytes: 1 << 20})
    const s = log.open()
    const frames: string[] = []
    for (let i = 1; i <= 5; i++) frames.push(log.append(s, note(i)))
    assert.equal(log.size.events, 3)
    assert.deepEqual(log.after(s.primingId), {refused: 'gap'}, 'events 1 and 2 are gone: no replay with a hole in it')
    assert.deepEqual(log.after(idOf(frames[0])), {refused: 'gap'})
    assert.deepEqual(replayed(log, idOf(frames[1])), [3, 4, 5], 'a cursor after the hole replays everything after it')
  })

  it('keeps at most maxBytes; an event bigger than that is not kept, and the stream cannot be resumed from before it', () => {
    const small = Buffer.byteLength(new EventLog().append(new EventLog().open(), note(1)))
    const log = new EventLog({maxEvents: 100, maxBytes: small * 2 + 10})
    const s: LoggedStream = log.open()
    const first = log.append(s, note(1))
    log.append(s, note(2))
    log.append(s, note(3))
    assert.ok(log.size.bytes <= small * 2 + 10)
    assert.equal(log.size.events, 2)
    assert.deepEqual(log.after(s.primingId), {refused: 'gap'})
    assert.deepEqual(replayed(log, idOf(first)), [2, 3])
    const big = log.append(s, {jsonrpc: '2.0', id: 1, result: {content: [{type: 'text', text: 'x'.repeat(small * 3)}]}})
    assert.match(big, /xxx/, 'the frame is still written')
    assert.equal(log.size.events, 2, 'but not kept')
    assert.deepEqual(log.after(idOf(first)), {refused: 'gap'})
    assert.deepEqual(log.after(idOf(big)), {stream: s, frames: []}, 'after it, nothing is missing')
  })

  it('bounds the log of a session as a whole, across its streams', () => {
    const log = new EventLog({maxEvents: 4, maxBytes: 1 << 20})
    const a = log.open()
    const b = log.open()
    log.append(a, note(1))
    log.append(a, note(2))
    for (let i = 0; i < 3; i++) log.append(b, note(10 + i))
    assert.equal(log.size.events, 4)
    assert.deepEqual(log.after(a.primingId), {refused: 'gap'}, "b's events pushed a's oldest out")
    assert.deepEqual(replayed(log, b.primingId), [10, 11, 12])
  })
})
