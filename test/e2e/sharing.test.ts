/**
 * Upstreams shared across sessions, faithful in every mode (issue 16, items 1-9): the built CLI,
 * the SDK's real Client over HTTP (stateful and stateless) and stdio, and real upstreams (the
 * fixture in test/fixtures, server-filesystem).
 */
import assert from 'node:assert/strict'
import {promises as fs, readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport} from '@modelcontextprotocol/sdk/client/stdio.js'
import {StreamableHTTPClientTransport} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  CreateMessageRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js'

import {Bed} from '../helpers/bed.js'
import {BIN, json, ROOT, sleep, until} from '../helpers/cli.js'
import {alive, hostPid} from '../helpers/processes.js'
import {bearer, post, toolNames, type RunningServe} from '../helpers/server.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const FILESYSTEM = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js')
const EVERYTHING = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js')
const MEMORY = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js')
const SECRET = 'fixture-secret-Zq9-never-in-argv'
const textOf = (r: unknown) => ((r as {content: {text: string}[]}).content[0]?.text ?? '')

/** Host processes running `script` with node (this worktree's copy of it: no other test run's; not the wrappers that start it). */
function processesOf(script: string): number[] {
  const running: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || !alive(Number(entry))) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[1] === script) running.push(Number(entry))
    } catch {
      // It exited while we looked.
    }
  }
  return running
}

/** Which upstream process answered: its PID namespace and pid (each upstream process has a namespace of its own). */
async function processOf(c: Client): Promise<{id: string; host?: number}> {
  const proc = JSON.parse(textOf(await c.callTool({name: 'fixture__get_process', arguments: {}})))
  return {id: `${proc.pidns}/${proc.pid}`, host: hostPid(proc)}
}

describe('sharing upstreams across sessions (issue 16)', function () {
  this.timeout(120_000)
  const bed = new Bed()
  const cli = (args: string[], input?: string) => bed.cli(args, input)
  const key = (name: string, ...scopes: string[]) => bed.key(name, ...scopes.flatMap((s) => ['--scope', s]))
  const serve = (args: string[] = []) => bed.serve(args)

  /** A client of `url` with `k`, declaring `capabilities`; sampling requests it gets are recorded and answered with its name. */
  async function connect(url: string, k: string, who = 'client', capabilities: ClientCapabilities = {}): Promise<Client & {asked: string[]}> {
    const c = new Client({name: who, version: '1'}, {capabilities}) as Client & {asked: string[]}
    c.asked = []
    if (capabilities.sampling) {
      c.setRequestHandler(CreateMessageRequestSchema, (request) => {
        c.asked.push(JSON.stringify(request.params.messages))
        return {role: 'assistant', content: {type: 'text', text: `hi from ${who}`}, model: 'test'}
      })
    }
    await c.connect(new StreamableHTTPClientTransport(new URL(url), {requestInit: {headers: bearer(k)}}))
    bed.clients.push(c)
    return c
  }

  async function stdio(env: Record<string, string>, capabilities: ClientCapabilities = {}) {
    const transport = new StdioClientTransport({command: process.execPath, args: [BIN, 'serve', '--transport', 'stdio'], env: {...bed.box.env, ...env}, cwd: bed.box.dir, stderr: 'pipe'})
    let stderr = ''
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const c = new Client({name: 'stdio-client', version: '1'}, {capabilities})
    await c.connect(transport)
    bed.clients.push(c)
    return {client: c, stderr: () => stderr}
  }

  beforeEach(async () => {
    await bed.setUp()
    await cli(['secrets', 'set', 'FIXTURE_TOKEN'], SECRET)
    await cli(['upstream', 'add', 'fixture', '--env', 'FIXTURE_SECRET=secret:FIXTURE_TOKEN', '--', process.execPath, FIXTURE])
  })

  afterEach(() => bed.tearDown())

  describe('1. isolation shared | key | session', () => {
    it('upstream add and set take --isolation, shared by default (import-config too), shown by show and list', async () => {
      assert.equal(json(await cli(['upstream', 'show', 'fixture', '--json'])).upstream.isolation, 'shared')
      await cli(['upstream', 'add', 'per-key', '--isolation', 'key', '--skip-check', '--', process.execPath, FIXTURE])
      assert.equal(json(await cli(['upstream', 'show', 'per-key', '--json'])).upstream.isolation, 'key')
      const set = await cli(['upstream', 'set', 'fixture', '--isolation', 'session'])
      assert.match(set.stdout, /one process per client session \(isolation session\)/)
      assert.match((await cli(['upstream', 'show', 'fixture'])).stdout, /isolation\s+session/)
      const bad = await bed.box.run(['upstream', 'set', 'fixture', '--isolation', 'everyone'])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /shared, key, session/)
      await cli(['upstream', 'set', 'fixture', '--isolation', 'shared'])
      const file = bed.box.path('mcp.json')
      await fs.writeFile(file, JSON.stringify({mcpServers: {imported: {command: process.execPath, args: [FIXTURE]}}}))
      await cli(['import-config', file, '--write'])
      const list = json(await cli(['upstream', 'list', '--json'])).upstreams as {name: string; isolation: string}[]
      assert.deepEqual(Object.fromEntries(list.map((u) => [u.name, u.isolation])), {fixture: 'shared', imported: 'shared', 'per-key': 'key'})
    })

    it('shared: one process for every session; key: one per key; session: one per session', async () => {
      const [alice, bob] = [await key('alice', 'fixture__*'), await key('bob', 'fixture__*')]
      const ids = async (s: RunningServe) => {
        const sessions = [await connect(s.url, alice), await connect(s.url, alice), await connect(s.url, bob), await connect(s.url, bob)]
        return Promise.all(sessions.map(async (c) => (await processOf(c)).id))
      }
      let s = await serve()
      const shared = await ids(s)
      assert.equal(new Set(shared).size, 1, 'shared: one process')
      await s.stop()
      await cli(['upstream', 'set', 'fixture', '--isolation', 'key'])
      s = await serve()
      const keyed = await ids(s)
      assert.equal(keyed[0], keyed[1], "alice's sessions share")
      assert.equal(keyed[2], keyed[3], "bob's sessions share")
      assert.notEqual(keyed[0], keyed[2], 'alice and bob do not')
      await s.stop()
      await cli(['upstream', 'set', 'fixture', '--isolation', 'session'])
      s = await serve()
      assert.equal(new Set(await ids(s)).size, 4, 'session: one each')
    })
  })

  describe('2. multiplexing a shared upstream', () => {
    it('published upstreams (server-everything, server-memory), one process each for two keys: concurrent calls get their own answers and progress; sampling reaches the one caller', async () => {
      // Pinned when serve first lists it: server-everything offers its sampling tool only to a client that declares sampling (a shared connection does; the check at add does not).
      await cli(['upstream', 'add', 'everything', '--skip-check', '--', process.execPath, EVERYTHING])
      await cli(['upstream', 'add', 'memory', '--env', `MEMORY_FILE_PATH=${bed.box.path('memory.jsonl')}`, '--', process.execPath, MEMORY])
      const [alice, bob] = [await key('alice', 'everything__*', 'memory__*'), await key('bob', 'everything__*', 'memory__*')]
      const s = await serve()
      const sessions = await Promise.all([alice, alice, alice, bob, bob, bob].map((k, i) => connect(s.url, k, `s${i}`, {sampling: {}})))
      const results = await Promise.all(
        sessions.map(async (c, i) => {
          const progress: string[] = []
          const steps = i + 2
          const long = c.callTool({name: 'everything__trigger-long-running-operation', arguments: {duration: 0.4 * steps, steps}}, undefined, {onprogress: (p) => void progress.push(`${p.progress}/${p.total}`)})
          const created = c.callTool({name: 'memory__create_entities', arguments: {entities: [{name: `entity-${i}`, entityType: 'test', observations: [`made by s${i}`]}]}})
          return {steps, progress, long: textOf(await long), created: textOf(await created)}
        }),
      )
      results.forEach(({steps, progress, long, created}, i) => {
        assert.equal(long, `Long running operation completed. Duration: ${0.4 * steps} seconds, Steps: ${steps}.`)
        assert.deepEqual(progress, Array.from({length: steps}, (_, n) => `${n + 1}/${steps}`), `s${i} got its own progress, and only its own`)
        assert.match(created, new RegExp(`entity-${i}\\b`))
        assert.doesNotMatch(created, new RegExp(`entity-(?!${i}\\b)\\d`), `s${i} got its own answer`)
      })
      assert.equal(processesOf(EVERYTHING).length, 1, 'one server-everything process for both keys and six sessions')
      assert.equal(processesOf(MEMORY).length, 1, 'one server-memory process')
      const asked = await sessions[4].callTool({name: 'everything__trigger-sampling-request', arguments: {prompt: 'only s4'}})
      assert.match(JSON.stringify(asked.content), /hi from s4/, 'the one caller answered')
      assert.deepEqual(sessions.map((c) => c.asked.length), [0, 0, 0, 0, 1, 0], 'and no one else was asked')
    })

    it('concurrent calls of many sessions (the same JSON-RPC ids) each get their own answer and their own progress', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const sessions = await Promise.all(['a', 'b', 'c'].map((who) => connect(s.url, k, who)))
      const progress = new Map<string, string[]>()
      const calls = sessions.flatMap((c, i) =>
        [0, 1, 2, 3].map(async (n) => {
          const label = `${i}-${n}`
          progress.set(label, [])
          const r = await c.callTool({name: 'fixture__report_progress', arguments: {label}}, undefined, {onprogress: (p) => void progress.get(label)!.push(String(p.message))})
          const slept = await c.callTool({name: 'fixture__sleep', arguments: {label, ms: 50 + n * 20}})
          return [textOf(r), textOf(slept)]
        }),
      )
      const answers = await Promise.all(calls)
      answers.forEach(([r, slept], j) => {
        const label = `${Math.floor(j / 4)}-${j % 4}`
        assert.equal(r, `progress ${label}`)
        assert.equal(slept, `slept ${label}`)
        assert.deepEqual(progress.get(label), [label, label, label], `only its own progress reached ${label}`)
      })
    })

    it("a cancellation reaches only the caller's own request", async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const [a, b] = [await connect(s.url, k, 'a'), await connect(s.url, k, 'b')]
      // Both calls must have reached the upstream before one is cancelled.
      await Promise.all([processOf(a), processOf(b)])
      const controller = new AbortController()
      const cancelled = a.callTool({name: 'fixture__sleep', arguments: {label: 'a', ms: 3000}}, undefined, {signal: controller.signal}).catch((e: Error) => e)
      const finished = b.callTool({name: 'fixture__sleep', arguments: {label: 'b', ms: 1000}})
      await sleep(300)
      controller.abort()
      assert.ok((await cancelled) instanceof Error)
      assert.equal(textOf(await finished), 'slept b')
      assert.ok(await until(async () => textOf(await b.callTool({name: 'fixture__cancelled_calls', arguments: {}})) === '["a"]'), 'the upstream cancelled a, and only a')
    })

    it('a client that goes away before its answer has its upstream call cancelled, so a later request to a client is certain again (stateful and stateless)', async () => {
      const k = await key('all', 'fixture__*')
      for (const args of [[], ['--stateless']]) {
        const s = await serve(args)
        const alice = await connect(s.url, k, 'alice', {sampling: {}})
        const sessionId = (alice as unknown as {transport: {sessionId?: string}}).transport.sessionId
        // The upstream running before the call is made: a call cancelled while it starts never reaches it, and so is never cancelled there.
        await alice.callTool({name: 'fixture__cancelled_calls', arguments: {}})
        const gone = new AbortController()
        const label = `gone${args.length}`
        const abandoned = fetch(s.url, {
          method: 'POST',
          signal: gone.signal,
          headers: {...bearer(k), ...(sessionId ? {'mcp-session-id': sessionId} : {}), 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25'},
          body: JSON.stringify({jsonrpc: '2.0', id: 'left-behind', method: 'tools/call', params: {name: 'fixture__sleep', arguments: {label, ms: 60_000}}}),
        })
          // Stateful answers a slow call with a stream at once; its body is what the abort cuts.
          .then((r) => r.text())
          .catch(() => 'aborted')
        await sleep(1000)
        gone.abort()
        assert.equal(await abandoned, 'aborted')
        // Stateless at once; stateful once the stream was not resumed in time (10 s, session-stream.ts).
        assert.ok(await until(async () => JSON.parse(textOf(await alice.callTool({name: 'fixture__cancelled_calls', arguments: {}}))).includes(label), 25_000), 'the upstream call was cancelled')
        if (!sessionId) continue
        assert.equal(textOf(await alice.callTool({name: 'fixture__ask_model_after', arguments: {label: 'after', ms: 10}})), 'model said: hi from alice', 'no call is left in flight to make it uncertain')
      }
    })

    it('resource subscriptions are counted per session: subscribed upstream on the first, unsubscribed on the last, updates to subscribers only', async () => {
      const k = await key('all', 'fixture__*', 'resource:fixture://**')
      const s = await serve()
      const [a, b, c] = [await connect(s.url, k, 'a'), await connect(s.url, k, 'b'), await connect(s.url, k, 'c')]
      const updates = {a: 0, b: 0, c: 0}
      for (const [who, client] of [['a', a], ['b', b], ['c', c]] as const) client.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void updates[who]++)
      const counts = async () => JSON.parse(textOf(await c.callTool({name: 'fixture__subscription_counts', arguments: {}})))
      await a.subscribeResource({uri: 'fixture://counter'})
      await b.subscribeResource({uri: 'fixture://counter'})
      assert.deepEqual(await counts(), {subscribe: 1, unsubscribe: 0, subscribed: ['fixture://counter']}, 'the upstream heard of the first subscriber only')
      await c.callTool({name: 'fixture__touch_resource', arguments: {}})
      assert.ok(await until(() => updates.a === 1 && updates.b === 1))
      await a.unsubscribeResource({uri: 'fixture://counter'})
      assert.equal((await counts()).unsubscribe, 0, 'b still subscribes')
      await c.callTool({name: 'fixture__touch_resource', arguments: {}})
      assert.ok(await until(() => updates.b === 2))
      // The last subscriber going away (its session closed) unsubscribes upstream.
      await (b as unknown as {transport: {terminateSession(): Promise<void>}}).transport.terminateSession()
      assert.ok(await until(async () => (await counts()).unsubscribe === 1), 'unsubscribed when the last subscriber went')
      await sleep(200)
      assert.deepEqual([updates.a, updates.c], [1, 0], 'no update reached a session that had not subscribed')
    })

    it('list_changed reaches every session whose view changed, and scopes apply per session', async () => {
      const [all, narrow] = [await key('all', 'fixture__*'), await key('narrow', 'fixture__set_value')]
      const s = await serve()
      const sessions = [await connect(s.url, all), await connect(s.url, all), await connect(s.url, narrow)]
      const changed = [0, 0, 0]
      sessions.forEach((c, i) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed[i]++))
      await Promise.all(sessions.map((c) => toolNames(c)))
      // A session opened before the upstream first listed heard of that listing: count from here.
      await sleep(300)
      changed.fill(0)
      assert.deepEqual(await toolNames(sessions[2]), ['fixture__set_value'])
      await assert.rejects(sessions[2].callTool({name: 'fixture__get_process', arguments: {}}), /Unknown tool/)
      await sessions[0].callTool({name: 'fixture__add_tool', arguments: {}})
      assert.ok(await until(async () => json(await cli(['upstream', 'diff', 'fixture', '--json'])).changes.length > 0, 10_000))
      await cli(['upstream', 'approve', 'fixture', 'get_extra', '--yes'])
      assert.ok(await until(() => changed[0] > 0 && changed[1] > 0), 'both sessions of the key that sees it were told')
      await sleep(300)
      assert.equal(changed[2], 0, 'the session whose key does not see it was not')
    })

    it('log level per session: the upstream is asked for the most verbose, and keyward filters what each session gets', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const [quiet, chatty, unset] = [await connect(s.url, k, 'quiet'), await connect(s.url, k, 'chatty'), await connect(s.url, k, 'unset')]
      const got = {quiet: [] as string[], chatty: [] as string[], unset: [] as string[]}
      for (const [who, c] of [['quiet', quiet], ['chatty', chatty], ['unset', unset]] as const) c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void got[who].push(String(n.params.data)))
      await quiet.setLoggingLevel('error')
      await chatty.setLoggingLevel('debug')
      assert.equal(textOf(await unset.callTool({name: 'fixture__log_level', arguments: {}})), 'debug', 'the upstream was asked for the most verbose level')
      for (const [who, c] of [['quiet', quiet], ['chatty', chatty], ['unset', unset]] as const) await c.callTool({name: 'fixture__log_levels', arguments: {label: who}})
      assert.ok(await until(() => got.chatty.length >= 4 && got.unset.length >= 4 && got.quiet.length >= 1))
      assert.deepEqual(got.quiet, ['error quiet'], 'error only, and only its own')
      assert.deepEqual(got.chatty, ['debug chatty', 'info chatty', 'warning chatty', 'error chatty'])
      assert.deepEqual(got.unset, ['debug unset', 'info unset', 'warning unset', 'error unset'])
      // A message that belongs to no call goes to the sessions that asked for log messages, as their levels admit.
      await unset.callTool({name: 'fixture__log_later', arguments: {label: 'late', ms: 200}})
      assert.ok(await until(() => got.chatty.includes('later late')))
      await sleep(200)
      assert.ok(!got.quiet.includes('later late') && !got.unset.includes('later late'))
    })
  })

  describe('3. requests from a shared upstream to its clients', () => {
    it('reach the one caller when that is certain, and are refused at once (never sent to another client) when two sessions call at once', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const alice = await connect(s.url, k, 'alice', {sampling: {}})
      const bob = await connect(s.url, k, 'bob', {sampling: {}})
      assert.equal(textOf(await alice.callTool({name: 'fixture__ask_model_after', arguments: {label: 'alone', ms: 10}})), 'model said: hi from alice', 'one caller: certain')
      // A third session's call stays in flight throughout: when one of the two is refused and ends
      // first (under load, their requests can be far apart), the other is still not certain.
      const carol = await connect(s.url, k, 'carol')
      const busy = carol.callTool({name: 'fixture__sleep', arguments: {label: 'carol', ms: 3000}})
      await sleep(200)
      const started = Date.now()
      const both = await Promise.all([
        alice.callTool({name: 'fixture__ask_model_after', arguments: {label: 'alice', ms: 400}}).catch((e: Error) => e),
        bob.callTool({name: 'fixture__ask_model_after', arguments: {label: 'bob', ms: 400}}).catch((e: Error) => e),
      ])
      assert.ok(Date.now() - started < 5000, 'refused at once')
      for (const r of both) assert.match(String((r as Error).message ?? textOf(r)), /-32601|could not tell which client/)
      assert.deepEqual(alice.asked.map((m) => /say hi (\w+)/.exec(m)?.[1]), ['alone'], 'alice was asked only for her own call')
      assert.deepEqual(bob.asked, [], 'bob was never asked')
      // The log line reaches serve's stderr on its own time, possibly after the refused answers.
      const refusal = /upstream fixture asked for sampling while 3 calls were in flight: refused; a shared upstream cannot tell whose call asked: give it --isolation session/
      assert.ok(await until(() => refusal.test(s.logs()), 5000), s.logs())
      assert.equal(textOf(await busy), 'slept carol')
    })

    it('are refused for a client that did not declare the capability', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const plain = await connect(s.url, k, 'plain')
      await assert.rejects(plain.callTool({name: 'fixture__ask_model_after', arguments: {label: 'plain', ms: 10}}), /-32601|did not declare sampling/)
    })
  })

  describe('4. lifecycle', () => {
    it('an idle process stops after upstream.idle-timeout and the next call starts it again', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve(['--upstream-idle-timeout', '1500ms'])
      const c = await connect(s.url, k)
      const before = await processOf(c)
      assert.ok(await until(() => !alive(before.host), 8000), 'the idle process stopped')
      // The line reaches serve's stderr on its own time, possibly after the process has ended.
      assert.ok(await until(() => /upstream fixture was idle: stopped it until it is used again/.test(s.logs())), s.logs())
      const after = await processOf(c)
      assert.notEqual(after.id, before.id, 'a new process served the next call')
    })

    it('upstream.max-processes caps the processes: past it a new session gets an error saying so', async () => {
      await cli(['upstream', 'set', 'fixture', '--isolation', 'session'])
      const k = await key('all', 'fixture__*')
      const s = await serve(['--upstream-max-processes', '2'])
      const first = await connect(s.url, k)
      assert.ok((await processOf(first)).host, 'the first session has its process (the shared one that lists is the other)')
      const second = await connect(s.url, k)
      const refused = await second.callTool({name: 'fixture__get_process', arguments: {}})
      assert.equal(refused.isError, true)
      assert.match(textOf(refused), /upstream fixture cannot start a process for this session: keyward runs 2 upstream processes already, the most upstream.max-processes allows/)
      await (first as unknown as {transport: {terminateSession(): Promise<void>}}).transport.terminateSession()
      assert.ok(await until(async () => !(await second.callTool({name: 'fixture__get_process', arguments: {}})).isError, 10_000), 'room again once a session closed')
    })

    it('a first list still waiting for an upstream when SIGTERM comes starts no process for its ended session: serve exits without being held', async () => {
      // Never lists (it waits a minute before serving): the list waits for its first listing when
      // SIGTERM comes, and is let go when shutdown stops it, while that stop is still under way
      // (it ignores EOF, so it takes a while). The list then attaches its session, which has ended.
      await cli(['upstream', 'add', 'slow', '--isolation', 'session', '--env', 'FIXTURE_START_DELAY_MS=60000', '--env', 'FIXTURE_IGNORE_EOF=1', '--skip-check', '--', process.execPath, FIXTURE])
      const k = await key('all', 'slow__*')
      const s = await serve()
      const c = await connect(s.url, k)
      void c.listTools().catch(() => undefined)
      await sleep(1000)
      assert.equal(await s.stop(), 0)
      assert.doesNotMatch(s.logs(), /still held/, 'a process started for the ended session held serve after its shutdown')
    })

    it('a crashed shared upstream restarts once for all sessions, and calls meanwhile get an error naming it', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const sessions = [await connect(s.url, k), await connect(s.url, k), await connect(s.url, k)]
      const before = await processOf(sessions[0])
      process.kill(before.host!, 'SIGKILL')
      await until(() => /upstream fixture is down/.test(s.logs()))
      const during = await Promise.all(sessions.map((c) => c.callTool({name: 'fixture__get_process', arguments: {}})))
      for (const r of during) if (r.isError) assert.match(textOf(r), /^upstream fixture is (unavailable: it was killed \(SIGKILL\); it restarts in \d+s|still starting)/)
      assert.ok(await until(async () => !(await sessions[0].callTool({name: 'fixture__get_process', arguments: {}})).isError, 10_000))
      const after = await Promise.all(sessions.map(async (c) => (await processOf(c)).id))
      assert.equal(new Set(after).size, 1, 'one new process for every session')
      assert.notEqual(after[0], before.id)
      assert.equal(s.logs().match(/upstream fixture is down/g)?.length, 1, 'restarted once')
      assert.match(s.logs(), /upstream fixture is down: it was killed \(SIGKILL\); restarting in 0.5s/)
    })
  })

  describe('5. the capabilities an upstream is told', () => {
    it('stdio: what the client declared, and nothing it did not; server-filesystem then asks no roots of a client that has none', async () => {
      await cli(['upstream', 'add', 'files', '--', process.execPath, FILESYSTEM, bed.box.dir])
      const k = await key('stdio', 'fixture__*', 'files__*')
      const bare = await stdio({KEYWARD_API_KEY: k})
      assert.equal(textOf(await bare.client.callTool({name: 'fixture__client_capabilities', arguments: {}})), '{}')
      assert.ok((await toolNames(bare.client)).includes('files__list_directory'))
      await sleep(300)
      assert.doesNotMatch(bare.stderr(), /roots from client|Updated allowed directories/i, `no roots request, failed or not:\n${bare.stderr()}`)
      await bare.client.close()
      const able = await stdio({KEYWARD_API_KEY: k}, {sampling: {}, roots: {listChanged: true}})
      able.client.setRequestHandler((await import('@modelcontextprotocol/sdk/types.js')).ListRootsRequestSchema, () => ({roots: [{uri: `file://${bed.box.dir}`}]}))
      assert.deepEqual(JSON.parse(textOf(await able.client.callTool({name: 'fixture__client_capabilities', arguments: {}}))), {sampling: {}, roots: {listChanged: true}})
      assert.ok(await until(() => /Updated allowed directories from MCP roots/.test(able.stderr())), 'a client with roots is asked for them')
    })

    it('HTTP: a shared upstream is told sampling and elicitation (what keyward can route), never roots; stateless: the same (a 2026-07-28 client is asked through the bridge)', async () => {
      const k = await key('all', 'fixture__*')
      let s = await serve()
      const c = await connect(s.url, k, 'rich', {sampling: {}, elicitation: {}, roots: {listChanged: true}})
      assert.deepEqual(JSON.parse(textOf(await c.callTool({name: 'fixture__client_capabilities', arguments: {}}))), {sampling: {}, elicitation: {form: {}}})
      await s.stop()
      s = await serve(['--stateless'])
      const stateless = await connect(s.url, k, 'rich', {sampling: {}, elicitation: {}, roots: {listChanged: true}})
      assert.deepEqual(JSON.parse(textOf(await stateless.callTool({name: 'fixture__client_capabilities', arguments: {}}))), {sampling: {}, elicitation: {form: {}}})
    })
  })

  describe('6. stateless HTTP', () => {
    it('refuses sampling at once, streams progress and log messages on the POST, passes subscriptions on', async () => {
      const k = await key('all', 'fixture__*', 'resource:fixture://**')
      const s = await serve(['--stateless'])
      const c = await connect(s.url, k, 'stateless', {sampling: {}})
      const started = Date.now()
      const refused = await c.callTool({name: 'fixture__ask_model', arguments: {}}).catch((e: Error) => e)
      assert.ok(Date.now() - started < 3000, `refused at once (${Date.now() - started} ms)`)
      assert.match(String((refused as Error).message ?? textOf(refused)), /does not support sampling|-32601|Method not found/)
      const progress: string[] = []
      await c.callTool({name: 'fixture__report_progress', arguments: {label: 'p'}}, undefined, {onprogress: (p) => void progress.push(String(p.message))})
      assert.deepEqual(progress, ['p', 'p', 'p'])
      const logs: string[] = []
      c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(String(n.params.data)))
      await c.callTool({name: 'fixture__log_levels', arguments: {label: 'l'}})
      assert.deepEqual(logs, ['debug l', 'info l', 'warning l', 'error l'])
      // On the wire: an event stream for a request that accepts one, the client's own id and progress token.
      const raw = await post(s.url, {jsonrpc: '2.0', id: 'mine-7', method: 'tools/call', params: {name: 'fixture__report_progress', arguments: {label: 'w'}, _meta: {progressToken: 'tok-9'}}}, bearer(k))
      assert.equal(raw.status, 200)
      assert.match(raw.headers.get('content-type') ?? '', /^text\/event-stream/)
      const events = raw.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)))
      assert.deepEqual(events.map((e) => e.method ?? e.id), ['notifications/progress', 'notifications/progress', 'notifications/progress', 'mine-7'])
      assert.equal(events[0].params.progressToken, 'tok-9')
      const plain = await post(s.url, {jsonrpc: '2.0', id: 8, method: 'tools/call', params: {name: 'fixture__report_progress', arguments: {label: 'j'}}}, {...bearer(k), accept: 'application/json, text/event-stream'})
      assert.match(plain.headers.get('content-type') ?? '', /^application\/json/, 'a request with nothing to stream gets plain JSON')
      // resources/subscribe and unsubscribe reach the upstream as they are, and are answered as it answers.
      await c.subscribeResource({uri: 'fixture://counter'})
      await c.unsubscribeResource({uri: 'fixture://counter'})
      const counts = JSON.parse(textOf(await c.callTool({name: 'fixture__subscription_counts', arguments: {}})))
      assert.deepEqual([counts.subscribe, counts.unsubscribe], [1, 1])
    })
  })

  describe('7-8. errors and oversized answers', () => {
    it("an upstream's JSON-RPC error passes through with its code, message and data, redacted", async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const c = await connect(s.url, k)
      const err = (await c.callTool({name: 'fixture__throw_error', arguments: {}}).catch((e: unknown) => e)) as {code?: number; message?: string; data?: unknown}
      assert.equal(err.code, -32010)
      assert.match(String(err.message), /boom: detailed reason 42/)
      assert.deepEqual(err.data, {detail: 42, login: 'with [REDACTED:FIXTURE_TOKEN]'})
      assert.ok(!JSON.stringify(err).includes(SECRET))
    })

    it('an answer over the line limit is refused at once, naming the limit, and the upstream serves on', async () => {
      const k = await key('all', 'fixture__*')
      const s = await serve()
      const c = await connect(s.url, k)
      const started = Date.now()
      const err = (await c.callTool({name: 'fixture__big', arguments: {ms: 33}}).catch((e: unknown) => e)) as {code?: number; message?: string}
      assert.ok(Date.now() - started < 20_000, `answered at once (${Date.now() - started} ms)`)
      assert.equal(err.code, -32603)
      assert.match(String(err.message), /over the 33554432-byte \(32 MiB\) line limit of a stdio upstream/)
      assert.equal(textOf(await c.callTool({name: 'fixture__sleep', arguments: {label: 'after', ms: 1}})), 'slept after')
      assert.match(s.logs(), /upstream fixture: a line over 33554432 bytes on stdout was discarded/)
    })
  })

  describe('9. a session sees what its own connection lists', () => {
    it('with --isolation session, a tool its process lacks is not listed, and one keyward never pinned is not served', async () => {
      const tools = bed.box.path('tools.txt')
      await fs.writeFile(tools, 'extra_a\n')
      await cli(['upstream', 'add', 'listed', '--isolation', 'session', '--env', `FIXTURE_TOOLS_FILE=${tools}`, '--', process.execPath, FIXTURE])
      const k = await key('all', 'listed__*')
      const s = await serve()
      const before = await connect(s.url, k)
      assert.ok((await toolNames(before)).includes('listed__extra_a'))
      await fs.writeFile(tools, 'extra_b\n')
      const after = await connect(s.url, k)
      const names = await toolNames(after)
      assert.ok(names.includes('listed__get_process'), names.join(' '))
      assert.ok(!names.includes('listed__extra_a'), 'its own process does not offer extra_a')
      assert.ok(!names.includes('listed__extra_b'), 'extra_b was never pinned: held back')
      await assert.rejects(after.callTool({name: 'listed__extra_b', arguments: {}}), /Unknown tool: listed__extra_b/)
      await assert.rejects(after.callTool({name: 'listed__extra_a', arguments: {}}), /Unknown tool: listed__extra_a/)
      assert.equal(textOf(await before.callTool({name: 'listed__extra_a', arguments: {}})), 'extra_a', 'the earlier session keeps what its process offers')
    })
  })
})
