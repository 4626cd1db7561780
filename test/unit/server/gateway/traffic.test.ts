/**
 * Where what an upstream sends towards clients goes (src/server/gateway/traffic.ts): a request it
 * makes of its client outside any call, on a connection with one client session (stdio,
 * `--isolation session`), is held to what that session's key may see now, as its log messages are.
 */
import assert from 'node:assert/strict'

import type {ServerNotification} from '@modelcontextprotocol/server'

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
})
