import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'

import type {Client} from '@modelcontextprotocol/sdk/client/index.js'

import {collect, Sandbox, sleep, until} from '../helpers/cli.js'
import {bearer, httpClient, INITIALIZE, post, startServe, stdioClient, toolNames, type RunningServe} from '../helpers/server.js'

const ALL_TOOLS = ['debug_info', 'echo', 'get_time', 'hello_world']
const PRESET_TOOLS: Record<string, string[]> = {full: ALL_TOOLS, readonly: ['get_time'], limited: ['echo', 'hello_world']}

describe('keyward serve', function () {
  this.timeout(60_000)
  let box: Sandbox
  const keys: Record<string, string> = {}
  const running: RunningServe[] = []
  const clients: Client[] = []

  async function newKey(name: string, ...args: string[]): Promise<string> {
    const r = await box.run(['keys', 'generate', '--name', name, ...args])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.trim()
  }

  async function serve(args: string[] = [], env: Record<string, string | undefined> = {}): Promise<RunningServe> {
    const s = await startServe(box, args, env)
    running.push(s)
    return s
  }

  async function client(url: string, key: string): Promise<Client> {
    const c = await httpClient(url, bearer(key))
    clients.push(c)
    return c
  }

  beforeEach(async () => {
    box = new Sandbox()
    await box.initWithKeyFile()
    for (const preset of Object.keys(PRESET_TOOLS)) keys[preset] = await newKey(preset, '--scope', preset)
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
    await Promise.all(running.splice(0).map((s) => s.stop()))
    await box.cleanup()
  })

  for (const mode of ['stateful', 'stateless'] as const) {
    describe(`Streamable HTTP, ${mode}`, () => {
      const flags = mode === 'stateless' ? ['--stateless'] : []

      it('each preset sees exactly its tools, and calls them', async () => {
        const s = await serve(flags)
        for (const [preset, tools] of Object.entries(PRESET_TOOLS)) {
          const c = await client(s.url, keys[preset])
          assert.deepEqual(await toolNames(c), tools, preset)
        }
        const full = await client(s.url, keys.full)
        const echoed = await full.callTool({name: 'echo', arguments: {message: 'hi there'}})
        assert.deepEqual(echoed.content, [{type: 'text', text: 'hi there'}])
        const hello = await full.callTool({name: 'hello_world', arguments: {name: 'Ada'}})
        assert.deepEqual(hello.content, [{type: 'text', text: 'Hello, Ada!'}])
        const time = await full.callTool({name: 'get_time', arguments: {}})
        assert.match((time.content as {text: string}[])[0].text, /^\d{4}-\d{2}-\d{2}T/)
      })

      it('an out-of-scope call gets the same error as an unknown tool', async () => {
        const s = await serve(flags)
        const c = await client(s.url, keys.readonly)
        const outOfScope = await c.callTool({name: 'echo', arguments: {message: 'x'}}).then(() => undefined, (e: {code: number; message: string}) => e)
        const unknown = await c.callTool({name: 'no_such_tool', arguments: {}}).then(() => undefined, (e: {code: number; message: string}) => e)
        assert.ok(outOfScope && unknown, 'both refused')
        assert.equal(outOfScope.code, -32602)
        assert.equal(outOfScope.code, unknown.code)
        assert.equal(outOfScope.message.replace('echo', 'X'), unknown.message.replace('no_such_tool', 'X'))
      })

      it('refuses missing, malformed, unknown, revoked and expired keys with 401 and the reason', async () => {
        const revoked = await newKey('to-revoke', '--scope', 'full')
        await box.run(['keys', 'revoke', 'to-revoke', '--yes'])
        const expired = await newKey('short-lived', '--scope', 'full', '--expires', '1s')
        await sleep(1100)
        const s = await serve(flags)
        const [prefix, id] = keys.full.split('_')
        const lib = await import('../../src/keys/format.js')
        const unknown = lib.formatKey(prefix, id, 'y'.repeat(33))
        const cases: [Record<string, string>, string][] = [
          [{}, 'missing'],
          [bearer('kw_garbage'), 'malformed'],
          [bearer(unknown), 'not_found'],
          [bearer(revoked), 'revoked'],
          [bearer(expired), 'expired'],
          [{'X-API-Key': revoked}, 'revoked'],
          [{Authorization: `Basic ${Buffer.from('a:b').toString('base64')}`}, 'unsupported_scheme'],
        ]
        for (const [headers, reason] of cases) {
          const r = await post(s.url, INITIALIZE, headers)
          assert.equal(r.status, 401, `${reason}: ${r.text}`)
          assert.equal(JSON.parse(r.text).error.data.reason, reason)
          assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="keyward"/)
          await assert.rejects(httpClient(s.url, headers), /401|Unauthorized/, `SDK client refused (${reason})`)
        }
        const ok = await post(s.url, INITIALIZE, {'X-API-Key': keys.full})
        assert.equal(ok.status, 200, 'X-API-Key works too')
        // The log reaches this process a little after the answer does (under load, after the next requests).
        await until(() => /refused POST \/mcp from \S+: 401 revoked/.test(s.logs()), 5000)
        assert.match(s.logs(), /refused POST \/mcp from \S+: 401 revoked/)
        for (const key of [revoked, expired, unknown]) assert.ok(!s.logs().includes(key.slice(16)), 'no credential in the logs')
      })
    })
  }

  describe('Streamable HTTP front', () => {
    it('binds each session to the key that opened it', async () => {
      const s = await serve()
      const opened = await post(s.url, INITIALIZE, bearer(keys.full))
      const sessionId = opened.headers.get('mcp-session-id')
      assert.ok(sessionId)
      const headers = {'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25'}
      await post(s.url, {jsonrpc: '2.0', method: 'notifications/initialized'}, {...bearer(keys.full), ...headers})
      const list = {jsonrpc: '2.0', id: 2, method: 'tools/list'}
      const other = await post(s.url, list, {...bearer(keys.limited), ...headers})
      assert.equal(other.status, 404, 'another key presenting the session id is refused')
      assert.match(other.text, /Session not found/)
      const own = await post(s.url, list, {...bearer(keys.full), ...headers})
      assert.equal(own.status, 200)
      assert.match(own.text, /debug_info/)
    })

    it('caps the sessions one key can hold, closing its least recently used', async () => {
      const s = await serve()
      const ids: string[] = []
      for (let i = 0; i < 65; i++) ids.push((await post(s.url, INITIALIZE, bearer(keys.limited))).headers.get('mcp-session-id')!)
      const ping = (id: string, key: string) => post(s.url, {jsonrpc: '2.0', id: 9, method: 'ping'}, {...bearer(key), 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25'})
      assert.equal((await ping(ids[0], keys.limited)).status, 404, 'the oldest session was closed')
      assert.equal((await ping(ids[64], keys.limited)).status, 200)
      const other = (await post(s.url, INITIALIZE, bearer(keys.full))).headers.get('mcp-session-id')!
      assert.equal((await ping(other, keys.full)).status, 200, 'another key is not affected')
    })

    it('validates Host and Origin against DNS rebinding, and refuses credentials in the query string', async () => {
      const s = await serve()
      const port = new URL(s.url).port
      const raw = async (headers: Record<string, string>, query = '') => {
        const {request} = await import('node:http')
        return new Promise<number>((resolve, reject) => {
          const req = request({host: '127.0.0.1', port, path: `/mcp${query}`, method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(keys.full), ...headers}}, (res) => {
            res.resume()
            resolve(res.statusCode!)
          })
          req.on('error', reject)
          req.end(JSON.stringify(INITIALIZE))
        })
      }
      assert.equal(await raw({host: 'evil.example:' + port}), 403)
      assert.equal(await raw({origin: 'http://evil.example'}), 403)
      assert.equal(await raw({origin: `http://localhost:${port}`}), 200)
      assert.equal(await raw({host: `localhost:${port}`}), 200)
      assert.equal(await raw({}, `?api_key=${keys.full}`), 400)
      const health = await fetch(s.url.replace('/mcp', '/healthz'))
      assert.deepEqual(await health.json(), {status: 'ok'})
    })

    it('revoking a key cuts it off within a second, while another key keeps working', async () => {
      const s = await serve()
      const victim = await client(s.url, keys.full)
      const bystander = await client(s.url, keys.limited)
      await victim.callTool({name: 'echo', arguments: {message: 'before'}})
      const revoke = await box.run(['keys', 'revoke', 'full', '--yes'])
      assert.equal(revoke.code, 0)
      const revokedAt = Date.now()
      let refusedAfter: number | undefined
      while (Date.now() - revokedAt < 3000) {
        const ok = await victim.callTool({name: 'echo', arguments: {message: 'x'}}).then(() => true, () => false)
        if (!ok) {
          refusedAfter = Date.now() - revokedAt
          break
        }
        await sleep(20)
      }
      assert.ok(refusedAfter !== undefined && refusedAfter < 1000, `refused after ${refusedAfter} ms`)
      const still = await bystander.callTool({name: 'echo', arguments: {message: 'still here'}})
      assert.deepEqual(still.content, [{type: 'text', text: 'still here'}])
      const r = await post(s.url, INITIALIZE, bearer(keys.full))
      assert.equal(JSON.parse(r.text).error.data.reason, 'revoked')
    })

    it('a re-scoped key sees its new tools without a restart', async () => {
      const s = await serve(['--stateless'])
      const c = await client(s.url, keys.limited)
      assert.deepEqual(await toolNames(c), ['echo', 'hello_world'])
      await box.run(['keys', 'scope', 'limited', '--add', 'get_*', '--add', '!echo'])
      await sleep(300)
      assert.deepEqual(await toolNames(c), ['get_time', 'hello_world'])
    })

    it('keeps serving its last good state when the vault on disk turns corrupt', async () => {
      const s = await serve()
      const c = await client(s.url, keys.full)
      const good = await fs.readFile(box.vault)
      // Replace the file the way a writer does (rename), with a damaged copy.
      await fs.writeFile(`${box.vault}.corrupt`, good.toString('utf8').replace(/"tag": "(.)/g, (_m, ch: string) => `"tag": "${ch === 'A' ? 'B' : 'A'}`))
      await fs.rename(`${box.vault}.corrupt`, box.vault)
      await sleep(400)
      assert.match(s.logs(), /vault reload failed \(VAULT_DAMAGED/)
      const still = await c.callTool({name: 'echo', arguments: {message: 'last good state'}})
      assert.deepEqual(still.content, [{type: 'text', text: 'last good state'}])
      const fresh = await client(s.url, keys.readonly)
      assert.deepEqual(await toolNames(fresh), ['get_time'])
      // And a later good version is picked up.
      await fs.writeFile(`${box.vault}.good`, good)
      await fs.rename(`${box.vault}.good`, box.vault)
      await box.run(['keys', 'revoke', 'readonly', '--yes'])
      await sleep(400)
      assert.equal((await post(s.url, INITIALIZE, bearer(keys.readonly))).status, 401)
    })

    it('stateless mode answers GET with 405 and never issues a session', async () => {
      const s = await serve(['--stateless'])
      const r = await post(s.url, INITIALIZE, bearer(keys.full))
      assert.equal(r.status, 200)
      assert.equal(r.headers.get('mcp-session-id'), null)
      const get = await fetch(s.url, {headers: bearer(keys.full)})
      assert.equal(get.status, 405)
    })

    it('declares its authentication, shows the caller in debug_info, and leaks no key material', async () => {
      const s = await serve()
      const c = await client(s.url, keys.full)
      assert.deepEqual(c.getServerCapabilities()?.experimental, {authentication: {required: true, types: ['api_key']}})
      const info = await c.callTool({name: 'debug_info', arguments: {}})
      const data = info.structuredContent as {key: {id: string; name: string}; authType: string; scopes: string[]}
      assert.equal(data.key.id, keys.full.split('_')[1])
      assert.equal(data.key.name, 'full')
      assert.equal(data.authType, 'api_key')
      const text = JSON.stringify(info)
      assert.ok(!text.includes(keys.full.split('_')[2].slice(0, 20)), 'no key secret')
      assert.doesNotMatch(text, /[0-9a-f]{64}/, 'no hash')
      assert.ok(!s.logs().includes(keys.full.split('_')[2].slice(0, 20)), 'no key in the logs')
    })

    it('rejects invalid tool input as a tool error', async () => {
      const s = await serve()
      const c = await client(s.url, keys.full)
      const r = await c.callTool({name: 'echo', arguments: {message: 42}})
      assert.equal(r.isError, true)
      assert.match((r.content as {text: string}[])[0].text, /Invalid arguments for echo/)
    })

    it('--auth none runs on loopback only, with a loud warning', async () => {
      const refused = await box.run(['serve', '--transport', 'http', '--auth', 'none', '--host', '0.0.0.0', '--port', '0'])
      assert.equal(refused.code, 2)
      assert.match(refused.stderr, /loopback only/)
      const s = await serve(['--auth', 'none'])
      assert.match(s.logs(), /NO AUTHENTICATION/)
      const c = await httpClient(s.url, {})
      clients.push(c)
      assert.deepEqual(await toolNames(c), ALL_TOOLS)
    })

    it('warns when bound to anything but loopback, and then answers only allowed Host names', async () => {
      const s = await serve(['--host', '0.0.0.0', '--allowed-host', 'mcp.example.internal'])
      assert.match(s.logs(), /warn: binding 0\.0\.0\.0: reachable from other machines/)
      const port = new URL(s.url).port
      const local = await post(`http://127.0.0.1:${port}/mcp`, INITIALIZE, bearer(keys.full))
      assert.equal(local.status, 403, 'Host 127.0.0.1 is not on the list for a public bind')
      const {request} = await import('node:http')
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: {host: 'mcp.example.internal', 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(keys.full)}}, (res) => {
          res.resume()
          resolve(res.statusCode!)
        })
        req.on('error', reject)
        req.end(JSON.stringify(INITIALIZE))
      })
      assert.equal(status, 200, 'an --allowed-host name is answered')
    })

    it('shuts down cleanly on SIGTERM, and reloads on SIGHUP', async () => {
      const s = await serve()
      s.child.kill('SIGHUP')
      await sleep(200)
      assert.match(s.logs(), /SIGHUP: reloading/)
      assert.equal(await s.stop('SIGTERM'), 0)
      assert.match(s.logs(), /SIGTERM: shutting down/)
    })
  })

  describe('stdio', () => {
    it('each preset sees exactly its tools; an out-of-scope call is refused', async () => {
      for (const [preset, tools] of Object.entries(PRESET_TOOLS)) {
        const {client: c} = await stdioClient(box, {KEYWARD_API_KEY: keys[preset]})
        clients.push(c)
        assert.deepEqual(await toolNames(c), tools, preset)
        if (preset === 'readonly') await assert.rejects(c.callTool({name: 'echo', arguments: {message: 'x'}}), /Unknown tool: echo/)
      }
    })

    it("accepts the seed's MCP_API_KEY too", async () => {
      const {client: c} = await stdioClient(box, {MCP_API_KEY: keys.limited})
      clients.push(c)
      assert.deepEqual(await toolNames(c), ['echo', 'hello_world'])
    })

    it('ends at startup with a clear message and its exit code for a missing or bad key', async () => {
      const revoked = await newKey('gone', '--scope', 'full')
      await box.run(['keys', 'revoke', 'gone', '--yes'])
      const expired = await newKey('brief', '--scope', 'full', '--expires', '1s')
      await sleep(1100)
      const [prefix, id] = keys.full.split('_')
      const lib = await import('../../src/keys/format.js')
      const cases: [string | undefined, number, RegExp][] = [
        [undefined, 25, /no API key: set KEYWARD_API_KEY/],
        ['kw_nonsense', 20, /malformed/],
        [lib.formatKey(prefix, id, 'z'.repeat(33)), 21, /not found/],
        [revoked, 22, /revoked/],
        [expired, 23, /expired/],
      ]
      for (const [key, exit, message] of cases) {
        const r = await box.run(['serve', '--transport', 'stdio'], {env: {KEYWARD_API_KEY: key}})
        assert.equal(r.code, exit, `${message}: ${r.stderr}`)
        assert.match(r.stderr, message)
        assert.equal(r.stdout, '', 'nothing on stdout')
      }
      const locked = await box.run(['serve', '--transport', 'stdio'], {env: {KEYWARD_API_KEY: keys.full, KEYWARD_KEY_FILE: undefined}})
      assert.equal(locked.code, 11, 'cannot prompt for the vault over stdio')
    })

    it('puts nothing but JSON-RPC on stdout, and refuses requests once the key is revoked', async () => {
      const child = box.spawn(['serve', '--transport', 'stdio'], {env: {KEYWARD_API_KEY: keys.full}})
      let stdout = ''
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      const send = (m: unknown) => child.stdin!.write(JSON.stringify(m) + '\n')
      const waitFor = async (id: number) => {
        for (let i = 0; i < 200 && !stdout.includes(`"id":${id}`); i++) await sleep(25)
      }
      send(INITIALIZE)
      await waitFor(1)
      send({jsonrpc: '2.0', method: 'notifications/initialized'})
      send({jsonrpc: '2.0', id: 2, method: 'tools/list'})
      send({jsonrpc: '2.0', id: 3, method: 'tools/call', params: {name: 'debug_info', arguments: {}}})
      send({jsonrpc: '2.0', id: 4, method: 'tools/call', params: {name: 'nope', arguments: {}}})
      await waitFor(4)
      await box.run(['keys', 'revoke', 'full', '--yes'])
      await sleep(500)
      send({jsonrpc: '2.0', id: 5, method: 'tools/list'})
      await waitFor(5)
      const done = collect(child)
      const result = await done
      const lines = stdout.split('\n').filter((l) => l !== '')
      assert.ok(lines.length >= 5, stdout)
      for (const line of lines) {
        const message = JSON.parse(line)
        assert.equal(message.jsonrpc, '2.0', line)
      }
      const byId = new Map<number, any>(lines.map((l) => JSON.parse(l)).map((m: {id: number}) => [m.id, m]))
      assert.equal(byId.get(2).result.tools.length, 4)
      assert.equal(byId.get(4).error.code, -32602)
      assert.equal(byId.get(5).error.code, -32001)
      assert.equal(byId.get(5).error.data.reason, 'revoked')
      assert.equal(result.code, 0, 'ends cleanly when stdin closes')
      assert.match(result.stderr, /serving MCP on stdio/)
    })
  })

  describe('stdio shutdown', () => {
    it('exits within 2 s of SIGTERM while the client holds stdin open, with the audit log written out', async () => {
      const audit = box.path('stdio-audit.jsonl')
      const child = box.spawn(['serve', '--transport', 'stdio', '--audit-log', audit], {env: {KEYWARD_API_KEY: keys.full}})
      let stdout = ''
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr!.resume()
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      child.stdin!.write(JSON.stringify(INITIALIZE) + '\n')
      for (let i = 0; i < 400 && !stdout.includes('"id":1'); i++) await sleep(25)
      assert.match(stdout, /"id":1/, 'initialized')
      const signalled = Date.now()
      child.kill('SIGTERM')
      const code = await Promise.race([exited, sleep(2000).then(() => 'still running' as const)])
      if (code === 'still running') child.kill('SIGKILL')
      assert.equal(code, 0, 'exits cleanly on SIGTERM')
      assert.ok(Date.now() - signalled < 2000)
      assert.equal(child.stdin!.writableEnded, false, 'stdin was never closed')
      const events = (await fs.readFile(audit, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).event)
      assert.equal(events.at(-1), 'server.stop', events.join(' '))
    })
  })

  describe('keyward up (the quick start)', () => {
    it('creates a vault and key file, shows a first key once, and serves it over HTTP', async () => {
      const fresh = new Sandbox()
      const child = fresh.spawn(['up', '--port', '0'])
      let stdout = ''
      let stderr = ''
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      for (let i = 0; i < 300 && !/listening on/.test(stderr); i++) await sleep(50)
      const url = /listening on (\S+)/.exec(stderr)![1]
      const key = stdout.trim()
      assert.match(key, /^kw_\S+$/)
      assert.match(stderr, /Created vault/)
      assert.match(stderr, /Created key file/)
      assert.equal(((await fs.stat(fresh.path('config', 'keyward', 'vault.key'))).mode & 0o777).toString(8), '600')
      const c = await httpClient(url, bearer(key))
      assert.deepEqual((await c.callTool({name: 'echo', arguments: {message: 'up'}})).content, [{type: 'text', text: 'up'}])
      await c.close()
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      // A second run reuses the vault and does not show a key again.
      const again = fresh.spawn(['up', '--port', '0'])
      const out = collect(again)
      await sleep(1500)
      again.kill('SIGTERM')
      const second = await out
      assert.equal(second.stdout, '', 'no new key on a later run')
      assert.match(second.stderr, /Using the API keys already in the vault/)
      await fresh.cleanup()
    })
  })
})
