/**
 * Redaction through a real server and the SDK's client (issue 15, items 9, 10 and 23): the
 * 8-character boundary, structuredContent (keys too), list descriptors, resource templates and
 * completions all reach the client redacted; names the client chose reach the audit log
 * redacted.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'

import {setSecret} from '../../../src/secrets/index.js'
import type {ToolSource} from '../../../src/server/tools/source.js'
import {updateVault} from '../../../src/vault/index.js'
import {serveInProcess, testVault, type TestVault} from '../../helpers/inprocess.js'
import {httpClient} from '../../helpers/server.js'

const SECRET = 'hunter2-hunter2-pw'

/** Puts the vault secret everywhere a source can. */
const leaky: ToolSource = {
  name: 'leaky',
  tools: () => TOOLS,
  prompts: () => PROMPTS,
  resources: () => [],
  resourceTemplates: () => TEMPLATES,
  async complete() {
    return {completion: {values: [SECRET, 'plain']}}
  },
}
const TOOLS = [
  {
    kind: 'tool' as const,
    descriptor: {
      name: 'structured',
      title: `About ${SECRET}`,
      description: `Knows ${SECRET}`,
      inputSchema: {type: 'object' as const, properties: {q: {type: 'string', description: `e.g. ${SECRET}`, default: SECRET}}},
    },
    call: () => ({content: [{type: 'text' as const, text: 'see structuredContent'}], structuredContent: {[SECRET]: {value: SECRET}, plain: 'x'}}),
  },
]
const PROMPTS = [{kind: 'prompt' as const, descriptor: {name: 'ask', description: SECRET, arguments: [{name: 'a', description: SECRET}]}, get: () => ({messages: []})}]
const TEMPLATES = [{uriTemplate: 'leaky://{id}', name: 'by id', description: SECRET}]

describe('redaction through serve', function () {
  this.timeout(30_000)
  let vault: TestVault
  const clients: Client[] = []
  const stops: (() => Promise<void>)[] = []
  beforeEach(async () => {
    vault = await testVault()
    await updateVault(vault.file, vault.material, (v) => {
      setSecret(v.data, 'LEAKY', Buffer.from(SECRET))
      setSecret(v.data, 'EIGHT', Buffer.from('Ab3$eF7!'))
      setSecret(v.data, 'SEVEN', Buffer.from('Zy9#wX2'))
    })
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    for (const stop of stops.splice(0)) await stop()
    vault.cleanup()
  })

  async function connect(options: Parameters<typeof serveInProcess>[1] = {}) {
    const key = await vault.key('k', ['*', 'prompt:*', 'resource:**'])
    const server = await serveInProcess(vault, {extraSources: [leaky], ...options})
    stops.push(() => server.close())
    const client = await httpClient(server.url!, {authorization: `Bearer ${key}`})
    clients.push(client)
    return {key, server, client}
  }

  it('a secret of 8 characters is redacted in a result, one of 7 is not', async () => {
    const {client} = await connect()
    const echoed = await client.callTool({name: 'echo', arguments: {message: 'a Ab3$eF7! b Zy9#wX2 c'}})
    assert.deepEqual(echoed.content, [{type: 'text', text: 'a [REDACTED:EIGHT] b Zy9#wX2 c'}])
  })

  it('structuredContent, keys included, list descriptors, resource templates and completions reach the client redacted', async () => {
    const {client} = await connect()
    const result = await client.callTool({name: 'structured', arguments: {}})
    assert.deepEqual(result.structuredContent, {'[REDACTED:LEAKY]': {value: '[REDACTED:LEAKY]'}, plain: 'x'})
    const listed = {
      tools: (await client.listTools()).tools.filter((t) => t.name === 'structured'),
      prompts: (await client.listPrompts()).prompts,
      templates: (await client.listResourceTemplates()).resourceTemplates,
      completion: await client.complete({ref: {type: 'ref/prompt', name: 'ask'}, argument: {name: 'a', value: ''}}),
    }
    const text = JSON.stringify(listed)
    assert.ok(!text.includes(SECRET), text)
    assert.equal(listed.tools[0].description, 'Knows [REDACTED:LEAKY]')
    assert.deepEqual(listed.tools[0].inputSchema.properties, {q: {type: 'string', description: 'e.g. [REDACTED:LEAKY]', default: '[REDACTED:LEAKY]'}})
    assert.equal(listed.prompts[0].arguments?.[0].description, '[REDACTED:LEAKY]')
    assert.equal(listed.templates[0].description, '[REDACTED:LEAKY]')
    assert.deepEqual(listed.completion.completion.values, ['[REDACTED:LEAKY]', 'plain'])
  })

  it('a name the client chose (its own key, a vault secret) is redacted before the audit log', async () => {
    const {key, server, client} = await connect({settings: {'audit.args': 'true'}})
    await assert.rejects(client.callTool({name: key, arguments: {}}), /Unknown tool/)
    await assert.rejects(client.callTool({name: SECRET, arguments: {}}), /Unknown tool/)
    await assert.rejects(client.getPrompt({name: `prompt-${SECRET}`, arguments: {}}), /Unknown prompt/)
    await client.callTool({name: 'echo', arguments: {message: SECRET}})
    await server.close()
    stops.pop()
    const log = readFileSync(`${vault.file}.audit.jsonl`, 'utf8')
    assert.ok(!log.includes(key), 'the caller’s key is not in the audit log')
    assert.ok(!log.includes(SECRET), 'no vault secret is in the audit log')
    const denied = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.event === 'authz.denied')
    assert.deepEqual(
      denied.map((r) => r.tool ?? r.prompt),
      ['[REDACTED:api-key]', '[REDACTED:LEAKY]', 'prompt-[REDACTED:LEAKY]'],
    )
  })
})
