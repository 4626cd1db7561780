/**
 * One Refusal (issue 17, item 2): thrown by any stage, rendered by each transport (HTTP before
 * the MCP server, stdio, the MCP server for calls), and read from the thrown value by the audit.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'

import type {CallContext, MessageContext, RequestContext} from '../../../src/server/context.js'
import type {Stage} from '../../../src/server/pipeline/chain.js'
import {Refusal, RPC, renderRefusal, toolErrorOf} from '../../../src/server/refusal.js'
import {StaticSource} from '../../../src/server/tools/source.js'
import {serveInProcess, stdioPair, testVault, type TestVault} from '../../helpers/inprocess.js'
import {httpClient, INITIALIZE, post} from '../../helpers/server.js'

const RATE = {headers: {'retry-after': '7'}, data: {retryAfterSeconds: 7, policy: 'principal'}}

/** Refuses what a test marks: a query string (HTTP), a method (every transport), a call by name. */
const refusing = {
  request: [((ctx, next) => {
    if (ctx.query === 'refuse') throw Refusal.rateLimited('Too Many Requests: marked', RATE)
    return next()
  }) as Stage<RequestContext>],
  message: [((ctx, next) => {
    if (ctx.method === 'refuse/me') throw Refusal.invalidParams('Invalid params: marked')
    return next()
  }) as Stage<MessageContext>],
  call: [((ctx, next) => {
    if (ctx.name === 'blocked') throw Refusal.blockedArguments(ctx.kind, ctx.name, 'my-pattern')
    if (ctx.name === 'hidden') throw Refusal.unknownItem(ctx.kind, ctx.name, 'out_of_scope')
    return next()
  }) as Stage<CallContext>],
}

function auditEvents(vault: TestVault): Record<string, unknown>[] {
  return readFileSync(`${vault.file}.audit.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe('refusal', function () {
  this.timeout(30_000)

  it('named constructors say what kind of refusal it is, and how it reaches the client', () => {
    const scope = Refusal.insufficientScope('mcp:tool:echo', 'Bearer error="insufficient_scope"')
    assert.deepEqual([scope.kind, scope.reason, scope.status, scope.code, scope.headers['www-authenticate']], ['authz', 'insufficient_scope', 403, RPC.UNAUTHORIZED, 'Bearer error="insufficient_scope"'])
    const unknown = Refusal.unknownItem('resource', 'x://y', 'out_of_scope')
    assert.deepEqual([unknown.kind, unknown.reason, unknown.status, unknown.code, unknown.data], ['authz', 'out_of_scope', 200, RPC.RESOURCE_NOT_FOUND, undefined], 'the client is not told which miss it was')
    const blocked = Refusal.blockedArguments('tool', 't', 'eval')
    assert.deepEqual([blocked.asToolError, blocked.detail], [true, {pattern: 'eval'}])
    assert.equal(Refusal.blockedArguments('prompt', 'p', 'eval').asToolError, false)
    assert.deepEqual(renderRefusal(Refusal.parseError(), null), {jsonrpc: '2.0', id: null, error: {code: RPC.PARSE_ERROR, message: 'Parse error: the message is not valid JSON', data: {reason: 'parse_error'}}})
    assert.deepEqual(toolErrorOf(blocked), {isError: true, content: [{type: 'text', text: blocked.message}]})
    const redacted = Refusal.fromUpstream(-1, 'secret inside', {x: 1}).withText('[REDACTED]', {x: 2})
    assert.deepEqual([redacted.message, redacted.data, redacted.kind, redacted.code], ['[REDACTED]', {x: 2}, 'upstream', -1])
  })

  describe('rendered by each transport', () => {
    let vault: TestVault
    const clients: Client[] = []
    const stops: (() => Promise<void>)[] = []
    beforeEach(async () => {
      vault = await testVault()
    })
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
      for (const stop of stops.splice(0)) await stop()
      vault.cleanup()
    })

    it('HTTP: the status, the headers and a JSON-RPC error, before the MCP server or from a message stage; the audit records it', async () => {
      const key = await vault.key('k', ['*'])
      const server = await serveInProcess(vault, {extraStages: refusing, stateless: true})
      stops.push(() => server.close())
      const auth = {authorization: `Bearer ${key}`}
      const limited = await post(`${server.url}?refuse`, INITIALIZE, auth)
      assert.equal(limited.status, 429)
      assert.equal(limited.headers.get('retry-after'), '7')
      assert.deepEqual(JSON.parse(limited.text), {jsonrpc: '2.0', id: null, error: {code: RPC.RATE_LIMITED, message: 'Too Many Requests: marked', data: RATE.data}})
      const params = await post(server.url!, {jsonrpc: '2.0', id: 7, method: 'refuse/me'}, auth)
      assert.equal(params.status, 200)
      assert.deepEqual(JSON.parse(params.text), {jsonrpc: '2.0', id: 7, error: {code: RPC.INVALID_PARAMS, message: 'Invalid params: marked', data: {reason: 'invalid_params'}}})
      await server.close()
      stops.pop()
      const refused = auditEvents(vault).filter((r) => r.event === 'ratelimit' || r.event === 'request.refused')
      assert.deepEqual(
        refused.map((r) => [r.event, r.reason, r.status]),
        [
          ['ratelimit', 'rate_limited', 429],
          ['request.refused', 'invalid_params', 200],
        ],
      )
    })

    it('stdio: a JSON-RPC error line answers a refused request; a refused notification gets no answer', async () => {
      const key = await vault.key('k', ['*'])
      const pair = await stdioPair()
      const server = await serveInProcess(vault, {transport: 'stdio', credential: key, stdio: {input: pair.input, output: pair.output}, extraStages: refusing})
      stops.push(() => server.close())
      let out = ''
      pair.output.setEncoding('utf8').on('data', (d: string) => (out += d))
      for (const message of [INITIALIZE, {jsonrpc: '2.0', id: 9, method: 'refuse/me'}, {jsonrpc: '2.0', method: 'refuse/me'}, {jsonrpc: '2.0', id: 10, method: 'ping'}]) {
        pair.input.write(`${JSON.stringify(message)}\n`)
      }
      for (let i = 0; i < 200 && !out.includes('"id":10'); i++) await new Promise((resolve) => setTimeout(resolve, 10))
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as {id: number; error?: unknown; result?: unknown})
      assert.deepEqual(lines.map((l) => l.id), [1, 9, 10], 'the notification got no answer')
      assert.deepEqual(lines[1], {jsonrpc: '2.0', id: 9, error: {code: RPC.INVALID_PARAMS, message: 'Invalid params: marked', data: {reason: 'invalid_params'}}})
      assert.deepEqual(lines[2].result, {})
    })

    it('the MCP server: a tool error the model reads, or a JSON-RPC error; the audit reads the refusal from the thrown value', async () => {
      const key = await vault.key('k', ['*'])
      const echo = (name: string) => ({kind: 'tool' as const, descriptor: {name, inputSchema: {type: 'object' as const}}, call: () => ({content: [{type: 'text' as const, text: name}]})})
      const prompts = [{kind: 'prompt' as const, descriptor: {name: 'blocked'}, get: () => ({messages: []})}]
      const source = new StaticSource('marked', {tools: [echo('blocked'), echo('hidden')], prompts})
      const server = await serveInProcess(vault, {extraStages: refusing, extraSources: [source]})
      stops.push(() => server.close())
      const client = await httpClient(server.url!, {authorization: `Bearer ${key}`})
      clients.push(client)
      const blocked = Refusal.blockedArguments('tool', 'blocked', 'my-pattern')
      assert.deepEqual(await client.callTool({name: 'blocked', arguments: {}}), toolErrorOf(blocked))
      await assert.rejects(client.callTool({name: 'hidden', arguments: {}}), (err: {code: number; message: string}) => err.code === RPC.INVALID_PARAMS && /Unknown tool: hidden$/.test(err.message))
      await assert.rejects(client.getPrompt({name: 'blocked', arguments: {}}), (err: {code: number; message: string}) => err.code === RPC.INVALID_PARAMS && /input guard/.test(err.message))
      await server.close()
      stops.pop()
      const calls = auditEvents(vault).filter((r) => ['guard.block', 'authz.denied', 'tool.call', 'prompt.get'].includes(r.event as string))
      assert.deepEqual(
        calls.map((r) => [r.event, r.tool ?? r.prompt, r.reason ?? r.outcome, r.pattern]),
        [
          ['guard.block', 'blocked', 'pattern', 'my-pattern'],
          ['tool.call', 'blocked', 'blocked', undefined],
          ['authz.denied', 'hidden', 'out_of_scope', undefined],
          ['guard.block', 'blocked', 'pattern', 'my-pattern'],
          ['prompt.get', 'blocked', 'blocked', undefined],
        ],
      )
    })
  })
})
