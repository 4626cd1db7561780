/**
 * MCP 2026-07-28 beside the 2025 era (issue 21), through the built CLI with real SDK clients
 * and upstreams: the era matrix (client era × upstream era × transport), the bridge in both
 * directions, every rule of the sealed requestState, the revision's own checks (`_meta`,
 * standard headers, protocol versions, client capabilities), `subscriptions/listen`, cache
 * hints and the era in the audit log.
 *
 * Clients: the SDK 1.x Client stands for 2025-era clients (deployed ones are built with it),
 * the SDK v2 Client negotiating (server/discover first) for 2026-07-28 ones. Upstreams over
 * stdio: test/fixtures/upstream-server.ts (SDK 1.x, 2025 era), and
 * test/fixtures/dual-era-upstream.ts (SDK v2) with --modern-only, which refuses initialize as a
 * 2026-only server does. Over HTTP: test/fixtures/conformance-modern.ts (SDK v2), dual-era and
 * --modern-only: keyward connects to both in 2026-07-28 (server/discover first), passes their
 * input requests through to 2026-07-28 clients and asks 2025 clients on their own call's channel.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {request} from 'node:http'
import path from 'node:path'

import {Client as ModernClient, StreamableHTTPClientTransport as ModernHttp} from '@modelcontextprotocol/client'
import {StdioClientTransport as ModernStdio} from '@modelcontextprotocol/client/stdio'
import {Client as LegacyClient} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport as LegacyStdio} from '@modelcontextprotocol/sdk/client/stdio.js'
import {StreamableHTTPClientTransport as LegacyHttp} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {CreateMessageRequestSchema, ElicitRequestSchema} from '@modelcontextprotocol/sdk/types.js'

import {ROOT, Sandbox, sleep, until} from '../helpers/cli.js'
import {freePort} from '../helpers/redis.js'
import {bearer, post, startServe, type RunningServe} from '../helpers/server.js'

const LEGACY_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const DUAL_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'dual-era-upstream.js')
const HTTP_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'conformance-modern.js')
const HEADER_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'header-upstream.js')
const BIN = path.join(ROOT, 'bin', 'run.js')
const MODERN = '2026-07-28'
const textOf = (r: unknown) => ((r as {content?: {text: string}[]}).content?.[0]?.text ?? '')

type Transport = 'stdio' | 'stateful' | 'stateless'
type Era = 'legacy' | 'modern'
interface AnyClient {
  listTools(): Promise<{tools: {name: string}[]}>
  callTool(params: {name: string; arguments?: Record<string, unknown>}, ...rest: unknown[]): Promise<unknown>
  close(): Promise<void>
}

const ELICITED = {action: 'accept' as const, content: {name: 'Ada'}}
const SAMPLED = {role: 'assistant' as const, content: {type: 'text' as const, text: 'hi'}, model: 'test-model'}

/** An accepted elicitation that fits the schema asked for (clients check their answer against it): a name is Ada, a yes/no true, anything else blue. */
function elicited(params: unknown) {
  const properties = ((params as {requestedSchema?: {properties?: Record<string, {type?: string}>}}).requestedSchema?.properties ?? {}) as Record<string, {type?: string}>
  return {action: 'accept' as const, content: Object.fromEntries(Object.entries(properties).map(([k, p]) => [k, p.type === 'boolean' ? true : k === 'name' ? 'Ada' : 'blue']))}
}

/** A 2025-era client that answers elicitation with a name and sampling with "hi". */
function legacyClient(asked: string[]): LegacyClient {
  const client = new LegacyClient({name: 'legacy-client', version: '1.0.0'}, {capabilities: {elicitation: {}, sampling: {}}})
  client.setRequestHandler(ElicitRequestSchema, async (request) => (asked.push('elicitation'), elicited(request.params)))
  client.setRequestHandler(CreateMessageRequestSchema, async () => (asked.push('sampling'), SAMPLED))
  return client
}

/** A 2026-07-28 client (it negotiates with server/discover) that answers input requests the same way. */
function modernClient(asked: string[]): ModernClient {
  const client = new ModernClient({name: 'modern-client', version: '1.0.0'}, {capabilities: {elicitation: {}, sampling: {}}, versionNegotiation: {mode: 'auto'}})
  client.setRequestHandler('elicitation/create', async (request) => (asked.push('elicitation'), elicited(request.params)))
  client.setRequestHandler('sampling/createMessage', async () => (asked.push('sampling'), SAMPLED))
  return client
}

/** The `_meta` a 2026-07-28 request carries. */
function envelope(capabilities: Record<string, unknown> = {elicitation: {}, sampling: {}}, extra: Record<string, unknown> = {}) {
  return {'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientInfo': {name: 'raw', version: '1'}, 'io.modelcontextprotocol/clientCapabilities': capabilities, ...extra}
}

/** A POST with its headers as given, name and value in turn: a name may come twice, as no fetch sends it. */
function rawPost(url: string, body: string, headers: string[]): Promise<{status: number; text: string}> {
  return new Promise((resolve, reject) => {
    // Given as a list, Node adds neither Host nor Content-Length.
    const all = [...headers, 'host', new URL(url).host, 'content-length', String(Buffer.byteLength(body))]
    const req = request(url, {method: 'POST', headers: all}, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, text}))
    })
    req.on('error', reject)
    // As bytes: Node writes the headers with the first chunk of a string body, in its encoding (UTF-8), and as Latin-1 otherwise.
    req.end(Buffer.from(body))
  })
}

/** A raw 2026-07-28 POST with the standard headers derived from the body (unless given). */
async function modernPost(url: string, key: string, body: {id?: number; method: string; params: Record<string, unknown>}, headers: Record<string, string> = {}) {
  const name = body.params.name ?? body.params.uri
  const standard = {'mcp-protocol-version': MODERN, 'mcp-method': body.method, ...(typeof name === 'string' ? {'mcp-name': name} : {})}
  const r = await post(url, {jsonrpc: '2.0', id: body.id ?? 1, ...body}, {...bearer(key), ...standard, ...headers})
  return {...r, json: r.text.startsWith('{') ? (JSON.parse(r.text) as {result?: Record<string, unknown>; error?: {code: number; message: string; data?: unknown}}) : undefined}
}

describe('protocol eras (issue 21)', function () {
  this.timeout(120_000)
  let box: Sandbox
  let key: string
  const servers = new Map<Transport, RunningServe>()
  const clients: AnyClient[] = []
  const httpUpstreams: ChildProcess[] = []

  /** An HTTP fixture (the conformance one unless given) on a free port, once it listens; its URL. */
  async function httpUpstream(...flags: string[]): Promise<string> {
    const port = await freePort()
    const [fixture, ...rest] = flags[0]?.endsWith('.js') ? flags : [HTTP_FIXTURE, ...flags]
    const child = spawn(process.execPath, [fixture, '--port', String(port), ...rest], {stdio: ['ignore', 'ignore', 'pipe']})
    httpUpstreams.push(child)
    await new Promise((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => / upstream on http/.test(d) && resolve(undefined))
      child.once('exit', (code) => reject(new Error(`the HTTP fixture exited with ${code}`)))
    })
    return `http://127.0.0.1:${port}/mcp`
  }

  before(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
    for (const [name, args] of [
      ['legacy', ['--', process.execPath, LEGACY_FIXTURE]],
      ['modern', ['--', process.execPath, DUAL_FIXTURE, '--modern-only']],
      ['dualhttp', ['--url', await httpUpstream()]],
      ['modernhttp', ['--url', await httpUpstream('--modern-only')]],
      ['headerhttp', ['--url', await httpUpstream(HEADER_FIXTURE, '--invalid')]],
      ['hdr', ['--env', 'FIXTURE_HEADERS=1', '--', process.execPath, LEGACY_FIXTURE]],
    ] as const) {
      const r = await box.run(['upstream', 'add', name, '--skip-check', ...args])
      assert.equal(r.code, 0, r.stderr)
    }
    key = (await box.run(['keys', 'generate', '--name', 'matrix', '--scope', 'full'])).stdout.trim()
    servers.set('stateful', await startServe(box, []))
    servers.set('stateless', await startServe(box, ['--stateless']))
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
  })

  after(async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()))
    for (const child of httpUpstreams) child.kill()
    await box.cleanup()
  })

  /** A new key, once every given server has reloaded the vault and accepts it. */
  async function newKey(name: string, scope: string, ...on: RunningServe[]): Promise<string> {
    const made = (await box.run(['keys', 'generate', '--name', name, '--scope', scope])).stdout.trim()
    for (const server of on) {
      for (let t = 0; t < 100; t++) {
        if ((await modernPost(server.url, made, {method: 'tools/list', params: {_meta: envelope()}})).status === 200) break
        await sleep(50)
      }
    }
    return made
  }

  async function connect(era: Era, transport: Transport, asked: string[]): Promise<AnyClient> {
    const client = era === 'legacy' ? legacyClient(asked) : modernClient(asked)
    if (transport === 'stdio') {
      const params = {command: process.execPath, args: [BIN, 'serve', '--transport', 'stdio'], env: {...box.env, KEYWARD_API_KEY: key}, cwd: box.dir, stderr: 'pipe' as const}
      await (client as LegacyClient).connect((era === 'legacy' ? new LegacyStdio(params) : new ModernStdio(params)) as never)
    } else {
      const url = new URL(servers.get(transport)!.url)
      const requestInit = {headers: bearer(key)}
      await (client as LegacyClient).connect((era === 'legacy' ? new LegacyHttp(url, {requestInit}) : new ModernHttp(url, {requestInit})) as never)
    }
    clients.push(client as AnyClient)
    if (era === 'modern') assert.equal((client as ModernClient).getProtocolEra(), 'modern')
    return client as AnyClient
  }

  /**
   * The server a client talks to is keyward, whatever answered behind it: a 2026-07-28 answer
   * names keyward in its `_meta`, and an upstream's own identity (a 2026-07-28 upstream names
   * itself in every result) reaches no client, of either era.
   */
  function assertServedByKeyward(clientEra: Era, result: unknown): void {
    const named = ((result as {_meta?: Record<string, unknown>})._meta ?? {})['io.modelcontextprotocol/serverInfo'] as {name?: string} | undefined
    assert.deepEqual(named?.name, clientEra === 'modern' ? 'keyward' : undefined, JSON.stringify(result))
  }

  describe('the era matrix: client era × upstream era × transport', () => {
    for (const transport of ['stdio', 'stateful', 'stateless'] as const) {
      for (const clientEra of ['legacy', 'modern'] as const) {
        for (const upstreamEra of ['legacy', 'modern'] as const) {
          // A 2025 client over stateless HTTP has no way back for requests (issue 16): its cells serve calls that need no input.
          const input = !(clientEra === 'legacy' && transport === 'stateless')
          it(`${clientEra} client × ${upstreamEra} upstream × ${transport}: ${input ? 'elicitation and sampling during the call reach the client' : 'lists and calls'}`, async () => {
            const asked: string[] = []
            const client = await connect(clientEra, transport, asked)
            const names = (await client.listTools()).tools.map((t) => t.name)
            assert.ok(names.includes(`${upstreamEra}__ask_both`), names.join(' '))
            if (!input) {
              const tool = upstreamEra === 'legacy' ? 'legacy__set_value' : 'modern__whoami'
              const r = await client.callTool({name: tool, arguments: upstreamEra === 'legacy' ? {value: 'x'} : {}})
              assert.match(textOf(r), upstreamEra === 'legacy' ? /^set x$/ : /era=modern version=2026-07-28/)
              assertServedByKeyward(clientEra, r)
              return
            }
            const r = await client.callTool({name: `${upstreamEra}__ask_both`, arguments: {}})
            assert.match(textOf(r), /name=Ada model=hi/, JSON.stringify(r))
            assertServedByKeyward(clientEra, r)
            assert.ok(asked.includes('elicitation') && asked.includes('sampling'), asked.join(' '))
            if (upstreamEra === 'modern') assert.match(textOf(r), /state=dual-era:2$/, 'the upstream got its own requestState back intact')
          })
        }
      }
    }
  })

  describe('upstreams over HTTP, of either era: the matrix again, with the upstream asking in the 2026-07-28 way', () => {
    it('upstream test names the revision each upstream speaks', async () => {
      for (const [name, revision] of [['dualhttp', /: MCP 2026-07-28;/], ['modernhttp', /: MCP 2026-07-28;/], ['legacy', /: 2025 era, MCP 2025-11-25;/], ['modern', /: MCP 2026-07-28;/]] as const) {
        const r = await box.run(['upstream', 'test', name])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, revision, name)
      }
    })

    it('a tool that declares x-mcp-header (SEP-2243) is called with its Mcp-Param header, which the upstream requires, for clients of both eras', async () => {
      for (const [clientEra, transport] of [['modern', 'stateless'], ['legacy', 'stateful']] as const) {
        const client = await connect(clientEra, transport, [])
        const routed = await client.callTool({name: 'headerhttp__route', arguments: {region: 'eu-west', note: 'n'}})
        assert.equal(textOf(routed), 'region=eu-west', `${clientEra}: ${JSON.stringify(routed)}`)
        // A value that is not plain ASCII travels Base64-encoded in the header, and still agrees with the body.
        assert.equal(textOf(await client.callTool({name: 'headerhttp__route', arguments: {region: ' Zürich '}})), 'region= Zürich ', clientEra)
        // A tool whose declaration no client may honour is left out, as SEP-2243 has a client do.
        assert.ok(!(await client.listTools()).tools.some((t) => t.name === 'headerhttp__bad'), clientEra)
      }
      // The operator is told in keyward's own log, once; the upstream's text never reaches it raw (no forged line, no escape).
      const logs = [...servers.values()].map((s) => s.logs()).join('\n')
      assert.match(logs, /upstream headerhttp listed 1 tool whose x-mcp-header declarations are not valid \(SEP-2243\): left out/)
      assert.doesNotMatch(logs, /forged line|\u001b/)
    })

    it("a stdio 2025 upstream's tool whose x-mcp-header declarations are not valid is offered without them, and works for clients of both eras; a valid declaration is kept, and its header required (SEP-2243)", async () => {
      for (const [clientEra, transport] of [['modern', 'stateless'], ['legacy', 'stateful']] as const) {
        const client = await connect(clientEra, transport, [])
        const tools = (await client.listTools()).tools as {name: string; inputSchema?: unknown}[]
        // The SDK's 2026-07-28 HTTP client leaves out a tool whose declarations are not valid: listed, it was offered without them.
        const misdeclared = JSON.stringify(tools.find((t) => t.name === 'hdr__misdeclared')?.inputSchema)
        assert.ok(misdeclared, `${clientEra}: ${tools.map((t) => t.name).join(', ')}`)
        assert.doesNotMatch(misdeclared, /Count|Bad Name/)
        // Data that only holds the key (a default) is the upstream's, as it was.
        assert.match(misdeclared, /data, not a declaration/)
        assert.equal(textOf(await client.callTool({name: 'hdr__misdeclared', arguments: {count: 3, zone: 'z'}})), '{"count":3,"zone":"z"}', clientEra)
        assert.match(JSON.stringify(tools.find((t) => t.name === 'hdr__declared')?.inputSchema), /"x-mcp-header":"Region"/, clientEra)
        assert.equal(textOf(await client.callTool({name: 'hdr__declared', arguments: {region: 'eu'}})), '{"region":"eu"}', clientEra)
      }
      const unheaded = await modernPost(servers.get('stateless')!.url, key, {method: 'tools/call', params: {name: 'hdr__declared', arguments: {region: 'eu'}, _meta: envelope()}})
      assert.equal(unheaded.status, 400)
      assert.equal(unheaded.json?.error?.code, -32020)
      const logs = [...servers.values()].map((s) => s.logs()).join('\n')
      assert.match(logs, /upstream hdr listed 1 tool whose x-mcp-header declarations are not valid \(SEP-2243\): offered without them/)
    })

    it("a 2026-07-28 call whose Mcp-Param header is missing, repeated or disagrees with its arguments is refused (400, -32020) before it reaches the upstream; one that agrees is served (SEP-2243)", async () => {
      for (const transport of ['stateless', 'stateful'] as const) {
        const url = servers.get(transport)!.url
        const call = (args: Record<string, unknown>, headers: Record<string, string> = {}) => modernPost(url, key, {method: 'tools/call', params: {name: 'headerhttp__route', arguments: args, _meta: envelope()}}, headers)
        for (const [args, headers, reason] of [
          [{region: 'eu-west'}, {}, /Mcp-Param-Region header is absent/],
          [{region: 'eu-west'}, {'mcp-param-region': 'us-east'}, /Mcp-Param-Region header disagrees with arguments\.region/],
          [{region: 'Zürich'}, {'mcp-param-region': '=?base64?not base64?='}, /invalid Base64/],
        ] as const) {
          const r = await call(args, headers)
          assert.equal(r.status, 400, `${transport}: ${r.text}`)
          assert.equal(r.json?.error?.code, -32020, r.text)
          assert.match(r.json!.error!.message, reason)
          // A refusal names the header, never the values: arguments may be anything, and refusals are logged.
          assert.doesNotMatch(r.text, /us-east|eu-west|Zürich/)
        }
        // A header sent twice (fetch would join the copies into one): keyward sees each copy, and refuses rather than pick one.
        const repeated = await rawPost(url, JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'headerhttp__route', arguments: {region: 'eu-west'}, _meta: envelope()}}), [
          ...Object.entries({...bearer(key), 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'headerhttp__route'}).flat(),
          'mcp-param-region',
          'eu-west',
          'mcp-param-region',
          'eu-west',
        ])
        assert.equal(repeated.status, 400, transport)
        assert.match(repeated.text, /appears more than once/)
        // The bytes of 'Zürich' in Latin-1, unencoded: Node reads them as 'Zürich', a proxy comparing bytes (or UTF-8) as another value; no client sends them so.
        const latin1 = await rawPost(url, JSON.stringify({jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'headerhttp__route', arguments: {region: 'Zürich'}, _meta: envelope()}}), [
          ...Object.entries({...bearer(key), 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'headerhttp__route'}).flat(),
          'mcp-param-region',
          'Z\xFCrich',
        ])
        assert.equal(latin1.status, 400, `${transport}: ${latin1.text}`)
        assert.match(latin1.text, /must be Base64-encoded/)
        // Agreeing, plainly or Base64-encoded, the call is served; an argument left out needs no header.
        assert.match((await call({region: 'eu-west'}, {'mcp-param-region': 'eu-west'})).text, /region=eu-west/)
        assert.match((await call({region: 'Zürich'}, {'mcp-param-region': `=?base64?${Buffer.from('Zürich').toString('base64')}?=`})).text, /region=Zürich/)
      }
      // A caller that may not see the tool learns nothing from its headers: it is an unknown tool, not a mismatch.
      const narrow = await newKey('param-narrow', 'tool:legacy__*', servers.get('stateless')!)
      const hidden = await modernPost(servers.get('stateless')!.url, narrow, {method: 'tools/call', params: {name: 'headerhttp__route', arguments: {region: 'eu-west'}, _meta: envelope()}})
      assert.notEqual(hidden.json?.error?.code, -32020, hidden.text)
      assert.match(hidden.text, /unknown|not found/i)
    })

    for (const transport of ['stdio', 'stateful', 'stateless'] as const) {
      for (const clientEra of ['legacy', 'modern'] as const) {
        for (const upstream of ['dualhttp', 'modernhttp'] as const) {
          const input = !(clientEra === 'legacy' && transport === 'stateless')
          const upstreamEra = upstream === 'dualhttp' ? 'dual-era HTTP upstream (connected in 2026-07-28)' : '2026-only HTTP upstream'
          it(`${clientEra} client × ${upstreamEra} × ${transport}: ${input ? 'two rounds of elicitation under the upstream\'s own signed state, then sampling, reach the client' : 'calls'}`, async () => {
            const asked: string[] = []
            const client = await connect(clientEra, transport, asked)
            if (!input) {
              const simple = await client.callTool({name: `${upstream}__test_simple_text`, arguments: {}})
              assert.equal(textOf(simple), 'This is a simple text response for testing.')
              assertServedByKeyward(clientEra, simple)
              return
            }
            // The fixture signs its requestState and checks it on each round: the call completes only if it came back intact.
            const rounds = await client.callTool({name: `${upstream}__test_input_required_result_multi_round`, arguments: {}})
            assert.equal(textOf(rounds), 'Multi-round complete for Ada who likes blue', JSON.stringify(rounds))
            assertServedByKeyward(clientEra, rounds)
            const sampled = await client.callTool({name: `${upstream}__test_input_required_result_sampling`, arguments: {}})
            assert.equal(textOf(sampled), 'Sampling result: hi', JSON.stringify(sampled))
            assert.deepEqual(asked, ['elicitation', 'elicitation', 'sampling'])
          })
        }
      }
    }
  })

  describe('a modern client, a call held for input: every rule of requestState, through the server', () => {
    let strict: RunningServe
    let alice: string
    let bob: string
    const auditFile = () => box.path('strict-audit.jsonl')

    before(async () => {
      alice = (await box.run(['keys', 'generate', '--name', 'alice', '--scope', 'legacy__*'])).stdout.trim()
      bob = (await box.run(['keys', 'generate', '--name', 'bob', '--scope', 'legacy__*'])).stdout.trim()
      strict = await startServe(box, ['--stateless', '--server-input-timeout', '1s', '--audit-log', auditFile()])
    })

    after(async () => {
      await strict.stop()
    })

    const ask = (who: string, extra: Record<string, unknown> = {}, tool = 'legacy__ask_user', meta = envelope()) =>
      modernPost(strict.url, who, {method: 'tools/call', params: {name: tool, arguments: {}, ...extra, _meta: meta}})

    /** A first round: the InputRequiredResult keyward answers, its one input request's key and its state. */
    async function firstRound(who: string, tool = 'legacy__ask_user') {
      const r = await ask(who, {}, tool)
      assert.equal(r.status, 200, r.text)
      const result = r.json!.result as {resultType: string; inputRequests: Record<string, {method: string; params: {message?: string}}>; requestState: string}
      assert.equal(result.resultType, 'input_required', r.text)
      const [[inputKey, request]] = Object.entries(result.inputRequests)
      return {inputKey, request, state: result.requestState}
    }

    const answer = (inputKey: string) => ({[inputKey]: ELICITED})
    /** The client hears one answer for every refused state; which rule refused it is in the audit log only. */
    const refusedState = async (r: Awaited<ReturnType<typeof ask>>, rule: string) => {
      assert.equal(r.json?.error?.code, -32602, r.text)
      assert.equal(r.json?.error?.message, 'Invalid or expired requestState')
      assert.deepEqual(r.json?.error?.data, {reason: 'invalid_request_state'})
      let last: Record<string, unknown> | undefined
      for (let t = 0; t < 40; t++) {
        last = readFileSync(auditFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((x) => x.event === 'request.refused').at(-1)
        if (last?.reason === `request_state_${rule}`) break
        await sleep(50)
      }
      assert.equal(last?.reason, `request_state_${rule}`)
    }

    it('the upstream\'s elicitation reaches the client as an input request, and the retry completes the call', async () => {
      const {inputKey, request, state} = await firstRound(alice)
      assert.equal(request.method, 'elicitation/create')
      assert.equal(request.params.message, 'your name?')
      assert.match(state, /^kws1\./, 'keyward seals the state; nothing of the upstream is in it')
      const done = await ask(alice, {inputResponses: answer(inputKey), requestState: state})
      assert.equal(textOf(done.json!.result), 'user said: accept {"name":"Ada"}', done.text)
      assert.equal(done.json!.result!.resultType, 'complete')
    })

    it('a tampered state is refused', async () => {
      const {inputKey, state} = await firstRound(alice)
      const i = state.length - 10
      const tampered = state.slice(0, i) + (state[i] === 'A' ? 'B' : 'A') + state.slice(i + 1)
      await refusedState(await ask(alice, {inputResponses: answer(inputKey), requestState: tampered}), 'invalid')
      // The call is still held for the real state (one upstream call in flight at a time keeps the upstream's requests routed: issue 16).
      assert.match(textOf((await ask(alice, {inputResponses: answer(inputKey), requestState: state})).json!.result), /user said: accept/)
    })

    it('a state sent with another credential is refused, and stays good for its own caller', async () => {
      const {inputKey, state} = await firstRound(alice)
      await refusedState(await ask(bob, {inputResponses: answer(inputKey), requestState: state}), 'invalid')
      const done = await ask(alice, {inputResponses: answer(inputKey), requestState: state})
      assert.match(textOf(done.json!.result), /user said: accept/)
    })

    it('a state used for another tool is refused', async () => {
      const {inputKey, state} = await firstRound(alice)
      await refusedState(await ask(alice, {inputResponses: answer(inputKey), requestState: state}, 'legacy__ask_model'), 'wrong_request')
      assert.match(textOf((await ask(alice, {inputResponses: answer(inputKey), requestState: state})).json!.result), /user said: accept/)
    })

    it('a replayed state is refused', async () => {
      const {inputKey, state} = await firstRound(alice)
      const done = await ask(alice, {inputResponses: answer(inputKey), requestState: state})
      assert.match(textOf(done.json!.result), /user said: accept/)
      await refusedState(await ask(alice, {inputResponses: answer(inputKey), requestState: state}), 'replayed')
    })

    it('an expired state is refused, and the held call was ended', async () => {
      const {inputKey, state} = await firstRound(alice)
      await sleep(1600)
      await refusedState(await ask(alice, {inputResponses: answer(inputKey), requestState: state}), 'expired')
    })

    it('a retry is authorized again: a key re-scoped since the first round is refused the tool', async () => {
      const carol = (await box.run(['keys', 'generate', '--name', 'carol', '--scope', 'legacy__*'])).stdout.trim()
      for (let t = 0; t < 100 && (await ask(carol, {}, 'legacy__set_value')).status !== 200; t++) await sleep(50)
      const {inputKey, state} = await firstRound(carol)
      assert.equal((await box.run(['keys', 'scope', 'carol', '--set', 'echo'])).code, 0)
      // Once the server has the new scopes (another legacy tool is refused), the retry is too.
      for (let t = 0; t < 100 && (await ask(carol, {}, 'legacy__set_value')).json?.error === undefined; t++) await sleep(50)
      const r = await ask(carol, {inputResponses: answer(inputKey), requestState: state})
      assert.equal(r.json?.error?.code, -32602, r.text)
      assert.equal(r.json?.error?.message, 'Unknown tool: legacy__ask_user')
      // Refused as a first call would be, and audited as one is: authz.denied with the caller and the tool.
      let denied: Record<string, unknown> | undefined
      for (let t = 0; t < 40 && !denied; t++) {
        denied = readFileSync(auditFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((x) => x.event === 'authz.denied' && x.tool === 'legacy__ask_user')
        if (!denied) await sleep(50)
      }
      assert.ok(denied, 'the refused retry is audited')
      assert.equal(denied.reason, 'out_of_scope')
      assert.equal(denied.era, 'modern')
      await sleep(1600) // the held call ends with its state
    })

    it('an input request the client did not declare the capability for is MISSING_CLIENT_CAPABILITY (400)', async () => {
      const r = await ask(alice, {}, 'legacy__ask_user', envelope({sampling: {}}))
      assert.equal(r.status, 400, r.text)
      assert.equal(r.json?.error?.code, -32021)
      assert.deepEqual(r.json?.error?.data, {requiredCapabilities: {elicitation: {form: {}}}})
    })

    it('the audit log names the era of every call and every refused state, with the rule only there', async () => {
      await sleep(300)
      const records = readFileSync(auditFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      const calls = records.filter((r) => r.event === 'tool.call')
      assert.ok(calls.length > 0 && calls.every((r) => r.era === 'modern'), JSON.stringify(calls.slice(0, 2)))
      const refused = records.filter((r) => r.event === 'request.refused').map((r) => `${r.era} ${r.reason}`)
      for (const rule of ['invalid', 'replayed', 'wrong_request', 'expired']) assert.ok(refused.includes(`modern request_state_${rule}`), refused.join(', '))
      assert.ok(refused.includes('modern missing_client_capability'), refused.join(', '))
    })

    describe("a 2026-07-28 upstream's own input requests, passed through", () => {
      let dave: string
      let erin: string
      const TOOL = 'modernhttp__test_input_required_result_request_state'
      const confirm = {confirm: {action: 'accept', content: {ok: true}}}

      before(async () => {
        dave = (await box.run(['keys', 'generate', '--name', 'dave', '--scope', 'modernhttp__*'])).stdout.trim()
        erin = (await box.run(['keys', 'generate', '--name', 'erin', '--scope', 'modernhttp__*'])).stdout.trim()
        for (let t = 0; t < 100 && (await ask(erin, {}, TOOL)).status !== 200; t++) await sleep(50)
      })

      /** The upstream's own round: its input request under its own key; its signed state sealed inside keyward's. */
      async function upstreamRound(who: string) {
        const r = await ask(who, {}, TOOL)
        const result = r.json?.result as {resultType: string; inputRequests: Record<string, {method: string}>; requestState: string}
        assert.equal(result?.resultType, 'input_required', r.text)
        assert.deepEqual(Object.keys(result.inputRequests), ['confirm'], 'the upstream\'s own key, as it made it')
        assert.match(result.requestState, /^kws1\./)
        return result.requestState
      }

      it('the retry brings the upstream its own state back, intact (it verifies its signature)', async () => {
        const state = await upstreamRound(dave)
        const done = await ask(dave, {inputResponses: confirm, requestState: state}, TOOL)
        assert.equal(textOf(done.json!.result), 'state-ok: requestState validated', done.text)
      })

      it('a tampered state, one sent with another credential, one for another tool, a replayed one and an expired one are refused', async () => {
        const state = await upstreamRound(dave)
        const i = state.length - 10
        await refusedState(await ask(dave, {inputResponses: confirm, requestState: state.slice(0, i) + (state[i] === 'A' ? 'B' : 'A') + state.slice(i + 1)}, TOOL), 'invalid')
        await refusedState(await ask(erin, {inputResponses: confirm, requestState: state}, TOOL), 'invalid')
        await refusedState(await ask(dave, {inputResponses: confirm, requestState: state}, 'modernhttp__test_input_required_result_elicitation'), 'wrong_request')
        assert.match(textOf((await ask(dave, {inputResponses: confirm, requestState: state}, TOOL)).json!.result), /state-ok/)
        await refusedState(await ask(dave, {inputResponses: confirm, requestState: state}, TOOL), 'replayed')
        const late = await upstreamRound(dave)
        await sleep(1600)
        await refusedState(await ask(dave, {inputResponses: confirm, requestState: late}, TOOL), 'expired')
      })

      it('the upstream is told what the request declared: without elicitation, it refuses with MISSING_CLIENT_CAPABILITY itself', async () => {
        const r = await ask(dave, {}, TOOL, envelope({sampling: {}}))
        assert.equal(r.json?.error?.code, -32021, r.text)
      })
    })
  })

  describe("the revision's own checks, over HTTP", () => {
    const list = (meta: Record<string, unknown> = envelope(), headers: Record<string, string> = {}) =>
      modernPost(servers.get('stateless')!.url, key, {method: 'tools/list', params: {_meta: meta}}, headers)

    it('server/discover names 2026-07-28 and keyward, with a private cache hint', async () => {
      const r = await modernPost(servers.get('stateful')!.url, key, {method: 'server/discover', params: {_meta: envelope()}})
      const result = r.json!.result as {supportedVersions: string[]; capabilities: Record<string, unknown>; cacheScope: string; _meta: Record<string, {name: string}>}
      assert.deepEqual(result.supportedVersions, [MODERN])
      assert.equal(result.cacheScope, 'private')
      assert.equal(result._meta['io.modelcontextprotocol/serverInfo'].name, 'keyward')
      assert.ok(result.capabilities.tools)
    })

    it('server/discover, and a stateless 2025 initialize, declare the authentication in force: a reload that changes it reaches the next request', async () => {
      // A vault of its own: the setting changed here would reach every other test's server.
      const own = new Sandbox()
      await own.initWithKeyFile()
      const ownKey = (await own.run(['keys', 'generate', '--name', 'discover', '--scope', 'full'])).stdout.trim()
      const s = await startServe(own, ['--stateless'])
      try {
        const declared = async () => {
          const r = await modernPost(s.url, ownKey, {method: 'server/discover', params: {_meta: envelope()}})
          return (r.json!.result as {capabilities: {experimental: {authentication: {types: string[]}}}}).capabilities.experimental.authentication.types
        }
        // The 2025 era's stateless server is shared by all its requests too: its initialize must not keep the start-up declaration.
        const initialized = async () => {
          const init = {jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'e2e', version: '1'}}}
          const r = await post(s.url, init, {...bearer(ownKey), 'mcp-protocol-version': '2025-11-25'})
          const json = r.text.startsWith('{') ? r.text : r.text.split('\n').find((line) => line.startsWith('data: '))!.slice(6)
          return (JSON.parse(json) as {result: {capabilities: {experimental: {authentication: {types: string[]}}}}}).result.capabilities.experimental.authentication.types
        }
        assert.deepEqual(await declared(), ['api_key'])
        assert.deepEqual(await initialized(), ['api_key'])
        for (const [setting, value] of [['proxy.trusted-cidrs', '10.0.0.0/8'], ['auth.methods', 'api-key,proxy-header']]) {
          const r = await own.run(['config', 'set', setting, value, '--yes'])
          assert.equal(r.code, 0, r.stderr)
        }
        let types = await declared()
        for (let t = 0; t < 100 && types.length === 1; t++) {
          await sleep(50)
          types = await declared()
        }
        assert.deepEqual(types, ['api_key', 'proxy_header'])
        assert.deepEqual(await initialized(), ['api_key', 'proxy_header'])
      } finally {
        await s.stop()
        await own.cleanup()
      }
    })

    it('a list is filtered by the caller and marked private, never shared; a call result is complete', async () => {
      const narrow = await newKey('narrow', 'echo', servers.get('stateless')!)
      const r = await modernPost(servers.get('stateless')!.url, narrow, {method: 'tools/list', params: {_meta: envelope()}})
      const result = r.json!.result as {tools: {name: string}[]; cacheScope: string; ttlMs: number; resultType: string}
      assert.deepEqual(result.tools.map((t) => t.name), ['echo'])
      assert.equal(result.cacheScope, 'private')
      assert.equal(result.ttlMs, 0)
      const call = await modernPost(servers.get('stateless')!.url, narrow, {method: 'tools/call', params: {name: 'echo', arguments: {message: 'x'}, _meta: envelope()}})
      assert.equal(call.json!.result!.resultType, 'complete')
      assert.equal(call.json!.result!.cacheScope, undefined)
    })

    it('_meta is required and checked: INVALID_PARAMS naming the key, UNSUPPORTED_PROTOCOL_VERSION naming the versions', async () => {
      const missing = await list({'io.modelcontextprotocol/protocolVersion': MODERN})
      assert.equal(missing.status, 400)
      assert.equal(missing.json?.error?.code, -32602)
      assert.match(missing.json!.error!.message, /clientCapabilities: missing/)
      const future = await list(envelope({}, {'io.modelcontextprotocol/protocolVersion': '2099-01-01'}), {'mcp-protocol-version': '2099-01-01'})
      assert.equal(future.status, 400)
      assert.equal(future.json?.error?.code, -32022)
      assert.deepEqual(future.json?.error?.data, {supported: [MODERN], requested: '2099-01-01'})
      const headerOnly = await post(servers.get('stateless')!.url, {jsonrpc: '2.0', id: 1, method: 'tools/list', params: {}}, {...bearer(key), 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list'})
      assert.equal(headerOnly.status, 400)
      assert.equal(JSON.parse(headerOnly.text).error.code, -32602)
    })

    it('the standard headers must agree with the body: HEADER_MISMATCH (400)', async () => {
      for (const headers of [{'mcp-method': 'tools/call'}, {'mcp-protocol-version': '2025-11-25'}] as Record<string, string>[]) {
        const r = await list(envelope(), headers)
        assert.equal(r.status, 400, JSON.stringify(headers))
        assert.equal(r.json?.error?.code, -32020)
      }
      // A version the header and the body disagree on is a mismatch, even when the body's is one keyward does not serve.
      const future = await list(envelope({}, {'io.modelcontextprotocol/protocolVersion': 'v999.0.0'}))
      assert.equal(future.status, 400, future.text)
      assert.equal(future.json?.error?.code, -32020)
      const name = await modernPost(servers.get('stateful')!.url, key, {method: 'tools/call', params: {name: 'echo', arguments: {message: 'x'}, _meta: envelope()}}, {'mcp-name': 'debug_info'})
      assert.equal(name.status, 400)
      assert.equal(name.json?.error?.code, -32020)
      assert.deepEqual(name.json?.error?.data, {mismatch: {header: 'debug_info', body: 'the body carries params.name="echo" but the Mcp-Name header names "debug_info"'}})
    })

    it('the methods 2026-07-28 removed are METHOD_NOT_FOUND (404) in that era', async () => {
      for (const method of ['resources/subscribe', 'resources/unsubscribe', 'initialize', 'ping', 'logging/setLevel']) {
        // With their params or without: what a removed method carries is not checked, it is not served.
        for (const params of [{uri: 'test://x', level: 'info'}, {}]) {
          const r = await modernPost(servers.get('stateful')!.url, key, {method, params: {...params, _meta: envelope()}})
          assert.equal(r.status, 404, `${method}: ${r.text}`)
          assert.equal(r.json?.error?.code, -32601, method)
        }
      }
    })

    it('every stage runs on a 2026-07-28 request: rate limit (429), input guard, redaction of vault secrets, audit with the era', async () => {
      assert.equal((await box.run(['secrets', 'set', 'ERA_SECRET'], {input: 'era-secret-value-4411'})).code, 0)
      const limited = (await box.run(['keys', 'generate', '--name', 'limited', '--scope', 'echo', '--rate', '4/1min'])).stdout.trim()
      const audit = box.path('stages-audit.jsonl')
      const s = await startServe(box, ['--stateless', '--audit-log', audit])
      try {
        // The revision has no initialize (404): it opens nothing, so it records no authentication; a 2025 one does.
        assert.equal((await modernPost(s.url, key, {method: 'initialize', params: {_meta: envelope()}})).status, 404)
        const init2025 = {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'old', version: '1'}}
        assert.equal((await post(s.url, {jsonrpc: '2.0', id: 1, method: 'initialize', params: init2025}, {...bearer(key), 'mcp-protocol-version': '2025-11-25'})).status, 200)
        const echo = (message: string) => modernPost(s.url, limited, {method: 'tools/call', params: {name: 'echo', arguments: {message}, _meta: envelope()}})
        const redacted = await echo('say era-secret-value-4411')
        assert.equal(textOf(redacted.json!.result), 'say [REDACTED:ERA_SECRET]', redacted.text)
        const guarded = await echo('hi <script>alert(1)</script>')
        assert.equal(guarded.json!.result!.isError, true, guarded.text)
        assert.match(textOf(guarded.json!.result), /Refused by keyward's input guard/)
        assert.equal((await echo('third')).status, 200)
        assert.equal((await echo('fourth')).status, 200)
        const limitedOut = await echo('fifth')
        assert.equal(limitedOut.status, 429, limitedOut.text)
        assert.equal(limitedOut.json?.error?.code, -32029)
        assert.ok(limitedOut.headers.get('retry-after'))
        let records: Record<string, unknown>[] = []
        for (let t = 0; t < 40 && !records.some((r) => r.event === 'ratelimit'); t++) {
          await sleep(50)
          records = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
        }
        const eras = new Set(records.filter((r) => ['tool.call', 'guard.block', 'ratelimit'].includes(String(r.event))).map((r) => `${r.event} ${r.era}`))
        assert.deepEqual([...eras].sort(), ['guard.block modern', 'ratelimit modern', 'tool.call modern'])
        assert.deepEqual(records.filter((r) => r.event === 'auth.success').map((r) => `${r.method} ${r.era}`), ['initialize legacy'])
        assert.ok(!readFileSync(audit, 'utf8').includes('era-secret-value-4411'), 'no secret in the audit log')
      } finally {
        await s.stop()
      }
    })

    it('a message nested too deep for the SDK to check (clientCapabilities, in either era) is refused with -32600 and audited, not answered 500; the server serves on', async () => {
      const audit = box.path('deep-audit.jsonl')
      const s = await startServe(box, ['--stateless', '--audit-log', audit])
      try {
        const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`
        const caps = (era: 'modern' | 'legacy') =>
          era === 'modern'
            ? `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"${MODERN}","io.modelcontextprotocol/clientInfo":{"name":"d","version":"1"},"io.modelcontextprotocol/clientCapabilities":{"experimental":${deep}}}}}`
            : `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","clientInfo":{"name":"d","version":"1"},"capabilities":{"experimental":${deep}}}}`
        for (const era of ['modern', 'legacy'] as const) {
          const headers = era === 'modern' ? ['mcp-protocol-version', MODERN, 'mcp-method', 'tools/list'] : ['mcp-protocol-version', '2025-11-25']
          const r = await rawPost(s.url, caps(era), ['authorization', `Bearer ${key}`, 'content-type', 'application/json', 'accept', 'application/json, text/event-stream', ...headers])
          assert.equal(r.status, 400, `${era}: ${r.text.slice(0, 200)}`)
          assert.equal((JSON.parse(r.text) as {error: {code: number}}).error.code, -32600, era)
        }
        assert.equal(textOf((await modernPost(s.url, key, {method: 'tools/call', params: {name: 'echo', arguments: {message: 'still here'}, _meta: envelope()}})).json!.result), 'still here')
        let refused: unknown[] = []
        for (let t = 0; t < 40 && refused.length < 2; t++) {
          await sleep(50)
          refused = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.reason === 'too_deep')
        }
        assert.equal(refused.length, 2, 'both refusals audited')
      } finally {
        await s.stop()
      }
    })

    it('every request is authenticated on its own: no session, no credential, no answer', async () => {
      const r = await post(servers.get('stateful')!.url, {jsonrpc: '2.0', id: 1, method: 'tools/list', params: {_meta: envelope()}}, {'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list'})
      assert.equal(r.status, 401)
    })

    it('many concurrent requests of two keys, with the same ids and progress tokens, share one server: each gets only its own progress and its own result', async () => {
      for (const transport of ['stateless', 'stateful'] as const) {
        const server = servers.get(transport)!
        const other = await newKey(`other-${transport}`, 'full', server)
        const sent = Array.from({length: 40}, (_, i) => {
          const who = i % 2 === 0 ? key : other
          // Both keys use the same JSON-RPC ids and progress tokens; only the label tells the requests apart.
          const id = 100 + Math.floor(i / 2)
          const label = `${i % 2 === 0 ? 'first' : 'other'}-${i}`
          const token = `tok-${id}`
          return {id, label, token, answer: modernPost(server.url, who, {id, method: 'tools/call', params: {name: 'legacy__report_progress', arguments: {label}, _meta: envelope(undefined, {progressToken: token})}})}
        })
        for (const {id, label, token, answer} of sent) {
          const r = await answer
          assert.equal(r.status, 200, r.text)
          const frames = r.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as {id?: number; method?: string; params?: Record<string, unknown>; result?: unknown})
          assert.deepEqual(
            frames.filter((f) => f.method).map((f) => [f.method, f.params?.progressToken, f.params?.progress, f.params?.message]),
            [1, 2, 3].map((n) => ['notifications/progress', token, n, label]),
            `${transport}: request ${label} got only its own progress`,
          )
          const last = frames.at(-1)!
          assert.equal(last.id, id)
          assert.equal(textOf(last.result), `progress ${label}`, `${transport}: request ${label} got its own result`)
        }
      }
    })

    it('--protocol legacy refuses 2026-07-28 requests, --protocol modern 2025 ones, each naming what it speaks', async () => {
      const legacyOnly = await startServe(box, ['--protocol', 'legacy'])
      const modernOnly = await startServe(box, ['--protocol', 'modern'])
      try {
        const r = await modernPost(legacyOnly.url, key, {method: 'tools/list', params: {_meta: envelope()}})
        assert.equal(r.status, 400)
        assert.equal(r.json?.error?.code, -32022)
        assert.deepEqual((r.json?.error?.data as {supported: string[]}).supported, ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07'])
        const init = await post(modernOnly.url, {jsonrpc: '2.0', id: 1, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'raw', version: '1'}}}, bearer(key))
        assert.equal(init.status, 400)
        assert.deepEqual(JSON.parse(init.text).error.data, {supported: [MODERN], requested: '2025-11-25'})
        const v2 = new ModernClient({name: 'c', version: '1'}, {versionNegotiation: {mode: 'auto'}})
        await v2.connect(new ModernHttp(new URL(modernOnly.url), {requestInit: {headers: bearer(key)}}))
        clients.push(v2 as AnyClient)
        assert.equal(v2.getProtocolEra(), 'modern')
        assert.ok((await v2.listTools()).tools.length > 0)
      } finally {
        await Promise.all([legacyOnly.stop(), modernOnly.stop()])
      }
    })
  })

  describe('notifications across eras', () => {
    let warn: RunningServe

    before(async () => {
      // Changed or new upstream tools are served at once here (pins.on-change warn), so that a list change reaches clients.
      warn = await startServe(box, ['--stateless', '--pins-on-change', 'warn'])
    })

    after(async () => {
      await warn.stop()
    })

    /** Opens subscriptions/listen and collects its events until `close()`. */
    async function listen(who: string) {
      const controller = new AbortController()
      const res = await fetch(warn.url, {
        method: 'POST',
        signal: controller.signal,
        headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(who), 'mcp-protocol-version': MODERN, 'mcp-method': 'subscriptions/listen'},
        body: JSON.stringify({jsonrpc: '2.0', id: 'sub-1', method: 'subscriptions/listen', params: {notifications: {toolsListChanged: true, promptsListChanged: true}, _meta: envelope()}}),
      })
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/)
      const events: {method?: string; id?: string; params?: {_meta?: Record<string, unknown>; notifications?: unknown}}[] = []
      let ended = false
      const reader = res.body!.getReader()
      void (async () => {
        let buffer = ''
        try {
          for (;;) {
            const {done, value} = await reader.read()
            if (done) break
            buffer += Buffer.from(value).toString('utf8')
            for (let i = buffer.indexOf('\n\n'); i !== -1; i = buffer.indexOf('\n\n')) {
              const data = buffer.slice(0, i).split('\n').find((l) => l.startsWith('data: '))
              buffer = buffer.slice(i + 2)
              if (data) events.push(JSON.parse(data.slice(6)))
            }
          }
        } catch {
          // aborted
        }
        ended = true
      })()
      return {events, ended: () => ended, close: () => controller.abort()}
    }

    it('subscriptions/listen: acknowledged first, a list change reaches only the principals whose view changed, and a revoked key loses its stream', async () => {
      const sees = await newKey('sees-legacy', 'legacy__*', warn)
      const blind = await newKey('blind', 'echo', warn)
      const a = await listen(sees)
      const b = await listen(blind)
      await sleep(300)
      assert.deepEqual(a.events[0], {jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: {notifications: {toolsListChanged: true, promptsListChanged: true}, _meta: {'io.modelcontextprotocol/subscriptionId': 'sub-1'}}})
      const added = await modernPost(warn.url, sees, {method: 'tools/call', params: {name: 'legacy__add_tool', arguments: {}, _meta: envelope()}})
      assert.equal(textOf(added.json!.result), 'added', added.text)
      const heard = async () => a.events.some((e) => e.method === 'notifications/tools/list_changed')
      for (let t = 0; t < 50 && !(await heard()); t++) await sleep(100)
      assert.deepEqual(a.events.find((e) => e.method === 'notifications/tools/list_changed'), {jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: {_meta: {'io.modelcontextprotocol/subscriptionId': 'sub-1'}}})
      assert.deepEqual(b.events.map((e) => e.method), ['notifications/subscriptions/acknowledged'], 'the echo-only key saw nothing change')
      const r = await box.run(['keys', 'revoke', 'sees-legacy', '--yes'])
      assert.equal(r.code, 0, r.stderr)
      for (let t = 0; t < 50 && !a.ended(); t++) await sleep(100)
      assert.ok(a.ended(), 'the revoked key\'s stream was closed')
      assert.equal(a.events.at(-1)?.id, 'sub-1', 'closed gracefully, with the subscriptions/listen result')
      assert.equal(b.ended(), false)
      b.close()
    })

    it('subscriptions/listen of a key narrowed by keys scope stays open, is told its tool list changed at the reload, and the streams of other keys hear nothing', async () => {
      const narrowed = await newKey('narrowed-listen', 'legacy__*', warn)
      const other = await newKey('other-listen', 'legacy__*', warn)
      const n = await listen(narrowed)
      const o = await listen(other)
      await sleep(300)
      const changed = (stream: Awaited<ReturnType<typeof listen>>) => stream.events.filter((e) => e.method === 'notifications/tools/list_changed').length
      assert.equal(changed(n) + changed(o), 0)
      const r = await box.run(['keys', 'scope', 'narrowed-listen', '--set', 'echo'])
      assert.equal(r.code, 0, r.stderr)
      assert.ok(await until(() => changed(n) === 1, 10_000), 'the narrowed key was not told its tool list changed')
      await sleep(300)
      assert.equal(changed(o), 0, 'a key whose scopes did not change was told its list changed')
      assert.equal(n.ended(), false, 'the narrowed key lost its stream (it is narrowed, not revoked)')
      assert.equal(o.ended(), false)
      // What it may see now is what the server lists it.
      const listed = await modernPost(warn.url, narrowed, {method: 'tools/list', params: {_meta: envelope()}})
      assert.deepEqual((listed.json!.result as {tools: {name: string}[]}).tools.map((t) => t.name), ['echo'])
      n.close()
      o.close()
    })

    it('log messages of a 2025 upstream reach a 2026-07-28 request only at or above the logLevel its _meta asked for', async () => {
      /** The JSON-RPC messages of an answer: one JSON body, or the data lines of an event stream. */
      const frames = (text: string) =>
        text.startsWith('{') ? [JSON.parse(text) as {method?: string; params?: {level?: string}}] : text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as {method?: string; params?: {level?: string}})
      const logged = async (extra: Record<string, unknown>) => {
        const r = await modernPost(warn.url, key, {method: 'tools/call', params: {name: 'legacy__log_secret', arguments: {}, _meta: envelope(undefined, extra)}})
        assert.equal(r.status, 200, r.text)
        const all = frames(r.text)
        assert.equal(textOf((all.at(-1) as {result?: unknown}).result), 'logged', r.text)
        return all.filter((f) => f.method === 'notifications/message').map((f) => f.params?.level)
      }
      assert.deepEqual(await logged({}), [], 'no logLevel: no log messages')
      assert.deepEqual(await logged({'io.modelcontextprotocol/logLevel': 'warning'}), ['error'])
      assert.deepEqual(await logged({'io.modelcontextprotocol/logLevel': 'critical'}), [], 'below the level asked for')
    })

    it('progress of a held call reaches a modern client under its own token; a legacy client gets a modern upstream\'s progress', async () => {
      const progress: number[] = []
      const modern = await connect('modern', 'stateless', [])
      // The SDK v2 client: callTool(params, options). Its own input loop reports each round as progress too (messages "Fulfilling input…").
      const r = await modern.callTool({name: 'legacy__ask_both', arguments: {}}, {onprogress: (p: {progress: number; total?: number; message?: string}) => void (p.message?.startsWith('Fulfilling') || progress.push(p.progress))})
      assert.match(textOf(r), /name=Ada model=hi/)
      assert.deepEqual(progress, [1])
      const legacyProgress: number[] = []
      const legacy = await connect('legacy', 'stateful', [])
      const slow = await legacy.callTool({name: 'modern__slow_progress', arguments: {}}, undefined, {onprogress: (p: {progress: number}) => legacyProgress.push(p.progress)})
      assert.equal(textOf(slow), 'done')
      assert.deepEqual(legacyProgress, [1, 2, 3])
    })
  })
})
