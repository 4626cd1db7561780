/**
 * Sessions at scale (issue 16): 1,000 concurrent stateful HTTP sessions (10 keys x 100, with
 * sessions.per-principal raised) over 3 upstreams (the test fixture, server-memory,
 * server-filesystem, all stdio) with isolation `shared`; each session is opened (initialize,
 * initialized, a first tools/call) and then calls a tool of the other two upstreams. Against
 * baselines measured in the same run:
 *   - a bare SDK server (bench/baselines/sdk-http.ts, stateful), opened the same way, in
 *     interleaved rounds: what opening a session adds;
 *   - supergateway 4 (stateful: one upstream process per session) over the same fixture, with
 *     fewer sessions: tools/call throughput across sessions;
 *   - the same 3 upstreams with isolation `session` (BENCH_ISOLATED_SESSIONS sessions, 10 by
 *     default): what a session cost before upstreams were shared.
 * RSS is the sum over keyward's process tree (keyward and every upstream process), from /proc.
 */
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import autocannon from 'autocannon'

import {setConfig} from '../src/config/index.js'
import {createKey} from '../src/keys/index.js'
import {addUpstream, upstreamsOf, type Isolation, type StdioUpstream} from '../src/upstreams/index.js'
import {updateVault} from '../src/vault/index.js'
import {CONNECTIONS, DURATION_S, WARMUP_S} from './load.js'
import {BIN, env, ROOT, startProcess, stopProcess, tempVault, type Row} from './util.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const MEMORY = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-memory', 'dist', 'index.js')
const FILESYSTEM = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js')
const SUPERGATEWAY = path.join(ROOT, 'node_modules', 'supergateway', 'dist', 'index.js')
const SDK_HTTP = path.join(ROOT, 'dist', 'bench', 'baselines', 'sdk-http.js')

const KEYS = 10
const PER_KEY = 100
const ISOLATED = Number(process.env.BENCH_ISOLATED_SESSIONS ?? 10)
/** supergateway starts one upstream process per session: this many share the load. */
const SG_SESSIONS = 10
const UNLIMITED = {limit: 100_000_000, windowSeconds: 60}
const PROTOCOL = '2025-11-25'

interface Tool {
  name: string
  arguments: Record<string, unknown>
  /** Text the result must hold: a fast error is not a result. */
  expect: string
}

/** One tool of each upstream, as keyward exposes them; a session's first call is the one of its turn. */
const TOOLS: Tool[] = [
  {name: 'fixture__set_value', arguments: {value: 'hello'}, expect: 'set hello'},
  {name: 'memory__read_graph', arguments: {}, expect: 'entities'},
  {name: 'files__list_allowed_directories', arguments: {}, expect: 'Allowed directories'},
]
const ECHO: Tool = {name: 'echo', arguments: {message: 'hello'}, expect: 'hello'}

interface Session {
  id?: string
  headers: Record<string, string>
}

/** One JSON-RPC exchange over Streamable HTTP; the answer, whether it came as JSON or as an event stream. */
async function rpc(url: string, session: Session, body: Record<string, unknown>): Promise<{text: string; sessionId?: string}> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {...session.headers, ...(session.id ? {'mcp-session-id': session.id, 'mcp-protocol-version': PROTOCOL} : {}), 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok && res.status !== 202) throw new Error(`${String(body.method)}: HTTP ${res.status}: ${text.slice(0, 200)}`)
  return {text, sessionId: res.headers.get('mcp-session-id') ?? undefined}
}

async function call(url: string, session: Session, tool: Tool, id: number): Promise<void> {
  const {text} = await rpc(url, session, {jsonrpc: '2.0', id, method: 'tools/call', params: {name: tool.name, arguments: tool.arguments}})
  if (!text.includes(tool.expect) || text.includes('"isError":true')) throw new Error(`tools/call ${tool.name} did not answer as expected: ${text.slice(0, 300)}`)
}

/** Opens a session (initialize, initialized, the first call); resolves to it and the time it took. */
async function openSession(url: string, headers: Record<string, string>, first: Tool): Promise<{session: Session; ms: number}> {
  const start = process.hrtime.bigint()
  const session: Session = {headers}
  const init = await rpc(url, session, {jsonrpc: '2.0', id: 0, method: 'initialize', params: {protocolVersion: PROTOCOL, capabilities: {}, clientInfo: {name: 'bench', version: '1'}}})
  session.id = init.sessionId
  await rpc(url, session, {jsonrpc: '2.0', method: 'notifications/initialized'})
  await call(url, session, first, 1)
  return {session, ms: Number(process.hrtime.bigint() - start) / 1e6}
}

/** Opens `count` sessions, one per caller at a time (a caller: the headers of a key); each one's opening time is pushed to `times`. */
async function openMany(url: string, callers: readonly Record<string, string>[], count: number, offset: number, tools: readonly Tool[], times: number[]): Promise<Session[]> {
  const sessions: Session[] = []
  await Promise.all(
    callers.map(async (headers, k) => {
      for (let i = k; i < count; i += callers.length) {
        const {session, ms} = await openSession(url, headers, tools[(offset + i) % tools.length])
        sessions.push(session)
        times.push(ms)
      }
    }),
  )
  return sessions
}

/** Every session calls the tools it has not called yet (the other upstreams), `KEYS` sessions at a time. */
async function callTheRest(url: string, sessions: readonly Session[], tools: readonly Tool[]): Promise<void> {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < sessions.length; i = next++) for (let t = 1; t < tools.length; t++) await call(url, sessions[i], tools[(i + t) % tools.length], 1 + t)
  }
  await Promise.all(Array.from({length: KEYS}, worker))
}

/** tools/call under load, spread over `sessions` in turn (each with its own key and session id). */
async function throughput(url: string, sessions: readonly Session[], tool: Tool, seconds: number): Promise<{rps: number; p50: number; p99: number; errors: number}> {
  let n = 0
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req: autocannon.Request) => {
          const session = sessions[n % sessions.length]
          const headers = {...session.headers, 'mcp-session-id': session.id!, 'mcp-protocol-version': PROTOCOL, 'content-type': 'application/json', accept: 'application/json, text/event-stream'}
          // A fresh JSON-RPC id per request: ids must not repeat within a session.
          return {...req, headers, body: JSON.stringify({jsonrpc: '2.0', id: 1000 + n++, method: 'tools/call', params: {name: tool.name, arguments: tool.arguments}})}
        },
      },
    ],
  })
  return {rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx}
}

/** RSS of a process and all its descendants, in MB, and how many processes that is (Linux /proc). */
function treeRss(root: number): {mb: number; processes: number} {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {}
  }
  let kb = 0
  let processes = 0
  const queue = [root]
  while (queue.length > 0) {
    const pid = queue.pop()!
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
      processes++
    } catch {}
    queue.push(...(children.get(pid) ?? []))
  }
  return {mb: kb / 1024, processes}
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]
}

/** A vault with the 3 upstreams at `isolation` and `KEYS` keys scoped to them; sessions.per-principal raised. */
async function sessionsVault() {
  const vault = await tempVault()
  const {dir} = vault
  const now = new Date().toISOString()
  const upstream = (name: string, args: string[], extra: Partial<StdioUpstream> = {}): StdioUpstream => ({name, transport: 'stdio', command: process.execPath, args, env: {}, prefix: true, created: now, updated: now, ...extra})
  const keys = await updateVault(vault.file, vault.material, (v) => {
    addUpstream(v.data, upstream('fixture', [FIXTURE]))
    addUpstream(v.data, upstream('memory', [MEMORY], {env: {MEMORY_FILE_PATH: {literal: path.join(dir, 'memory.jsonl')}}}))
    addUpstream(v.data, upstream('files', [FILESYSTEM, dir]))
    setConfig(v.data, 'sessions.per-principal', String(PER_KEY + KEYS))
    setConfig(v.data, 'upstream.max-processes', '1000')
    return Array.from({length: KEYS}, (_, i) => createKey(v.data, {name: `agent-${i}`, scopes: ['fixture__*', 'memory__*', 'files__*'], rateLimit: UNLIMITED}).key)
  })
  const setIsolation = (to: Isolation) =>
    updateVault(vault.file, vault.material, (v) => {
      for (const def of [...upstreamsOf(v.data).values()]) addUpstream(v.data, {...def, isolation: to}, {replace: true})
    })
  return {vault, keys, setIsolation}
}

async function freePort(): Promise<number> {
  const {createServer} = await import('node:net')
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

export async function benchSessions(): Promise<Row[]> {
  const {vault, keys, setIsolation} = await sessionsVault()
  const kwEnv = env({KEYWARD_VAULT: vault.file, KEYWARD_KEY_FILE: vault.keyFile, XDG_STATE_HOME: vault.dir})
  const callers = keys.map((key) => ({authorization: `Bearer ${key}`}))
  const rows: Row[] = []
  try {
    rows.push(...(await sharedRows(kwEnv, callers)))
    await setIsolation('session')
    rows.push(...(await isolatedRows(kwEnv, callers, rows.find((r) => r.metric.startsWith('total RSS'))!)))
  } finally {
    vault.cleanup()
  }
  return rows
}

const GROUP = `sessions: ${KEYS * PER_KEY} stateful HTTP sessions (${KEYS} keys x ${PER_KEY}) over 3 stdio upstreams (fixture, server-memory, server-filesystem), isolation shared`

async function sharedRows(kwEnv: NodeJS.ProcessEnv, keys: Record<string, string>[]): Promise<Row[]> {
  const [kwPort, sdkPort] = [await freePort(), await freePort()]
  const kwUrl = `http://127.0.0.1:${kwPort}/mcp`
  const sdkUrl = `http://127.0.0.1:${sdkPort}/mcp`
  const keyward = await startProcess(process.execPath, [BIN, 'serve', '--transport', 'http', '--port', String(kwPort)], kwEnv, /listening on/)
  const sdk = await startProcess(process.execPath, [SDK_HTTP, String(sdkPort)], env({}), /listening on/)
  try {
    // Warm-up: the upstreams started, listed and pinned; both servers' code paths hot. Then closed.
    const warm = await openMany(kwUrl, keys, KEYS * 3, 0, TOOLS, [])
    await callTheRest(kwUrl, warm, TOOLS)
    await Promise.all(warm.map((s) => fetch(kwUrl, {method: 'DELETE', headers: {...s.headers, 'mcp-session-id': s.id!}})))
    await openMany(sdkUrl, keys, KEYS * 3, 0, [ECHO], [])
    // Opening: rounds interleaved, so the machine's drift hits both sides alike.
    const [kwTimes, sdkTimes] = [[] as number[], [] as number[]]
    const sessions: Session[] = []
    let kwMs = 0
    const rounds = 5
    for (let r = 0; r < rounds; r++) {
      await openMany(sdkUrl, keys, (KEYS * PER_KEY) / rounds, 0, [ECHO], sdkTimes)
      const t = process.hrtime.bigint()
      sessions.push(...(await openMany(kwUrl, keys, (KEYS * PER_KEY) / rounds, r * 2, TOOLS, kwTimes)))
      kwMs += Number(process.hrtime.bigint() - t) / 1e6
    }
    await callTheRest(kwUrl, sessions, TOOLS)
    const rss = treeRss(keyward.pid!)
    const sdkRss = treeRss(sdk.pid!)
    await stopProcess(sdk)
    // Throughput across the sessions, the fixture's tool.
    await throughput(kwUrl, sessions, TOOLS[0], WARMUP_S)
    const kw = await throughput(kwUrl, sessions, TOOLS[0], DURATION_S)
    const sg = await supergateway()
    const [kwP50, sdkP50] = [percentile(kwTimes, 50), percentile(sdkTimes, 50)]
    return [
      {group: GROUP, metric: `time to open all ${sessions.length} sessions (${KEYS} at a time)`, value: kwMs / 1000, unit: 's'},
      {
        group: GROUP,
        metric: `total RSS, keyward and its upstreams (${rss.processes} processes)`,
        value: rss.mb,
        unit: 'MB',
        baseline: {name: `bare SDK server holding as many sessions`, value: sdkRss.mb},
        ratio: rss.mb / sdkRss.mb,
        target: '< 1 GB',
        pass: rss.mb < 1024,
      },
      {group: GROUP, metric: `opening a session (initialize + first call): p50, bare SDK server (its echo tool)`, value: sdkP50, unit: 'ms'},
      {group: GROUP, metric: `opening a session (initialize + first call, an upstream's tool): p50, keyward`, value: kwP50, unit: 'ms', baseline: {name: 'bare SDK', value: sdkP50}, ratio: kwP50 / sdkP50},
      {group: GROUP, metric: 'added p50 to open a session', value: kwP50 - sdkP50, unit: 'ms', target: '< 10 ms', pass: kwP50 - sdkP50 < 10},
      {group: GROUP, metric: `supergateway 4 over the fixture, ${SG_SESSIONS} sessions (a process each), no auth: p50 ${sg.p50} ms, p99 ${sg.p99} ms${sg.errors ? `, ${sg.errors} errors` : ''}`, value: sg.rps, unit: 'req/s'},
      {
        group: GROUP,
        metric: `tools/call across all ${sessions.length} sessions, API keys: p50 ${kw.p50} ms, p99 ${kw.p99} ms${kw.errors ? `, ${kw.errors} errors` : ''}`,
        value: kw.rps,
        unit: 'req/s',
        baseline: {name: 'supergateway', value: sg.rps},
        ratio: kw.rps / sg.rps,
        target: '>= 2x supergateway',
        pass: kw.rps / sg.rps >= 2 && kw.errors === 0,
      },
    ]
  } finally {
    await stopProcess(sdk)
    await stopProcess(keyward)
  }
}

/** supergateway (stateful) over the fixture: `SG_SESSIONS` sessions, the same load. */
async function supergateway(): Promise<{rps: number; p50: number; p99: number; errors: number}> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/mcp`
  const child = await startProcess(
    process.execPath,
    [SUPERGATEWAY, '--stdio', `"${process.execPath}" "${FIXTURE}"`, '--outputTransport', 'streamableHttp', '--stateful', '--port', String(port), '--logLevel', 'info'],
    env({}),
    /listening|Listening|StreamableHttp endpoint/,
  )
  try {
    const plain = {...TOOLS[0], name: 'set_value'}
    const sessions = await openMany(url, Array.from({length: SG_SESSIONS}, () => ({})), SG_SESSIONS, 0, [plain], [])
    await throughput(url, sessions, plain, WARMUP_S)
    return await throughput(url, sessions, plain, DURATION_S)
  } finally {
    await stopProcess(child)
  }
}

/** The same upstreams with isolation session: what each session cost before sharing. */
async function isolatedRows(kwEnv: NodeJS.ProcessEnv, keys: Record<string, string>[], shared: Row): Promise<Row[]> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/mcp`
  const keyward = await startProcess(process.execPath, [BIN, 'serve', '--transport', 'http', '--port', String(port)], kwEnv, /listening on/)
  try {
    const idle = treeRss(keyward.pid!)
    const times: number[] = []
    const started = process.hrtime.bigint()
    const sessions = await openMany(url, keys, ISOLATED, 0, TOOLS, times)
    await callTheRest(url, sessions, TOOLS)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const rss = treeRss(keyward.pid!)
    const perSession = (rss.mb - idle.mb) / sessions.length
    const sharedPerSession = shared.value / (KEYS * PER_KEY)
    const group = `sessions: isolation session (today's cost, for comparison): ${sessions.length} sessions over the same 3 upstreams`
    return [
      {group, metric: `total RSS, keyward and its upstreams (${rss.processes} processes)`, value: rss.mb, unit: 'MB'},
      {group, metric: `RSS per session (above the idle server)`, value: perSession, unit: 'MB', baseline: {name: 'isolation shared, per session', value: sharedPerSession}, ratio: perSession / sharedPerSession},
      {group, metric: 'opening a session (initialize + first call, a process started): p50', value: percentile(times, 50), unit: 'ms'},
      {group, metric: `time to open ${sessions.length} sessions and call each upstream`, value: seconds, unit: 's'},
    ]
  } finally {
    await stopProcess(keyward)
  }
}
