/**
 * Hostile upstreams: what the sandbox and the pins cost, each against a baseline measured in the
 * same process.
 *   - spawn-to-ready (spawned until `initialize` answered) of the test fixture, sandboxed under
 *     bubblewrap, against the same fixture unsandboxed (as keyward runs it: a private HOME, a
 *     PID namespace of its own); rounds interleaved so drift hits both alike;
 *   - the pin check of one upstream listing of 200 tools (all pinned: the steady state), against
 *     a tools/list of the same 200 tools through the SDK's client and server in memory.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {Client} from '@modelcontextprotocol/sdk/client/index.js'
import {InMemoryTransport} from '@modelcontextprotocol/sdk/inMemory.js'
import {Server} from '@modelcontextprotocol/sdk/server/index.js'
import {ListToolsRequestSchema, type Tool} from '@modelcontextprotocol/sdk/types.js'

import {ChildTransport, type Launch} from '../src/server/gateway/child-transport.js'
import {PinGate} from '../src/server/gateway/pin-gate.js'
import {checkSandboxSupport} from '../src/server/gateway/sandbox.js'
import {setPins} from '../src/upstreams/pin-store.js'
import {review, type UpstreamPins} from '../src/upstreams/pins.js'
import {emptyData} from '../src/vault/payload.js'
import {env, median, ROOT, timeAsyncMs, type Row} from './util.js'

const FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const ROUNDS = 15
const TOOLS = 200

async function spawnToReady(launch: Launch): Promise<number> {
  const transport = new ChildTransport({command: process.execPath, args: [FIXTURE], env: env({}) as Record<string, string>, launch, onLog: () => {}, maxLineBytes: 1 << 20})
  const client = new Client({name: 'bench', version: '1'})
  try {
    return await timeAsyncMs(() => client.connect(transport))
  } finally {
    await client.close()
  }
}

async function benchSpawn(): Promise<Row[]> {
  await checkSandboxSupport(true)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-'))
  try {
    const home = path.join(dir, 'home')
    const plain: Launch = {home, hidden: []}
    const sandboxed: Launch = {home, hidden: [], sandbox: {allow: [{path: ROOT, mode: 'ro'}], network: true}}
    await spawnToReady(plain)
    await spawnToReady(sandboxed)
    const [a, b]: number[][] = [[], []]
    for (let i = 0; i < ROUNDS; i++) {
      a.push(await spawnToReady(plain))
      b.push(await spawnToReady(sandboxed))
    }
    const unsandboxed = median(a)
    const sandbox = median(b)
    const group = `hostile upstreams: spawn-to-ready of the test fixture (spawned until initialize answered), median of ${ROUNDS}`
    return [
      {group, metric: 'unsandboxed (private HOME, its own PID namespace)', value: unsandboxed, unit: 'ms'},
      {group, metric: 'sandboxed (bubblewrap: read-only system, private HOME and /tmp)', value: sandbox, unit: 'ms', baseline: {name: 'unsandboxed', value: unsandboxed}, ratio: sandbox / unsandboxed, target: '<= 1.3x unsandboxed', pass: sandbox / unsandboxed <= 1.3},
    ]
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** 200 real tool definitions: the reference servers' (test/fixtures/scan-corpus/clean), renamed as often as needed. */
function manyTools(): Tool[] {
  const dir = path.join(ROOT, 'test', 'fixtures', 'scan-corpus', 'clean')
  const real: Tool[] = ['server-github', 'server-filesystem', 'server-everything', 'server-memory'].flatMap((f) => JSON.parse(readFileSync(path.join(dir, `${f}.json`), 'utf8')).tools)
  return Array.from({length: TOOLS}, (_, i) => ({...real[i % real.length], name: `${real[i % real.length].name}_${i}`}))
}

async function benchPins(): Promise<Row[]> {
  const tools = manyTools()
  const data = emptyData()
  setPins(data, 'big', review(undefined, {tool: tools, prompt: [], template: []}, {now: new Date().toISOString(), onChange: 'block'}).state)
  const gate = new PinGate({data: () => data, settings: () => ({onChange: 'block', onFinding: 'warn'}), audit: () => {}, log: () => {}})
  const pins = data.tables.get('pins')!.get('big') as UpstreamPins
  // The same pins without the listing's own hash: every item goes the canonical way (keys sorted at every depth).
  const canonicalOnly: UpstreamPins = {...pins, items: Object.fromEntries(Object.entries(pins.items).map(([k, {listed: _l, ...pin}]) => [k, pin]))}
  // Each listing is a new parse of the upstream's JSON, as the SDK's client gives it.
  const wire = JSON.stringify(tools)
  const check = () => {
    const served = gate.admit('big', {tool: JSON.parse(wire) as Tool[]}, {fresh: true, partial: false})
    if (served.tool?.size !== TOOLS) throw new Error('the pin check did not serve every pinned tool')
  }
  const parseOnly = () => JSON.parse(wire) as Tool[]
  const canonical = () => {
    const r = review(canonicalOnly, {tool: JSON.parse(wire) as Tool[]}, {now: new Date().toISOString(), onChange: 'block'})
    if (r.served.tool?.size !== TOOLS) throw new Error('the pin check did not serve every pinned tool')
  }
  const server = new Server({name: 'big', version: '1'}, {capabilities: {tools: {}}})
  server.setRequestHandler(ListToolsRequestSchema, () => ({tools}))
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  const client = new Client({name: 'bench', version: '1'})
  await client.connect(clientSide)
  try {
    for (let i = 0; i < 50; i++) {
      check()
      await client.listTools()
    }
    const [pin, item, parse, list]: number[][] = [[], [], [], []]
    for (let i = 0; i < 300; i++) {
      pin.push(await timeAsyncMs(async () => check()))
      item.push(await timeAsyncMs(async () => canonical()))
      parse.push(await timeAsyncMs(async () => parseOnly()))
      list.push(await timeAsyncMs(() => client.listTools()))
    }
    // The listing's parse is the SDK's work, not the check's: it is taken off both.
    const parsed = median(parse)
    const added = Math.max(0, median(pin) - parsed)
    const itemised = Math.max(0, median(item) - parsed)
    const listed = median(list)
    const group = `hostile upstreams: pin check of an upstream listing of ${TOOLS} tools (all pinned), median of 300`
    return [
      {group, metric: `tools/list of ${TOOLS} tools, SDK client and server in memory`, value: listed, unit: 'ms'},
      {group, metric: 'pin check added to each listing (SHA-256 of each item as listed)', value: added, unit: 'ms', baseline: {name: 'tools/list', value: listed}, ratio: added / listed, target: '< 1 ms', pass: added < 1},
      {group, metric: 'the same without the fast path (canonical JSON of each item)', value: itemised, unit: 'ms', baseline: {name: 'tools/list', value: listed}, ratio: itemised / listed},
    ]
  } finally {
    await client.close()
  }
}

export async function benchHostile(): Promise<Row[]> {
  return [...(await benchSpawn()), ...(await benchPins())]
}
