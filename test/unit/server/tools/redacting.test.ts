/**
 * The redacting wrapper (issue 17, item 3; issue 15, item 10): a fake source that puts a vault
 * secret into everything it can send towards a client, run through every member of ToolSource,
 * of each item kind, of ClientSession and ClientChannel. The fake and the checks are typed with
 * an entry per member, and the wrapped objects' members are compared with the checks' at run
 * time: a member added to one of those interfaces fails to compile here, or fails this test,
 * until it is redacted and checked.
 */
import assert from 'node:assert/strict'

import {Redactor} from '../../../../src/guard/redactor.js'
import {Refusal, RPC} from '../../../../src/server/refusal.js'
import {redactingChannel, redactingSession, redactingSource} from '../../../../src/server/tools/redacting.js'
import type {CallEnv, ClientChannel, ClientSession, ItemKind, SourcePrompt, SourceResource, SourceTool, ToolSource} from '../../../../src/server/tools/source.js'
import {ScopeSet} from '../../../../src/policy/index.js'

const SECRET = 'hunter2-hunter2-pw'
const REDACTED = '[REDACTED:PW]'
const NEWER_SECRET = 'rotated-secret-value'
const redactor = new Redactor([['PW', SECRET]])
const current = () => redactor

/** Everything sent towards the client through a channel, as the wrapped channel passed it on. */
function recordingChannel() {
  const sent: unknown[] = []
  const channel: ClientChannel = {
    notify: async (notification) => void sent.push(notification),
    request: async (request) => {
      sent.push(request)
      return {} as never
    },
  }
  return {sent, channel}
}

function assertClean(value: unknown, what: string) {
  const text = JSON.stringify(value)
  assert.ok(!text.includes(SECRET), `${what} reached the client with the secret: ${text}`)
  assert.ok(text.includes(REDACTED), `${what} was redacted: ${text}`)
}

async function refusalOf(run: () => Promise<unknown>): Promise<Refusal> {
  try {
    await run()
  } catch (err) {
    if (err instanceof Refusal) return err
    throw err
  }
  throw new Error('expected a refusal')
}

/** What each call saw of its env: the source never sees the redaction, and talks to the client through the call's channel. */
const seenEnvs: CallEnv[] = []

async function speak(env: CallEnv): Promise<void> {
  seenEnvs.push(env)
  await env.client?.notify({method: 'notifications/message', params: {level: 'info', data: `log ${SECRET}`}})
  await env.client?.request({method: 'sampling/createMessage', params: {messages: [{role: 'user', content: {type: 'text', text: SECRET}}], maxTokens: 1}})
}

const tool: SourceTool = {
  kind: 'tool',
  descriptor: {
    name: 'leaky',
    title: `title ${SECRET}`,
    description: `description ${SECRET}`,
    inputSchema: {type: 'object', properties: {[SECRET]: {type: 'string', description: SECRET, default: SECRET}}},
  },
  async call(_args, env) {
    await speak(env)
    return {content: [{type: 'text', text: SECRET}], structuredContent: {[SECRET]: {deep: [SECRET]}}}
  },
}

const prompt: SourcePrompt = {
  kind: 'prompt',
  descriptor: {name: 'leaky_prompt', description: SECRET, arguments: [{name: 'a', description: SECRET}]},
  async get(_args, env) {
    await speak(env)
    return {messages: [{role: 'user', content: {type: 'text', text: SECRET}}]}
  },
}

const resource: SourceResource = {
  kind: 'resource',
  descriptor: {uri: 'x://leaky', name: 'leaky', description: SECRET},
  async read(env) {
    await speak(env)
    return {contents: [{uri: 'x://leaky', text: SECRET}]}
  },
  async subscribe() {
    throw Refusal.fromUpstream(RPC.INVALID_PARAMS, `cannot subscribe with ${SECRET}`, {detail: SECRET})
  },
  async unsubscribe() {
    // An error with a JSON-RPC code reaches the client as it is: it is redacted like a refusal.
    throw Object.assign(new Error(`cannot unsubscribe with ${SECRET}`), {code: RPC.INVALID_PARAMS, data: {detail: SECRET}})
  },
}

/** A source returns the same list until its items change, as every real one does. */
const [tools, prompts, resources] = [[tool], [prompt], [resource]]

const fake: Required<ToolSource> = {
  name: 'fake',
  tools: () => tools,
  prompts: () => prompts,
  resources: () => resources,
  hasSessionItems: () => true,
  resourceTemplates: () => [{uriTemplate: 'x://{id}', name: 'leaky', description: SECRET}],
  resourceFor: (uri) => (uri.startsWith('x://') ? resource : undefined),
  onChange: () => () => {},
  listedOnce: true,
  async complete(_params, env) {
    await speak(env)
    return {completion: {values: [SECRET]}}
  },
}

const principal = {id: 'key:t', authType: 'api_key' as const, name: 't', scopes: new ScopeSet(['*'])}

function callEnv(channel: ClientChannel, found = new Set<string>()): CallEnv {
  return {principal, server: {name: 'keyward', version: 't', startedAt: 0}, signal: new AbortController().signal, client: channel, redaction: {redactor, found}}
}

/** One check per item member. */
async function checkItem(item: SourceTool | SourcePrompt | SourceResource, kind: ItemKind): Promise<void> {
  assert.equal(item.kind, kind)
  // These items ask for input (speak): the wrapper must not say they never do, nor drop the trait of one that never does.
  assert.equal(item.neverAsks, undefined, `a ${kind} that may ask is not wrapped as one that never does`)
  assertClean(item.descriptor, `${kind} descriptor`)
  const {sent, channel} = recordingChannel()
  const found = new Set<string>()
  const env = callEnv(channel, found)
  const result = item.kind === 'tool' ? await item.call({}, env) : item.kind === 'prompt' ? await item.get({}, env) : await item.read(env)
  assertClean(result, `${kind} result`)
  assert.deepEqual([...found], ['PW'], 'the names replaced are reported for the audit')
  assert.equal(sent.length, 2)
  for (const message of sent) assertClean(message, `${kind} notification or request`)
  assert.equal(seenEnvs.at(-1)?.redaction, undefined, 'the source does not see the redaction')
  if (item.kind === 'resource') {
    for (const act of [item.subscribe!, item.unsubscribe!]) {
      const refused = await refusalOf(() => act(callEnv(channel)))
      assertClean({message: refused.message, data: refused.data}, 'a subscription error')
    }
  }
}

const MEMBERS: Record<ItemKind, string[]> = {tool: ['call', 'descriptor', 'kind', 'neverAsks'], prompt: ['descriptor', 'get', 'kind', 'neverAsks'], resource: ['descriptor', 'kind', 'neverAsks', 'read', 'subscribe', 'unsubscribe']}

/** One check per member of ToolSource: a member without one does not compile. */
const CHECKS: {[K in keyof Required<ToolSource>]: (wrapped: ToolSource) => unknown} = {
  name: (w) => assert.equal(w.name, 'fake'),
  tools: (w) => checkItem(w.tools()[0], 'tool'),
  prompts: (w) => checkItem(w.prompts()[0], 'prompt'),
  resources: (w) => checkItem(w.resources()[0], 'resource'),
  hasSessionItems: (w) => assert.equal(w.hasSessionItems!({} as ClientSession), true),
  resourceTemplates: (w) => assertClean(w.resourceTemplates!(), 'resource templates'),
  resourceFor: (w) => checkItem(w.resourceFor!('x://other')!, 'resource'),
  // These carry nothing towards a client.
  onChange: (w) => assert.equal(typeof w.onChange!(() => {}), 'function'),
  listedOnce: (w) => {
    const changing = {...fake, listedOnce: false}
    const live = redactingSource(changing, current)
    assert.equal(live.listedOnce, false)
    changing.listedOnce = true
    assert.equal(live.listedOnce, true, 'read at each use: a source lists later')
    assert.equal(w.listedOnce, true)
  },
  complete: async (w) => {
    const {sent, channel} = recordingChannel()
    assertClean(await w.complete!({ref: {type: 'ref/prompt', name: 'leaky_prompt'}, argument: {name: 'a', value: ''}}, callEnv(channel)), 'a completion')
    for (const message of sent) assertClean(message, 'a message sent while completing')
  },
}

describe('redacting wrapper', () => {
  it('every member of a source, of each kind of item, and of what they send, reaches the client redacted', async () => {
    const wrapped = redactingSource(fake, current)
    assert.deepEqual(Object.keys(wrapped).sort(), Object.keys(CHECKS).sort(), 'the wrapper and the checks cover the same members')
    for (const [member, check] of Object.entries(CHECKS)) {
      try {
        await check(wrapped)
      } catch (err) {
        throw new Error(`ToolSource.${member}: ${(err as Error).message}`)
      }
    }
    for (const [list, kind] of [[wrapped.tools(), 'tool'], [wrapped.prompts(), 'prompt'], [wrapped.resources(), 'resource']] as const) {
      assert.deepEqual(Object.keys(list[0]).sort(), MEMBERS[kind], `every member of a ${kind} is wrapped and checked`)
    }
  })

  it("an item that never asks for input keeps that trait when wrapped (a 2026-07-28 call of it skips the bridge)", () => {
    const wrapped = redactingSource({name: 'own', tools: () => [{...tool, neverAsks: true}], prompts: () => [], resources: () => []}, current)
    assert.equal(wrapped.tools()[0].neverAsks, true)
  })

  it('client sessions and channels: every member, messages redacted with the newest redactor', async () => {
    const {sent, channel} = recordingChannel()
    let newest = redactor
    const closed: (() => void)[] = []
    const session: ClientSession = {id: 's1', capabilities: () => ({sampling: {}}), channel, onClose: (listener) => void closed.push(listener)}
    const wrapped = redactingSession(session, () => newest)
    const members: {[K in keyof ClientSession]: () => unknown} = {
      id: () => assert.equal(wrapped.id, 's1'),
      capabilities: () => assert.deepEqual(wrapped.capabilities(), {sampling: {}}),
      channel: async () => {
        await wrapped.channel.notify({method: 'notifications/resources/updated', params: {uri: `x://${SECRET}`}})
        await wrapped.channel.request({method: 'elicitation/create', params: {message: SECRET, requestedSchema: {type: 'object', properties: {}}}})
        for (const message of sent) assertClean(message, 'a session message')
      },
      onClose: () => {
        wrapped.onClose(() => {})
        assert.equal(closed.length, 1)
      },
    }
    assert.deepEqual(Object.keys(wrapped).sort(), Object.keys(members).sort())
    for (const check of Object.values(members)) await check()
    // A secret added by a reload is redacted from the next message on.
    newest = new Redactor([['NEWER', NEWER_SECRET]])
    await wrapped.channel.notify({method: 'notifications/message', params: {level: 'info', data: NEWER_SECRET}})
    assert.equal(JSON.stringify(sent.at(-1)).includes(NEWER_SECRET), false)
    const channelMembers = Object.keys(redactingChannel(channel, current)).sort()
    assert.deepEqual(channelMembers, ['notify', 'request'], 'every member of a channel is wrapped (checked above)')
  })

  it('a call is redacted with its own runtime’s redactor; a list with the newest, and the wrapped items stay the same objects until it changes', async () => {
    let newest = redactor
    const source = redactingSource(fake, () => newest)
    const first = source.tools()
    assert.equal(source.tools(), first, 'stable while the redactor is the same (catalog lookups rely on it)')
    const older = new Redactor([['OLD', SECRET]])
    const found = new Set<string>()
    const {channel} = recordingChannel()
    const result = await first[0].call({}, {...callEnv(channel, found), redaction: {redactor: older, found}})
    assert.ok(JSON.stringify(result).includes('[REDACTED:OLD]'), 'the call’s redactor, not the newest')
    newest = new Redactor([['NEW', SECRET]])
    assert.notEqual(source.tools(), first)
    assert.match(source.tools()[0].descriptor.description!, /\[REDACTED:NEW\]/)
  })

  it('an error a source throws without a JSON-RPC code is left to the execute stage (which shows a fixed message)', async () => {
    const plain = new Error(`boom ${SECRET}`)
    const throwing: ToolSource = {name: 't', tools: () => [{...tool, call: () => Promise.reject(plain)}], prompts: () => [], resources: () => []}
    const {channel} = recordingChannel()
    await assert.rejects(async () => redactingSource(throwing, current).tools()[0].call({}, callEnv(channel)), (err: unknown) => err === plain)
  })
})
