/**
 * The request pipeline: the generic chain, each stage on its own, and the three stage lists
 * seen from outside (issue 8): a counting stage added to each list sees every request,
 * message and call, refusals included, without a transport being touched; tool sources that
 * change at run time; prompts and resources under their scopes.
 */
import assert from 'node:assert/strict'
import {request as httpRequest} from 'node:http'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {ToolListChangedNotificationSchema} from '@modelcontextprotocol/sdk/types.js'

import {createKey} from '../../../src/keys/index.js'
import {PRESETS, ScopeSet} from '../../../src/policy/index.js'
import {messageContext, parsedMessage, type CallContext, type MessageContext, type RequestContext} from '../../../src/server/context.js'
import {compose, type Stage} from '../../../src/server/pipeline/chain.js'
import {Refusal, RPC} from '../../../src/server/refusal.js'
import {authenticate} from '../../../src/server/stages/authenticate.js'
import {authorize} from '../../../src/server/stages/authorize.js'
import {checkParams} from '../../../src/server/stages/check-params.js'
import {execute} from '../../../src/server/stages/execute.js'
import {allowedHosts} from '../../../src/net/hosts.js'
import {guardHostOrigin} from '../../../src/server/stages/host-origin.js'
import {allowMethods} from '../../../src/server/stages/http-method.js'
import {logRefusals} from '../../../src/server/stages/log-refusals.js'
import {parseMessage} from '../../../src/server/stages/parse-message.js'
import {refuseQueryCredentials} from '../../../src/server/stages/query-credential.js'
import {readBody} from '../../../src/server/stages/read-body.js'
import {bindSession} from '../../../src/server/stages/session.js'
import {validateInput} from '../../../src/server/stages/validate-input.js'
import {Catalog} from '../../../src/server/tools/catalog.js'
import {StaticSource, type SourceTool} from '../../../src/server/tools/source.js'
import {SessionStore, type Session} from '../../../src/server/transports/sessions.js'
import {emptyData} from '../../../src/vault/payload.js'
import {httpClient, INITIALIZE, post} from '../../helpers/server.js'
import {memoryLogger, serveInProcess, stdioPair, testVault, type TestVault} from '../../helpers/inprocess.js'
import {sleep} from '../../helpers/cli.js'
import {testRuntime} from '../../helpers/runtime.js'
import {Redactor} from '../../../src/guard/redactor.js'

/** A request context as the HTTP front makes one, for stages tested alone. */
const RUNTIME = testRuntime()

function httpContext(over: Partial<RequestContext> = {}): RequestContext {
  return {
    transport: 'http',
    runtime: RUNTIME,
    method: 'POST',
    path: '/mcp',
    query: '',
    peer: '127.0.0.1',
    headers: {host: ['127.0.0.1:8765']},
    presented: () => undefined,
    readBody: async () => Buffer.from('{}'),
    responseHeaders: {},
    startedAt: Date.now(),
    ...over,
  }
}

async function refusal(run: () => unknown): Promise<Refusal> {
  try {
    await run()
  } catch (err) {
    if (err instanceof Refusal) return err
    throw err
  }
  throw new Error('expected a Refusal')
}

const next = async () => {}

function tool(name: string, handler: SourceTool['call'] = () => ({content: [{type: 'text', text: name}]})): SourceTool {
  return {kind: 'tool', descriptor: {name, inputSchema: {type: 'object', properties: {n: {type: 'number'}}, additionalProperties: false}}, call: handler}
}

describe('pipeline', function () {
  this.timeout(30_000)

  describe('compose', () => {
    it('runs stages in order, each around the rest, then the terminal', async () => {
      const trace: string[] = []
      const stage = (name: string): Stage<object> => async (_ctx, next) => {
        trace.push(`${name} in`)
        await next()
        trace.push(`${name} out`)
      }
      await compose([stage('a'), stage('b')])({}, () => {
        trace.push('terminal')
      })
      assert.deepEqual(trace, ['a in', 'b in', 'terminal', 'b out', 'a out'])
    })

    it('a stage that throws stops the chain, and outer stages see the error', async () => {
      const seen: unknown[] = []
      let reached = false
      const outer: Stage<object> = async (_ctx, next) => {
        try {
          await next()
        } catch (err) {
          seen.push(err)
          throw err
        }
      }
      const refuse: Stage<object> = () => {
        throw Refusal.forbidden('no', 'No')
      }
      await assert.rejects(compose([outer, refuse, () => void (reached = true)])({}, () => void (reached = true)), /No/)
      assert.equal(reached, false)
      assert.equal((seen[0] as Refusal).reason, 'no')
    })

    it('a stage that does not call next answers instead of the rest', async () => {
      let terminal = false
      await compose<{v?: number}>([(ctx) => void (ctx.v = 1)])({}, () => void (terminal = true))
      assert.equal(terminal, false)
    })
  })

  describe('request stages', () => {
    it('Host and Origin: the bound address and loopback names are allowed, others refused', async () => {
      const hosts = allowedHosts('127.0.0.2', 9000, ['mcp.example'])
      const guard = guardHostOrigin(() => hosts)
      for (const host of ['127.0.0.2:9000', 'localhost:9000', 'mcp.example', 'MCP.example:443']) await guard(httpContext({headers: {host: [host]}}), next)
      assert.equal((await refusal(() => guard(httpContext({headers: {host: ['evil:9000']}}), next))).status, 403)
      assert.equal((await refusal(() => guard(httpContext({headers: {host: ['localhost:9000', 'evil']}}), next))).reason, 'forbidden_host')
      const origin = await refusal(() => guard(httpContext({headers: {host: ['localhost:9000'], origin: ['http://evil.example']}}), next))
      assert.equal(origin.reason, 'forbidden_origin')
      await guard(httpContext({headers: {host: ['localhost:9000'], origin: ['http://localhost:9000']}}), next)
    })

    it('HTTP method: others get 405 with Allow', async () => {
      const r = await refusal(() => allowMethods(['GET', 'POST', 'DELETE'])(httpContext({method: 'PUT'}), next))
      assert.equal(r.status, 405)
      assert.equal(r.headers.allow, 'GET, POST, DELETE')
    })

    it('credentials in the query string are refused under every usual name', async () => {
      const stage = refuseQueryCredentials()
      for (const name of ['api_key', 'apikey', 'api-key', 'key', 'token', 'access_token', 'access-token', 'auth', 'id_token', 'password']) {
        assert.equal((await refusal(() => stage(httpContext({query: `x=1&${name}=secret`}), next))).status, 400, name)
      }
      await stage(httpContext({query: 'monkey=1&tokens=2'}), next)
    })

    it('authenticate: a valid key becomes the principal; a bad one is refused with the reason and a challenge', async () => {
      const data = emptyData()
      const {key} = createKey(data, {name: 'k', scopes: ['echo']})
      const runtime = testRuntime({}, {}, data)
      const stage = authenticate()
      const ok = httpContext({runtime, presented: () => ({source: 'authorization', value: key})})
      await stage(ok, next)
      assert.equal(ok.principal?.name, 'k')
      const missing = await refusal(() => stage(httpContext({runtime}), next))
      assert.equal(missing.status, 401)
      assert.equal(missing.reason, 'missing')
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="keyward"')
      const bad = await refusal(() => stage(httpContext({runtime, presented: () => ({source: 'authorization', value: key.slice(0, -1) + (key.endsWith('x') ? 'y' : 'x')})}), next))
      assert.equal(bad.reason, 'malformed')
      assert.match(bad.headers['www-authenticate'], /error="invalid_token"/)
      const anyone = httpContext({runtime: testRuntime({'auth.methods': 'none'}, {}, data)})
      await stage(anyone, next)
      assert.equal(anyone.principal?.authType, 'none')
    })

    it('read body and parse: 413 past the limit, -32700 for bad JSON, -32600 for a batch', async () => {
      const big = httpContext({readBody: async (limit) => {
        throw Refusal.tooLarge(`over ${limit}`)
      }})
      assert.equal((await refusal(() => readBody()(big, next))).status, 413)
      const get = httpContext({method: 'GET', readBody: async () => assert.fail('GET has no body')})
      await readBody()(get, next)
      const parse = parseMessage()
      assert.equal((await refusal(() => parse(httpContext({body: Buffer.from('{nope')}), next))).code, RPC.PARSE_ERROR)
      assert.equal((await refusal(() => parse(httpContext({body: Buffer.from('[{"jsonrpc":"2.0","id":1,"method":"ping"}]')}), next))).code, RPC.INVALID_REQUEST)
      assert.equal((await refusal(() => parse(httpContext({body: Buffer.from('{"id":1,"method":"ping"}')}), next))).reason, 'invalid_request')
      const ok = httpContext({body: Buffer.from('{"jsonrpc":"2.0","id":1,"method":"ping"}')})
      await parse(ok, next)
      assert.deepEqual(ok.message, {json: {jsonrpc: '2.0', id: 1, method: 'ping'}, id: 1, method: 'ping', params: undefined})
    })

    it('parse: a message nested deeper than 128 levels is refused (-32600, too_deep), however deep; one 128 deep passes', async () => {
      const parse = parseMessage()
      const nested = (depth: number) => Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"x":${'['.repeat(depth - 2)}1${']'.repeat(depth - 2)}}}}`)
      const deep = await refusal(() => parse(httpContext({body: nested(129)}), next))
      assert.equal(deep.code, RPC.INVALID_REQUEST)
      assert.equal(deep.reason, 'too_deep')
      assert.equal((await refusal(() => parse(httpContext({body: nested(200_000)}), next))).reason, 'too_deep')
      const fits = httpContext({body: nested(128)})
      await parse(fits, next)
      assert.equal(fits.message?.method, 'tools/call')
    })

    it('session: only its owner may use a session; without one only initialize passes', async () => {
      const store = new SessionStore()
      const owner = {id: 'key:a', authType: 'api_key' as const, name: 'a', scopes: new ScopeSet(['echo'])}
      const other = {...owner, id: 'key:b'}
      store.add({id: 's1', owner: owner.id, principal: owner, lastSeen: 0} as unknown as Session)
      const stage = bindSession(store)
      const mine = httpContext({headers: {'mcp-session-id': ['s1']}, principal: owner})
      await stage(mine, next)
      assert.equal((mine.session as Session).id, 's1')
      assert.equal((await refusal(() => stage(httpContext({headers: {'mcp-session-id': ['s1']}, principal: other}), next))).status, 404)
      assert.equal((await refusal(() => stage(httpContext({headers: {'mcp-session-id': ['nope']}, principal: owner}), next))).status, 404)
      assert.equal((await refusal(() => stage(httpContext({principal: owner, message: parsedMessage({jsonrpc: '2.0', id: 1, method: 'ping'})}), next))).status, 400)
      await stage(httpContext({principal: owner, message: parsedMessage(INITIALIZE as never)}), next)
      store.forget('s1')
      store.closeAll()
    })

    it('log refusals: one line with the facts, never the credential', async () => {
      const log = memoryLogger()
      const ctx = httpContext({presented: () => ({source: 'authorization', value: 'kw_secret_never_logged'})})
      await assert.rejects(async () => logRefusals(log)(ctx, async () => {
        throw Refusal.unauthenticated({reason: 'revoked', message: 'Unauthorized', status: 401})
      }))
      assert.deepEqual(log.lines, ['info: refused POST /mcp from 127.0.0.1: 401 revoked'])
    })
  })

  describe('message and call stages', () => {
    const principal = {id: 'key:x', authType: 'api_key' as const, name: 'x', scopes: new ScopeSet(['get_*', 'echo'])}
    const message = (method: string, params?: Record<string, unknown>): MessageContext =>
      messageContext(httpContext(), parsedMessage({jsonrpc: '2.0', id: 1, method, params} as never), principal)

    it('check params: tools/call without a name is invalid params, with a sentence', async () => {
      const r = await refusal(() => checkParams()(message('tools/call', {}), next))
      assert.equal(r.code, RPC.INVALID_PARAMS)
      assert.equal(r.message, 'Invalid params: tools/call needs params.name (a string)')
      await checkParams()(message('tools/call', {name: 'echo'}), next)
      assert.equal((await refusal(() => checkParams()(message('resources/read', {}), next))).code, RPC.INVALID_PARAMS)
    })

    it('check params: a method 2026-07-28 removed is not checked in that era (the server answers METHOD_NOT_FOUND), and still is in the 2025 one', async () => {
      const legacy = message('resources/subscribe', {})
      assert.equal((await refusal(() => checkParams()(legacy, next))).code, RPC.INVALID_PARAMS)
      const modern = message('resources/subscribe', {})
      modern.request.era = 'modern'
      let passed = false
      await checkParams()(modern, async () => void (passed = true))
      assert.ok(passed)
    })

    const call = (name: string, args: Record<string, unknown> = {}): CallContext => ({runtime: RUNTIME, principal, kind: 'tool', name, arguments: args, signal: new AbortController().signal})

    it('authorize: out of scope and unknown are the same error, with no prefix', async () => {
      const catalog = new Catalog([new StaticSource('s', {tools: [tool('get_a'), tool('delete_a'), tool('echo')]})], () => Redactor.none)
      const stage = authorize(catalog)
      const ctx = call('get_a')
      await stage(ctx, next)
      assert.equal(ctx.item?.descriptor.name, 'get_a')
      await assert.rejects(async () => stage(call('delete_a'), next), (err: Refusal) => err.code === RPC.INVALID_PARAMS && err.message === 'Unknown tool: delete_a' && err.reason === 'out_of_scope')
      await assert.rejects(async () => stage(call('missing'), next), (err: Refusal) => err.code === RPC.INVALID_PARAMS && err.message === 'Unknown tool: missing' && err.reason === 'unknown')
    })

    it('validate input: JSON Schema, naming the field, refused as a tool error', async () => {
      const bad = await refusal(() => validateInput()({...call('get_a', {n: 'one'}), item: tool('get_a')}, next))
      assert.deepEqual([bad.message, bad.asToolError, bad.kind, bad.reason], ['Invalid arguments for get_a: n must be number', true, 'guard', 'schema'])
      const extra = await refusal(() => validateInput()({...call('get_a', {m: 1}), item: tool('get_a')}, next))
      assert.match(extra.message, /m is not an accepted argument/)
      let passed = false
      await validateInput()({...call('get_a', {n: 1}), item: tool('get_a')}, async () => void (passed = true))
      assert.ok(passed)
    })

    it('execute: a tool that throws gets a fixed message, and its error text stays in the log only', async () => {
      const log = memoryLogger()
      const ctx = {...call('get_a'), item: tool('get_a', () => {
        throw new Error('the database password is hunter2')
      })}
      await execute({name: 'keyward', version: 't', startedAt: 0}, log)(ctx, next)
      assert.deepEqual(ctx.result, {isError: true, content: [{type: 'text', text: 'Tool get_a failed'}]})
      assert.ok(!log.lines.join('').includes('hunter2'))
    })
  })

  describe('the three lists, from outside', () => {
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

    /** Counting stages for each list, recording refusals by reason. */
    function counters() {
      const seen = {request: [] as string[], message: [] as string[], call: [] as string[]}
      const request: Stage<RequestContext> = async (_ctx, next) => {
        try {
          await next()
          seen.request.push('ok')
        } catch (err) {
          seen.request.push(err instanceof Refusal ? `${err.status} ${err.reason}` : 'error')
          throw err
        }
      }
      const message: Stage<MessageContext> = (ctx, next) => {
        seen.message.push(ctx.method ?? 'response')
        return next()
      }
      const call: Stage<CallContext> = (ctx, next) => {
        seen.call.push(`${ctx.kind} ${ctx.name}`)
        return next()
      }
      return {seen, stages: {request: [request], message: [message], call: [call]}}
    }

    it('over HTTP, a request stage sees every request, refusals included; message and call stages see theirs', async () => {
      const key = await vault.key('full', ['full'])
      const {seen, stages} = counters()
      const server = await serveInProcess(vault, {extraStages: stages})
      stops.push(() => server.close())
      const url = server.url!
      const port = new URL(url).port
      const auth = {authorization: `Bearer ${key}`}
      const raw = (headers: Record<string, string>, body: string, query = '') =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest({host: '127.0.0.1', port, path: `/mcp${query}`, method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', ...auth, ...headers}}, (res) => {
            res.resume()
            resolve(res.statusCode!)
          })
          req.on('error', reject)
          req.end(body)
        })
      const init = JSON.stringify(INITIALIZE)
      assert.equal(await raw({host: 'evil.example'}, init), 403)
      assert.equal(await raw({origin: 'http://evil.example'}, init), 403)
      assert.equal(await raw({}, init, `?token=${key}`), 400)
      assert.equal(await raw({}, JSON.stringify({...INITIALIZE, params: {...INITIALIZE.params, pad: 'x'.repeat(70_000)}})), 413)
      assert.equal(await raw({}, '{not json'), 400)
      assert.equal(await raw({'mcp-session-id': 'no-such-session'}, JSON.stringify({jsonrpc: '2.0', id: 2, method: 'ping'})), 404)
      assert.equal(await raw({authorization: 'Bearer kw_nope'}, init), 401)
      assert.deepEqual(seen.request, ['403 forbidden_host', '403 forbidden_origin', '400 credential_in_query', '413 too_large', '400 parse_error', '404 unknown_session', '401 malformed'])
      assert.deepEqual(seen.message, [], 'no refused request reached the message stages')
      const client = await httpClient(url, auth)
      clients.push(client)
      await client.listTools()
      await client.callTool({name: 'echo', arguments: {message: 'counted'}})
      assert.ok(seen.request.filter((s) => s === 'ok').length >= 4, `${seen.request}`)
      assert.deepEqual(seen.message.filter((m) => m !== 'notifications/initialized'), ['initialize', 'tools/list', 'tools/call'])
      assert.deepEqual(seen.call, ['tool echo'])
    })

    it('over stdio, the same stages see every message, refused ones included', async () => {
      const key = await vault.key('limited', ['limited'])
      const {seen, stages} = counters()
      const pair = await stdioPair()
      const server = await serveInProcess(vault, {transport: 'stdio', credential: key, stdio: {input: pair.input, output: pair.output}, extraStages: stages})
      stops.push(() => server.close())
      const client = await pair.connect()
      clients.push(client)
      await client.listTools()
      await client.callTool({name: 'echo', arguments: {message: 'x'}})
      await assert.rejects(client.callTool({name: 'get_time', arguments: {}}), /Unknown tool: get_time/)
      pair.input.write('not json\n')
      await sleep(100)
      assert.deepEqual(seen.message.filter((m) => m !== 'notifications/initialized'), ['initialize', 'tools/list', 'tools/call', 'tools/call'])
      assert.deepEqual(seen.call, ['tool echo', 'tool get_time'], 'a call refused by authorize was still seen')
      assert.equal(seen.request.at(-1), '400 parse_error')
      assert.equal(seen.request.length, 6)
    })

    it('a tool source that adds a tool at run time: clients hear list_changed, and see it if their scopes allow', async () => {
      const broad = await vault.key('broad', ['get_*'])
      const narrow = await vault.key('narrow', ['echo'])
      const source = new StaticSource('dynamic')
      const server = await serveInProcess(vault, {extraSources: [source]})
      stops.push(() => server.close())
      const heard: string[] = []
      const connect = async (key: string, name: string) => {
        const client = await httpClient(server.url!, {authorization: `Bearer ${key}`})
        clients.push(client)
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.push(name))
        // The standalone SSE stream that carries server notifications opens after initialize.
        await client.listTools()
        return client
      }
      const a = await connect(broad, 'broad')
      const b = await connect(narrow, 'narrow')
      await sleep(200)
      assert.deepEqual((await a.listTools()).tools.map((t) => t.name), ['get_time'])
      source.set('tool', [tool('get_weather')])
      for (let i = 0; i < 50 && !heard.includes('broad'); i++) await sleep(20)
      assert.deepEqual(heard, ['broad'], 'only the session whose view changed is told')
      assert.deepEqual((await a.listTools()).tools.map((t) => t.name).sort(), ['get_time', 'get_weather'])
      assert.deepEqual((await b.listTools()).tools.map((t) => t.name), ['echo'])
      const called = await a.callTool({name: 'get_weather', arguments: {n: 1}})
      assert.deepEqual(called.content, [{type: 'text', text: 'get_weather'}])
    })

    it('stateful HTTP answers a plain call with JSON, and streams a call that reports progress (SSE)', async () => {
      const key = await vault.key('k', ['*'])
      const progressing: SourceTool = {
        kind: 'tool',
        descriptor: {name: 'count', inputSchema: {type: 'object'}},
        async call(_args, env) {
          const token = env.meta?.progressToken
          for (let i = 1; i <= 3; i++) {
            if (token !== undefined) await env.client!.notify({method: 'notifications/progress', params: {progressToken: token as string, progress: i, total: 3}})
          }
          return {content: [{type: 'text', text: 'counted'}]}
        },
      }
      const server = await serveInProcess(vault, {extraSources: [new StaticSource('p', {tools: [progressing]})]})
      stops.push(() => server.close())
      const client = await httpClient(server.url!, {authorization: `Bearer ${key}`})
      clients.push(client)
      const seen: number[] = []
      const result = await client.callTool({name: 'count', arguments: {}}, undefined, {onprogress: (p) => void seen.push(p.progress)})
      assert.deepEqual(seen, [1, 2, 3])
      assert.deepEqual(result.content, [{type: 'text', text: 'counted'}])
      const opened = await post(server.url!, INITIALIZE, {authorization: `Bearer ${key}`})
      assert.match(opened.headers.get('content-type') ?? '', /^application\/json/)
      const headers = {authorization: `Bearer ${key}`, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25'}
      const plain = await post(server.url!, {jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'count', arguments: {}}}, headers)
      assert.match(plain.headers.get('content-type') ?? '', /^application\/json/)
      const streamed = await post(server.url!, {jsonrpc: '2.0', id: 3, method: 'tools/call', params: {name: 'count', arguments: {}, _meta: {progressToken: 'p'}}}, headers)
      assert.match(streamed.headers.get('content-type') ?? '', /^text\/event-stream/)
      assert.equal(streamed.text.match(/notifications\/progress/g)?.length, 3)
      assert.match(streamed.text, /"id":3/)
      const again = await post(server.url!, INITIALIZE, headers)
      assert.equal(again.status, 400, 'a session is initialized once')
    })

    it('prompts and resources are listed, read and got only under prompt: and resource: scopes', async () => {
      const source = new StaticSource('docs', {
        prompts: [{kind: 'prompt', descriptor: {name: 'summarize', arguments: [{name: 'topic', required: true}]}, get: (args) => ({messages: [{role: 'user', content: {type: 'text', text: `Summarize ${args.topic}`}}]})}],
        resources: [{kind: 'resource', descriptor: {uri: 'file:///docs/a.md', name: 'a'}, read: () => ({contents: [{uri: 'file:///docs/a.md', text: '# A'}]})}],
      })
      const both = await vault.key('both', ['echo', 'prompt:summar*', 'resource:file:///docs/**'])
      const tools = await vault.key('tools', ['*'])
      const server = await serveInProcess(vault, {extraSources: [source], stateless: true})
      stops.push(() => server.close())
      const allowed = await httpClient(server.url!, {authorization: `Bearer ${both}`})
      const denied = await httpClient(server.url!, {authorization: `Bearer ${tools}`})
      clients.push(allowed, denied)
      assert.deepEqual((await allowed.listPrompts()).prompts.map((p) => p.name), ['summarize'])
      assert.deepEqual((await allowed.listResources()).resources.map((r) => r.uri), ['file:///docs/a.md'])
      const got = await allowed.getPrompt({name: 'summarize', arguments: {topic: 'MCP'}})
      assert.deepEqual(got.messages[0].content, {type: 'text', text: 'Summarize MCP'})
      assert.deepEqual((await allowed.readResource({uri: 'file:///docs/a.md'})).contents, [{uri: 'file:///docs/a.md', text: '# A'}])
      assert.deepEqual((await denied.listPrompts()).prompts, [])
      assert.deepEqual((await denied.listResources()).resources, [])
      await assert.rejects(denied.getPrompt({name: 'summarize', arguments: {topic: 'x'}}), /Unknown prompt: summarize/)
      await assert.rejects(denied.readResource({uri: 'file:///docs/a.md'}), /Unknown resource: file:\/\/\/docs\/a\.md/)
      await assert.rejects(allowed.getPrompt({name: 'summarize', arguments: {}}), /topic is required/)
      assert.ok(PRESETS.full.includes('prompt:*'))
    })
  })
})
