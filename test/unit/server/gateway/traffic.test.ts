/**
 * Where what an upstream sends towards clients goes (src/server/gateway/traffic.ts): a request it
 * makes of its client outside any call, on a connection with one client session (stdio,
 * `--isolation session`), is held to what that session's key may see now, as its log messages are.
 */
import assert from 'node:assert/strict'

import type {ServerNotification} from '@modelcontextprotocol/server'

import {MAX_INPUT_REQUESTS} from '../../../../src/server/era/protocol.js'
import {LogLevels, Traffic} from '../../../../src/server/gateway/traffic.js'
import type {ClientSession} from '../../../../src/server/tools/source.js'

/** The one session of a connection, declaring sampling, elicitation and roots; what reaches it goes into `asked`. */
function ownerSession(asked: string[]): ClientSession {
  return {
    id: 's-owner',
    capabilities: () => ({sampling: {}, elicitation: {}, roots: {}}),
    channel: {
      notify: async (n: ServerNotification) => void asked.push(n.method),
      request: async (r: {method: string}) => (asked.push(r.method), {roots: []}),
    } as unknown as ClientSession['channel'],
    onClose: () => {},
  }
}

describe('gateway: traffic routing (traffic.ts)', () => {
  /** A connection whose one client session may (or may not) hear this upstream outside its calls (mayHear: its key as it stands now). */
  function ownedTraffic(mayHear: {now: boolean | undefined}, asked: string[]) {
    const owner = ownerSession(asked)
    const traffic = new Traffic({upstream: 'up', log: () => {}, owner: () => owner, levels: new LogLevels(), sessions: () => [owner], mayRead: () => true, mayHear: () => mayHear.now})
    return {owner, traffic}
  }

  it("a request an upstream makes outside any call reaches its connection's one client only while the client's key may see something of that upstream (narrowed or revoked: refused, as its log messages are)", async () => {
    const asked: string[] = []
    const hear: {now: boolean | undefined} = {now: undefined}
    const {traffic} = ownedTraffic(hear, asked)
    const signal = new AbortController().signal
    // Not known yet (stdio: server-filesystem asks for roots as it starts, before the client's first list is done): asked, as before.
    await traffic.request('roots', {method: 'roots/list'}, signal)
    hear.now = true
    await traffic.request('roots', {method: 'roots/list'}, signal)
    assert.deepEqual(asked, ['roots/list', 'roots/list'], 'a key in scope is asked, as before')
    // keys scope narrowed the key away from this upstream (or revoked it): its process runs on (--isolation session; stdio's one session stays open).
    hear.now = false
    for (const [kind, method] of [['roots', 'roots/list'], ['sampling', 'sampling/createMessage'], ['elicitation', 'elicitation/create']] as const) {
      await assert.rejects(traffic.request(kind, {method}, signal), /not available/, `${method} reached a client whose key may no longer see the upstream`)
    }
    traffic.notify({method: 'notifications/message', params: {level: 'info', data: 'x'}} as ServerNotification)
    assert.deepEqual(asked, ['roots/list', 'roots/list'], 'something reached the narrowed client')
  })

  it("a request during one of the client's own calls still reaches it (the call was authorized when it began)", async () => {
    const asked: string[] = []
    const {owner, traffic} = ownedTraffic({now: false}, asked)
    const end = traffic.begin({channel: owner.channel, session: owner})
    await traffic.request('elicitation', {method: 'elicitation/create'}, new AbortController().signal)
    end()
    assert.deepEqual(asked, ['elicitation/create'])
  })

  it('an upstream has at most 16 requests waiting on its clients at once: past that they are refused at once, and the log says so once (a sampling request can cost its client a model call)', async () => {
    const asked: string[] = []
    const logged: string[] = []
    const answers: (() => void)[] = []
    const owner: ClientSession = {
      ...ownerSession(asked),
      channel: {
        notify: async () => {},
        request: (r: {method: string}) => (asked.push(r.method), new Promise((resolve) => answers.push(() => resolve({role: 'assistant', content: {type: 'text', text: 'ok'}})))),
      } as unknown as ClientSession['channel'],
    }
    const traffic = new Traffic({upstream: 'up', log: (level, message) => void logged.push(`${level} ${message}`), owner: () => owner, levels: new LogLevels(), sessions: () => [owner], mayRead: () => true, mayHear: () => true})
    const end = traffic.begin({channel: owner.channel, session: owner})
    const signal = new AbortController().signal
    const outcomes = Array.from({length: MAX_INPUT_REQUESTS + 4}, () => traffic.request('sampling', {method: 'sampling/createMessage'}, signal).then(() => 'answered', (err: Error) => err.message))
    await new Promise((r) => setImmediate(r))
    assert.equal(asked.length, MAX_INPUT_REQUESTS, 'the client was asked 16 times, no more')
    for (const answer of answers.splice(0)) answer()
    const settled = await Promise.all(outcomes)
    assert.equal(settled.filter((o) => o === 'answered').length, MAX_INPUT_REQUESTS)
    for (const refused of settled.filter((o) => o !== 'answered')) assert.match(refused, /sampling is not available: upstream up has 16 requests waiting on its client already/)
    const told = logged.filter((line) => line.includes('upstream up asked its client for more than 16 things at once'))
    assert.equal(told.length, 1, logged.join('\n'))
    // Answered, they no longer count: the next request reaches the client.
    const next = traffic.request('sampling', {method: 'sampling/createMessage'}, signal)
    await new Promise((r) => setImmediate(r))
    answers.splice(0).forEach((answer) => answer())
    await next
    assert.equal(asked.length, MAX_INPUT_REQUESTS + 1)
    end()
  })
})
