/**
 * The gateway (issue 9): `keyward serve` fronting real upstream MCP servers (the fixture in
 * test/fixtures, and the published server-everything), through the built CLI and the SDK's
 * real Client.
 */
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {promises as fs, readFileSync} from 'node:fs'
import path from 'node:path'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'

import {collect, json, ROOT, Sandbox, sleep, until} from '../helpers/cli.js'
import {alive, hostPid} from '../helpers/processes.js'
import {bearer, httpClient, post, startServe, stdioClient, toolNames, type RunningServe} from '../helpers/server.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const EVERYTHING = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js')
const SECRET = 'fixture-secret-Zq9-never-in-argv'
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const textOf = (r: unknown) => ((r as {content: {text: string}[]}).content[0]?.text ?? '')

describe('gateway', function () {
  this.timeout(90_000)
  let box: Sandbox
  const running: RunningServe[] = []
  const clients: Client[] = []

  async function cli(args: string[], input?: string) {
    const r = await box.run(args, {input})
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }

  async function key(name: string, ...scopes: string[]): Promise<string> {
    return (await cli(['keys', 'generate', '--name', name, ...scopes.flatMap((s) => ['--scope', s])])).stdout.trim()
  }

  async function serve(args: string[] = []) {
    const s = await startServe(box, args)
    running.push(s)
    return s
  }

  async function connect(url: string, k: string): Promise<Client> {
    const c = await httpClient(url, bearer(k))
    clients.push(c)
    return c
  }

  beforeEach(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
    await cli(['secrets', 'set', 'FIXTURE_TOKEN'], SECRET)
    await cli(['upstream', 'add', 'fixture', '--env', 'FIXTURE_SECRET=secret:FIXTURE_TOKEN', '--env', 'FIXTURE_MODE=normal', '--', process.execPath, FIXTURE])
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    await Promise.all(running.splice(0).map((s) => s.stop()))
    await box.cleanup()
  })

  describe('upstream commands', () => {
    it('add, list, show, test and rm, showing references and never values', async () => {
      let r = await cli(['upstream', 'list', '--json'])
      const [listed] = json(r).upstreams
      assert.equal(listed.name, 'fixture')
      assert.deepEqual(listed.secrets, ['FIXTURE_TOKEN'])
      assert.equal(listed.env.FIXTURE_SECRET, 'secret:FIXTURE_TOKEN')
      r = await cli(['upstream', 'show', 'fixture'])
      assert.match(r.stdout, /FIXTURE_SECRET=secret:FIXTURE_TOKEN/)
      r = await cli(['upstream', 'test', 'fixture', '--json'])
      const tested = json(r)
      assert.ok(tested.tools.includes('fixture__get_secret_hash'))
      assert.ok(tested.ms > 0 && tested.ms < 30_000)
      for (const args of [['upstream', 'list'], ['upstream', 'list', '--json'], ['upstream', 'show', 'fixture', '--json'], ['upstream', 'test', 'fixture', '-v']]) {
        const out = await box.run(args)
        assert.ok(!(out.stdout + out.stderr).includes(SECRET), `${args.join(' ')} shows no secret`)
      }
      r = await box.run(['upstream', 'add', 'broken', '--env', 'X=secret:NOT_THERE', '--', 'true'])
      assert.equal(r.code, 9)
      assert.match(r.stderr, /refers to secrets the vault does not hold: NOT_THERE/)
      r = await box.run(['upstream', 'add', 'Bad_Name', '--', 'true'])
      assert.equal(r.code, 2)
      r = await box.run(['upstream', 'add', 'leaky', '--env', 'TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789', '--', 'true'])
      assert.equal(r.code, 2)
      assert.ok(!r.stderr.includes('ghp_abcdef'), 'the value is not echoed')
      r = await box.run(['upstream', 'add', 'remote', '--url', 'https://mcp.example/mcp', '--header', 'Authorization: Bearer sometoken'])
      assert.equal(r.code, 2, 'a credential header must come from the vault')
      await cli(['upstream', 'add', 'remote', '--url', 'https://mcp.example/mcp', '--header', 'Authorization: Bearer {secret:FIXTURE_TOKEN}'])
      await cli(['upstream', 'rm', 'remote', '--yes'])
      assert.equal(json(await cli(['upstream', 'list', '--json'])).upstreams.length, 1)
    })
  })

  describe('serving', () => {
    it('the upstream gets its secret in its environment only: not in argv, nor in keyward’s command line or logs', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const c = await connect(s.url, k)
      assert.equal(textOf(await c.callTool({name: 'fixture__get_secret_hash', arguments: {}})), sha256(SECRET))
      const proc = JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}})))
      assert.ok(!JSON.stringify(proc.argv).includes(SECRET), "not in the upstream's argv")
      assert.ok(!readFileSync(`/proc/${hostPid(proc)}/cmdline`, 'utf8').includes(SECRET))
      assert.ok(!readFileSync(`/proc/${s.child.pid}/cmdline`, 'utf8').includes(SECRET), "not in keyward's command line")
      assert.ok(!readFileSync(`/proc/${s.child.pid}/environ`, 'utf8').includes(SECRET), "not in keyward's environment")
      assert.ok(!s.logs().includes(SECRET), 'not in the logs')
      const names: string[] = proc.envNames
      assert.ok(names.includes('FIXTURE_SECRET') && names.includes('PATH'))
      assert.ok(!names.some((n) => n.startsWith('KEYWARD_')), 'no KEYWARD_* variable reaches the upstream')
      assert.ok(!names.includes('XDG_DATA_HOME'), 'the environment is minimal, not keyward’s')
    })

    it('a key scoped to fixture__get_* sees and calls only those tools', async () => {
      const k = await key('getters', 'fixture__get_*')
      const s = await serve()
      const c = await connect(s.url, k)
      assert.deepEqual(await toolNames(c), ['fixture__get_process', 'fixture__get_secret_hash'])
      await assert.rejects(c.callTool({name: 'fixture__set_value', arguments: {value: 'x'}}), /Unknown tool: fixture__set_value/)
      assert.equal(textOf(await c.callTool({name: 'fixture__get_secret_hash', arguments: {}})), sha256(SECRET))
    })

    it('clients are shown what is pinned of a tool, no more: not its _meta or execution, which an upstream could change unseen', async () => {
      await cli(['upstream', 'add', 'meta', '--env', 'FIXTURE_META=1', '--', process.execPath, FIXTURE])
      const k = await key('all', '*')
      const s = await serve(['--stateless'])
      const listed = await post(s.url, {jsonrpc: '2.0', id: 1, method: 'tools/list'}, {...bearer(k), 'mcp-protocol-version': '2025-11-25'})
      const tool = (JSON.parse(listed.text) as {result: {tools: Record<string, unknown>[]}}).result.tools.find((t) => t.name === 'meta__with_meta')
      assert.deepEqual(tool, {name: 'meta__with_meta', title: 'With meta', description: 'asks its host to render a UI', inputSchema: {type: 'object', properties: {}}})
    })

    it('arguments are checked against the upstream tool’s JSON Schema before it runs', async () => {
      const k = await key('writer', 'fixture__set_value')
      const s = await serve()
      const c = await connect(s.url, k)
      const bad = await c.callTool({name: 'fixture__set_value', arguments: {}})
      assert.equal(bad.isError, true)
      assert.match(textOf(bad), /value is required/)
      assert.equal(textOf(await c.callTool({name: 'fixture__set_value', arguments: {value: 'v'}})), 'set v')
    })

    it('a killed upstream gives a clear error naming it, restarts, and works again', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const c = await connect(s.url, k)
      const before = hostPid(JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}}))))!
      process.kill(before, 'SIGKILL')
      await until(() => /upstream fixture is down/.test(s.logs()))
      const during = await c.callTool({name: 'fixture__get_process', arguments: {}})
      if (during.isError) assert.match(textOf(during), /upstream fixture is unavailable: it was killed \(SIGKILL\)|upstream fixture/)
      assert.ok(await until(async () => !(await c.callTool({name: 'fixture__get_process', arguments: {}})).isError, 10_000), 'calls work again')
      const after = hostPid(JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}}))))
      assert.notEqual(after, before, 'a new process')
      assert.match(s.logs(), /upstream fixture is down: it was killed \(SIGKILL\); restarting in/)
    })

    it('an upstream that hangs at start delays neither initialize nor the others’ tools', async () => {
      await cli(['upstream', 'add', 'stuck', '--skip-check', '--env', 'FIXTURE_HANG=1', '--', process.execPath, FIXTURE])
      await cli(['upstream', 'add', 'noisy', '--env', 'FIXTURE_GARBAGE=1', '--', process.execPath, FIXTURE])
      const k = await key('all', '*')
      const s = await serve()
      const started = Date.now()
      const c = await connect(s.url, k)
      assert.ok(Date.now() - started < 2000, `initialize took ${Date.now() - started} ms`)
      const listedAt = Date.now()
      const names = await toolNames(c)
      assert.ok(Date.now() - listedAt < 4500, `the first list waited at most the bounded time (${Date.now() - listedAt} ms)`)
      assert.ok(names.includes('fixture__get_secret_hash') && names.includes('noisy__get_secret_hash'), names.join(' '))
      assert.ok(!names.some((n) => n.startsWith('stuck__')))
      assert.match(s.logs(), /upstream noisy: wrote a line to stdout that is not JSON/)
      const stuck = await c.callTool({name: 'stuck__get_process', arguments: {}}).catch((e: Error) => e)
      assert.match(String((stuck as Error).message ?? textOf(stuck)), /Unknown tool: stuck__get_process/, 'its tools are not there')
    })

    it('SIGKILL of keyward leaves no upstream process running', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const c = await connect(s.url, k)
      const sessionPid = hostPid(JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}}))))
      assert.ok(alive(sessionPid))
      await c.close().catch(() => {})
      s.child.kill('SIGKILL')
      assert.ok(await until(() => !alive(sessionPid), 5000), 'the upstream died with keyward')
    })

    it('changing one upstream’s secret restarts that upstream alone', async () => {
      await cli(['secrets', 'set', 'OTHER_TOKEN'], 'other-secret')
      await cli(['upstream', 'add', 'other', '--env', 'FIXTURE_SECRET=secret:OTHER_TOKEN', '--', process.execPath, FIXTURE])
      const k = await key('all', '*')
      const s = await serve(['--stateless'])
      const c = await connect(s.url, k)
      const pid = async (name: string) => hostPid(JSON.parse(textOf(await c.callTool({name: `${name}__get_process`, arguments: {}}))))
      const [fixture, other] = [await pid('fixture'), await pid('other')]
      await cli(['secrets', 'set', 'FIXTURE_TOKEN'], 'a-new-secret')
      assert.ok(await until(async () => textOf(await c.callTool({name: 'fixture__get_secret_hash', arguments: {}})) === sha256('a-new-secret'), 10_000))
      assert.notEqual(await pid('fixture'), fixture, 'fixture was restarted')
      assert.equal(await pid('other'), other, 'other kept running')
      // The old process is stopped once the new one has taken its place, not at that instant.
      assert.ok(await until(() => !alive(fixture)), 'the old process is gone')
    })

    it('a call in flight when its upstream restarts finishes on the old process, which stops after it', async () => {
      const k = await key('all', '*')
      const s = await serve(['--stateless'])
      const c = await connect(s.url, k)
      const old = hostPid(JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}}))))
      const inFlight = c.callTool({name: 'fixture__sleep', arguments: {label: 'across', ms: 6000}})
      await sleep(300)
      await cli(['secrets', 'set', 'FIXTURE_TOKEN'], 'a-new-secret')
      assert.ok(await until(() => /upstream fixture restarted/.test(s.logs()), 10_000), s.logs())
      // New calls go to the new process while the old one still runs the call it had.
      assert.equal(textOf(await c.callTool({name: 'fixture__get_secret_hash', arguments: {}})), sha256('a-new-secret'))
      assert.ok(alive(old), 'the old process runs until its call in flight has ended')
      assert.equal(textOf(await inFlight), 'slept across')
      assert.ok(await until(() => !alive(old)), 'the old process is gone once its call ended')
    })

    it('over stdio: the same gateway, with requests from the upstream relayed to the client', async () => {
      const k = await key('all', 'fixture__*')
      const {client, stderr} = await stdioClient(box, {KEYWARD_API_KEY: k})
      clients.push(client)
      assert.equal(textOf(await client.callTool({name: 'fixture__get_secret_hash', arguments: {}})), sha256(SECRET))
      assert.ok(!stderr().includes(SECRET))
    })
  })

  describe('remote upstreams and bounds', () => {
    it('an HTTP upstream gets its headers with the secret resolved, and never the client’s credential', async () => {
      const {createServer, request} = await import('node:http')
      const upstreamPort = 20_000 + Math.floor(Math.random() * 5000)
      const child = (await import('node:child_process')).spawn(process.execPath, [path.join(ROOT, 'dist', 'test', 'fixtures', 'conformance-server.js'), '--port', String(upstreamPort)], {stdio: ['ignore', 'ignore', 'pipe']})
      await new Promise((resolve) => child.stderr.once('data', resolve))
      const seen: {authorization?: string; apiKey?: string}[] = []
      // A proxy in front of it that records what keyward sends.
      const proxy = createServer((req, res) => {
        seen.push({authorization: req.headers.authorization, apiKey: req.headers['x-api-key'] as string | undefined})
        const headers = {...req.headers, host: `127.0.0.1:${upstreamPort}`}
        const forward = request({host: '127.0.0.1', port: upstreamPort, path: req.url, method: req.method, headers}, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        })
        req.pipe(forward)
      })
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()))
      const proxyPort = (proxy.address() as {port: number}).port
      try {
        await cli(['upstream', 'add', 'remote', '--url', `http://127.0.0.1:${proxyPort}/mcp`, '--header', 'Authorization: Bearer {secret:FIXTURE_TOKEN}'])
        const k = await key('all', 'remote__*')
        const s = await serve()
        const c = await connect(s.url, k)
        assert.deepEqual((await c.callTool({name: 'remote__test_simple_text', arguments: {}})).content, [{type: 'text', text: 'This is a simple text response for testing.'}])
        assert.ok(seen.length > 0)
        for (const headers of seen) {
          assert.equal(headers.authorization, `Bearer ${SECRET}`, 'the upstream got its own credential')
          assert.ok(!JSON.stringify(headers).includes(k.split('_')[2]), "the client's key never reached the upstream")
        }
      } finally {
        proxy.close()
        child.kill()
      }
    })

    it('with --isolation session, each HTTP session has its own upstream process, and a closed session takes it along', async () => {
      await cli(['upstream', 'set', 'fixture', '--isolation', 'session'])
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const sessions = [await connect(s.url, k), await connect(s.url, k), await connect(s.url, k)]
      const pids: (number | undefined)[] = []
      for (const c of sessions) pids.push(hostPid(JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}})))))
      assert.equal(new Set(pids).size, 3, 'one process per session')
      for (const c of sessions) {
        const transport = (c as unknown as {transport?: {terminateSession(): Promise<void>}}).transport
        await transport?.terminateSession()
      }
      assert.ok(await until(() => pids.every((pid) => !alive(pid))), 'ended sessions take their processes along')
    })
  })

  describe('the whole protocol passes through', () => {
    it('with --isolation session, sampling, elicitation and roots from the upstream reach the client that made the call', async () => {
      await cli(['upstream', 'set', 'fixture', '--isolation', 'session'])
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const {Client} = await import('@modelcontextprotocol/sdk/client/index.js')
      const {StreamableHTTPClientTransport} = await import('@modelcontextprotocol/sdk/client/streamableHttp.js')
      const make = async (who: string) => {
        const c = new Client({name: who, version: '1'}, {capabilities: {sampling: {}, elicitation: {}, roots: {listChanged: true}}})
        c.setRequestHandler(CreateMessageRequestSchema, () => ({role: 'assistant', content: {type: 'text', text: `hi from ${who}`}, model: 'test'}))
        c.setRequestHandler(ElicitRequestSchema, () => ({action: 'accept', content: {name: who}}))
        c.setRequestHandler(ListRootsRequestSchema, () => ({roots: [{uri: `file:///home/${who}`}]}))
        await c.connect(new StreamableHTTPClientTransport(new URL(s.url), {requestInit: {headers: bearer(k)}}))
        clients.push(c)
        return c
      }
      const [alice, bob] = [await make('alice'), await make('bob')]
      const results = await Promise.all([
        alice.callTool({name: 'fixture__ask_model', arguments: {}}),
        bob.callTool({name: 'fixture__ask_model', arguments: {}}),
        alice.callTool({name: 'fixture__ask_user', arguments: {}}),
        bob.callTool({name: 'fixture__ask_roots', arguments: {}}),
      ])
      assert.deepEqual(results.map(textOf), ['model said: hi from alice', 'model said: hi from bob', 'user said: accept {"name":"alice"}', 'roots: file:///home/bob'])
    })

    it('list changes and resource updates reach the sessions concerned; prompts and resources pass through', async () => {
      const k = await key('all', 'fixture__*', 'prompt:fixture__*', 'resource:fixture://**')
      const s = await serve()
      const c = await connect(s.url, k)
      let changed = 0
      const updated: string[] = []
      c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++)
      c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri))
      await toolNames(c)
      await c.callTool({name: 'fixture__add_tool', arguments: {}})
      // A tool added after the upstream was pinned is held back until approved (docs/gateway.md, pins).
      assert.ok(await until(async () => json(await cli(['upstream', 'diff', 'fixture', '--json'])).changes.some((d: {name: string}) => d.name === 'get_extra'), 10_000))
      assert.ok(!(await toolNames(c)).includes('fixture__get_extra'))
      await cli(['upstream', 'approve', 'fixture', 'get_extra', '--yes'])
      assert.ok(await until(() => changed > 0), 'notifications/tools/list_changed reached the client')
      assert.ok(await until(async () => (await toolNames(c)).includes('fixture__get_extra')))
      assert.equal(textOf(await c.callTool({name: 'fixture__get_extra', arguments: {}})), 'extra')
      const prompt = await c.getPrompt({name: 'fixture__greet', arguments: {who: 'Ada'}})
      assert.deepEqual(prompt.messages[0].content, {type: 'text', text: 'Hello, Ada'})
      assert.deepEqual((await c.listResources()).resources.map((r) => r.uri), ['fixture://counter'])
      await c.subscribeResource({uri: 'fixture://counter'})
      await c.callTool({name: 'fixture__touch_resource', arguments: {}})
      assert.ok(await until(() => updated.includes('fixture://counter')), 'the resource update reached the subscriber')
      assert.deepEqual((await c.readResource({uri: 'fixture://counter'})).contents, [{uri: 'fixture://counter', text: '1'}])
    })

    it('a resource subscription outlives a restart of its upstream for a new secret: the new process is subscribed, and its updates reach the subscriber', async () => {
      const k = await key('all', 'fixture__*', 'resource:fixture://**')
      const s = await serve()
      const c = await connect(s.url, k)
      const updated: string[] = []
      c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri))
      await c.subscribeResource({uri: 'fixture://counter'})
      const pid = async () => hostPid(JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}}))))
      const before = await pid()
      await cli(['secrets', 'set', 'FIXTURE_TOKEN'], 'a-new-secret')
      assert.ok(await until(async () => textOf(await c.callTool({name: 'fixture__get_secret_hash', arguments: {}})) === sha256('a-new-secret'), 10_000), 'restarted')
      assert.notEqual(await pid(), before)
      const subscribed = async () => (JSON.parse(textOf(await c.callTool({name: 'fixture__subscription_counts', arguments: {}}))) as {subscribed: string[]}).subscribed
      // Subscribed again once the new process has taken the old one's place (the swap), not at that instant.
      assert.ok(await until(async () => (await subscribed()).includes('fixture://counter'), 10_000), 'the new process was subscribed')
      await c.callTool({name: 'fixture__touch_resource', arguments: {}})
      assert.ok(await until(() => updated.includes('fixture://counter')), 'the update from the new process reached the subscriber')
      await c.unsubscribeResource({uri: 'fixture://counter'})
      assert.deepEqual(await subscribed(), [], 'and unsubscribed there')
    })

    for (const isolation of ['shared', 'key'] as const) {
      it(`a key narrowed by \`keys scope\` hears no more updates of a resource it may no longer read, and is told its list changed; a key still in scope keeps its subscription (--isolation ${isolation})`, async () => {
        if (isolation !== 'shared') await cli(['upstream', 'set', 'fixture', '--isolation', isolation])
        const narrowed = await key('narrowed', 'fixture__*', 'resource:fixture://**')
        const kept = await key('kept', 'fixture__*', 'resource:fixture://**')
        const s = await serve()
        const [a, b] = [await connect(s.url, narrowed), await connect(s.url, kept)]
        const [toA, toB]: string[][] = [[], []]
        let listChanged = 0
        a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void toA.push(n.params.uri))
        a.setNotificationHandler(ResourceListChangedNotificationSchema, () => void listChanged++)
        b.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void toB.push(n.params.uri))
        await a.subscribeResource({uri: 'fixture://counter'})
        await b.subscribeResource({uri: 'fixture://counter'})
        // Shared: one process, whose updates both hear. Key: a process each, each hearing its own.
        const touchBoth = async () => {
          await a.callTool({name: 'fixture__touch_resource', arguments: {}})
          await b.callTool({name: 'fixture__touch_resource', arguments: {}})
        }
        const perTouch = isolation === 'shared' ? 2 : 1
        await touchBoth()
        assert.ok(await until(() => toA.length === perTouch && toB.length === perTouch), `both subscribers hear the updates: a ${toA.length}, b ${toB.length}`)
        // What the upstream's first listing told the clients is behind us: from here on a list change is the reload's.
        await a.listResources()
        listChanged = 0
        const reloads = () => s.logs().match(/reloaded /g)?.length ?? 0
        const before = reloads()
        await cli(['keys', 'scope', 'narrowed', '--remove', 'resource:fixture://**'])
        assert.ok(await until(() => reloads() > before), 'serve did not reload')
        // The narrowed client, which has sent nothing since, is told its resource list changed.
        assert.ok(await until(() => listChanged > 0), 'the narrowed client was not told its resource list changed')
        await touchBoth()
        assert.ok(await until(() => toB.length === 2 * perTouch), `b, still in scope, hears the new updates: ${toB.length}`)
        await sleep(300)
        assert.equal(toA.length, perTouch, 'an update of a resource its key may no longer read reached the narrowed client')
        await assert.rejects(a.readResource({uri: 'fixture://counter'}), /Unknown resource: fixture:\/\/counter/)
        const subscribed = async (c: Client) => (JSON.parse(textOf(await c.callTool({name: 'fixture__subscription_counts', arguments: {}}))) as {subscribed: string[]}).subscribed
        assert.deepEqual(await subscribed(b), ['fixture://counter'], "b's subscription is kept upstream")
        // Key: a's own process is unsubscribed. Shared: the process stays subscribed for b, until b narrows too.
        if (isolation === 'key') assert.ok(await until(async () => (await subscribed(a)).length === 0), "the narrowed key's own process is still subscribed")
        else {
          await cli(['keys', 'scope', 'kept', '--remove', 'resource:fixture://**'])
          assert.ok(await until(async () => (await subscribed(b)).length === 0), 'the upstream stays subscribed with no one left who may read the resource')
        }
        assert.match(s.logs(), /dropped 1 resource subscription\(s\) whose credential may no longer read the resource/)
      })
    }

    it('the published server-everything: tools, progress, prompts, resources and completion through keyward', async () => {
      await cli(['upstream', 'add', 'everything', '--', process.execPath, EVERYTHING])
      const k = await key('all', 'everything__*', 'prompt:everything__*', 'resource:**')
      const s = await serve()
      const c = await connect(s.url, k)
      const names = await toolNames(c)
      assert.ok(names.includes('everything__echo') && names.includes('everything__get-sum'), names.join(' '))
      assert.deepEqual((await c.callTool({name: 'everything__echo', arguments: {message: 'through keyward'}})).content, [{type: 'text', text: 'Echo: through keyward'}])
      const image = await c.callTool({name: 'everything__get-tiny-image', arguments: {}})
      assert.ok((image.content as {type: string}[]).some((p) => p.type === 'image'), 'every content type passes through')
      const progress: number[] = []
      await c.callTool({name: 'everything__trigger-long-running-operation', arguments: {duration: 1, steps: 2}}, undefined, {onprogress: (p) => void progress.push(p.progress)})
      assert.ok(progress.length >= 1, 'progress passed through')
      const prompts = (await c.listPrompts()).prompts.map((p) => p.name)
      assert.ok(prompts.includes('everything__simple-prompt'))
      const resources = (await c.listResources()).resources
      assert.ok(resources.length > 0)
      const read = await c.readResource({uri: resources[0].uri})
      assert.equal(read.contents[0].uri, resources[0].uri)
      const templates = (await c.listResourceTemplates()).resourceTemplates
      assert.ok(templates.length > 0, 'resource templates pass through')
      const completed = await c.complete({ref: {type: 'ref/prompt', name: 'everything__completable-prompt'}, argument: {name: 'department', value: 'E'}})
      assert.ok(Array.isArray(completed.completion.values))
    })
  })

  describe('names and failures', () => {
    it('--no-prefix keeps the names; a second one, or a clash with a built-in, is refused', async () => {
      await cli(['upstream', 'add', 'plain', '--no-prefix', '--', process.execPath, FIXTURE])
      let r = await box.run(['upstream', 'add', 'plain2', '--no-prefix', '--skip-check', '--', process.execPath, FIXTURE])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /plain is already mounted without a prefix/)
      await cli(['upstream', 'rm', 'plain', '--yes'])
      r = await box.run(['upstream', 'add', 'clash', '--no-prefix', '--env', 'FIXTURE_ECHO=1', '--', process.execPath, FIXTURE])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /clash's echo would collide with built-in tools/)
      await cli(['upstream', 'add', 'plain', '--no-prefix', '--', process.execPath, FIXTURE])
      const k = await key('all', '*')
      const s = await serve()
      const c = await connect(s.url, k)
      const names = await toolNames(c)
      assert.ok(names.includes('get_secret_hash') && names.includes('fixture__get_secret_hash') && names.includes('echo'), names.join(' '))
      assert.equal(textOf(await c.callTool({name: 'get_secret_hash', arguments: {}})), sha256(''), 'plain was given no secret')
    })

    it('a secret missing at serve time is reported for its upstream, and the others still start', async () => {
      await cli(['secrets', 'set', 'GONE'], 'soon-gone')
      await cli(['upstream', 'add', 'orphan', '--env', 'FIXTURE_SECRET=secret:GONE', '--', process.execPath, FIXTURE])
      await cli(['secrets', 'rm', 'GONE', '--yes'])
      const k = await key('all', '*')
      const s = await serve()
      const c = await connect(s.url, k)
      assert.ok((await toolNames(c)).includes('fixture__get_secret_hash'))
      assert.ok(await until(() => /upstream orphan is down: its configuration cannot be used: .*refers to secret GONE, which the vault does not hold/.test(s.logs())), s.logs())
    })

    it('exposed names always suit model APIs: shortened deterministically with a hash', async () => {
      const {exposedName} = await import('../../src/server/gateway/naming.js')
      assert.equal(exposedName('github', 'create_issue'), 'github__create_issue')
      const long = exposedName('github', `a.${'x'.repeat(100)}`)
      assert.match(long, /^[a-zA-Z0-9_-]{1,64}$/)
      assert.equal(long.length, 64)
      assert.equal(exposedName('github', `a.${'x'.repeat(100)}`), long, 'deterministic')
      assert.notEqual(exposedName('github', `a.${'x'.repeat(99)}y`), long, 'unique')
      assert.notEqual(exposedName(undefined, 'a.b'), exposedName(undefined, 'a_b'), 'a replaced character never merges two names')
    })
  })

  describe("the README's migration", () => {
    it('works as written on a fresh HOME', async () => {
      const fresh = new Sandbox()
      let client: Client | undefined
      try {
        const configFile = fresh.path('.config', 'Claude', 'claude_desktop_config.json')
        await fs.mkdir(path.dirname(configFile), {recursive: true})
        await fs.writeFile(configFile, JSON.stringify({mcpServers: {github: {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: 'ghp_READMEmigrationTOKEN0123456789abcdef'}}}}, null, 2))
        const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8')
        const section = readme.slice(readme.indexOf('## Secure your existing MCP servers'))
        const block = /```sh\n([\s\S]*?)```/.exec(section)![1]
        const commands = block.split('\n').filter((l) => l.trim() !== '')
        assert.equal(commands.length, 3, 'three commands')
        // A fresh HOME as a new user has it: no XDG variables, so every default path is under ~.
        const home = {HOME: fresh.dir, PATH: process.env.PATH ?? '', NO_COLOR: '1'}
        for (const command of commands) {
          const r = await collect(
            (await import('node:child_process')).spawn('sh', ['-c', `keyward() { "${process.execPath}" "${path.join(ROOT, 'bin', 'run.js')}" "$@"; }; ${command}`], {env: home, cwd: fresh.dir, stdio: ['pipe', 'pipe', 'pipe']}),
          )
          assert.equal(r.code, 0, `${command}: ${r.stderr}`)
        }
        const config = JSON.parse(await fs.readFile(configFile, 'utf8'))
        assert.ok(!JSON.stringify(config).includes('ghp_READMEmigration'))
        const entry = config.mcpServers.keyward
        const {Client} = await import('@modelcontextprotocol/sdk/client/index.js')
        const {StdioClientTransport} = await import('@modelcontextprotocol/sdk/client/stdio.js')
        client = new Client({name: 'claude', version: '1'})
        await client.connect(new StdioClientTransport({command: entry.command, args: entry.args, env: {...home, ...entry.env}}))
        assert.equal(textOf(await client.callTool({name: 'github__get_secret_hash', arguments: {}})), sha256('ghp_READMEmigrationTOKEN0123456789abcdef'))
      } finally {
        // The server writes its audit log under the fresh HOME: stop it before removing the HOME.
        await client?.close().catch(() => {})
        await fresh.cleanup()
      }
    })
  })

  describe('keyward run', () => {
    it('passes secrets as variables, forwards signals and passes the exit code through', async () => {
      const r = await box.run(['run', '--', 'sh', '-c', 'printf %s "$FIXTURE_TOKEN" | sha256sum; test -z "$KEYWARD_KEY_FILE" && echo no-keyward-vars; exit 7'])
      assert.equal(r.code, 7)
      assert.ok(r.stdout.includes(sha256(SECRET)))
      assert.match(r.stdout, /no-keyward-vars/)
      assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET))
      const only = await box.run(['run', '--only', 'FIXTURE_TOKEN', '--', 'sh', '-c', 'test -n "$FIXTURE_TOKEN" && echo yes'])
      assert.equal(only.stdout.trim(), 'yes')
      const upstream = await box.run(['run', '--upstream', 'fixture', '--', 'sh', '-c', 'echo "$FIXTURE_MODE"; test -z "$XDG_DATA_HOME" && echo minimal'])
      assert.equal(upstream.stdout, 'normal\nminimal\n')
      const child = box.spawn(['run', '--', 'sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done'])
      let out = ''
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
      await until(() => out.includes('ready'))
      child.kill('SIGTERM')
      const done = await collect(child)
      assert.equal(done.code, 42)
      assert.match(out, /got-term/)
      const missing = await box.run(['run', '--only', 'NOPE', '--', 'true'])
      assert.equal(missing.code, 9)
    })
  })

  describe('import-config', () => {
    it('turns a Claude Desktop config with plaintext tokens into upstreams and secrets, and a config with none left', async () => {
      const file = box.path('claude_desktop_config.json')
      const original = {
        mcpServers: {
          'My Fixture': {command: process.execPath, args: [FIXTURE], env: {FIXTURE_SECRET: 'ghp_PLAINTEXTtokenInTheConfig0123456789'}},
          remote: {url: 'https://mcp.example/mcp', headers: {Authorization: 'Bearer plaintext-remote-token-123'}},
          nothing: {description: 'no command'},
        },
        otherSetting: true,
      }
      await fs.writeFile(file, JSON.stringify(original, null, 2))
      const dry = await cli(['import-config', file])
      assert.match(dry.stdout, /2 server\(s\) to import, 2 secret\(s\)/)
      assert.match(dry.stdout, /left as it is: nothing \(no command or url\)/)
      assert.deepEqual(JSON.parse(await fs.readFile(file, 'utf8')), original, 'a dry run changes nothing')
      assert.ok(!dry.stdout.includes('ghp_PLAINTEXT'), 'the plan shows no secret')
      const r = await cli(['import-config', file, '--write', '--json'])
      const result = json(r)
      assert.deepEqual(result.upstreams.sort(), ['my-fixture', 'remote'])
      const rewritten = await fs.readFile(file, 'utf8')
      for (const plain of ['ghp_PLAINTEXTtokenInTheConfig0123456789', 'plaintext-remote-token-123']) assert.ok(!rewritten.includes(plain), 'no plaintext secret is left')
      const config = JSON.parse(rewritten)
      assert.deepEqual(Object.keys(config.mcpServers).sort(), ['keyward', 'nothing'])
      assert.equal(config.otherSetting, true)
      assert.equal(((await fs.stat(result.backup)).mode & 0o777).toString(8), '600')
      assert.deepEqual(JSON.parse(await fs.readFile(result.backup, 'utf8')), original, 'the backup is the original')
      const secrets = json(await cli(['secrets', 'list', '--json'])).secrets.map((x: {name: string}) => x.name)
      assert.ok(secrets.includes('MY_FIXTURE_FIXTURE_SECRET') && secrets.includes('REMOTE_AUTHORIZATION'), secrets.join(' '))
      // The new entry is what the client starts: it serves the imported server with the new key.
      const entry = config.mcpServers.keyward
      const {Client} = await import('@modelcontextprotocol/sdk/client/index.js')
      const {StdioClientTransport} = await import('@modelcontextprotocol/sdk/client/stdio.js')
      const c = new Client({name: 'claude', version: '1'})
      await c.connect(new StdioClientTransport({command: entry.command, args: entry.args, env: {...box.env, ...entry.env, KEYWARD_KEY_FILE: entry.env.KEYWARD_KEY_FILE}}))
      clients.push(c)
      assert.equal(textOf(await c.callTool({name: 'my-fixture__get_secret_hash', arguments: {}})), sha256('ghp_PLAINTEXTtokenInTheConfig0123456789'))
      assert.ok(!(await toolNames(c)).includes('echo'), 'the key is scoped to the imported servers')
    })
  })
})
