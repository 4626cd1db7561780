/**
 * Cancellation and progress across protocol eras (issue 21, item 4), through the built CLI with
 * real SDK clients and upstreams. A client that gives up on a call must have the upstream's
 * handler stopped, whatever the era on either side: a 2026-07-28 client cancels by closing its
 * request (over HTTP) or with notifications/cancelled (over stdio), a 2025 one with
 * notifications/cancelled; keyward cancels the upstream's request the way the upstream's era
 * does. The upstreams record which calls they saw cancelled (their `sleep` tools), and the audit
 * log shows the call ended in keyward long before the upstream would have answered.
 *
 * Clients: the SDK 1.x Client (2025 era) and the SDK v2 Client negotiating (2026-07-28), as in
 * era.test.ts. Upstreams over stdio: test/fixtures/upstream-server.ts (SDK 1.x, 2025 era) and
 * test/fixtures/dual-era-upstream.ts --modern-only (2026-07-28 only).
 *
 * A 2025 client cancelling on a 2025 upstream over HTTP is sharing.test.ts's ("a cancellation
 * reaches only the caller's own request", "a client that goes away before its answer…"); its
 * stdio cell is here.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {Client as ModernClient, StreamableHTTPClientTransport as ModernHttp} from '@modelcontextprotocol/client'
import {StdioClientTransport as ModernStdio} from '@modelcontextprotocol/client/stdio'
import {Client as LegacyClient} from '@modelcontextprotocol/sdk/client/index.js'
import {StdioClientTransport as LegacyStdio} from '@modelcontextprotocol/sdk/client/stdio.js'
import {StreamableHTTPClientTransport as LegacyHttp} from '@modelcontextprotocol/sdk/client/streamableHttp.js'

import {Bed} from '../helpers/bed.js'
import {BIN, ROOT, sleep, until} from '../helpers/cli.js'
import {bearer, type RunningServe} from '../helpers/server.js'

const LEGACY_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'upstream-server.js')
const DUAL_FIXTURE = path.join(ROOT, 'dist', 'test', 'fixtures', 'dual-era-upstream.js')
const textOf = (r: unknown) => ((r as {content?: {text: string}[]}).content?.[0]?.text ?? '')

type Transport = 'stdio' | 'stateful' | 'stateless'
type Era = 'legacy' | 'modern'
type Progress = {progress: number; total?: number; message?: string}
/** What both SDKs' clients share: a call with an abort signal and a progress callback. */
interface CallOptions {
  signal?: AbortSignal
  onprogress?: (p: Progress) => void
}
interface EraClient {
  call(name: string, args: Record<string, unknown>, options?: CallOptions): Promise<unknown>
  close(): Promise<void>
}

describe('cancellation and progress across protocol eras (issue 21)', function () {
  this.timeout(120_000)
  const bed = new Bed()
  let key: string
  /** Each serve writes an audit log of its own. */
  const audit = (transport: Transport) => bed.box.path(`audit-${transport}.jsonl`)
  const servers = new Map<Exclude<Transport, 'stdio'>, RunningServe>()
  const clients: EraClient[] = []

  before(async () => {
    await bed.setUp()
    await bed.cli(['upstream', 'add', 'legacy', '--skip-check', '--', process.execPath, LEGACY_FIXTURE])
    await bed.cli(['upstream', 'add', 'modern', '--skip-check', '--', process.execPath, DUAL_FIXTURE, '--modern-only'])
    key = await bed.key('canceller')
    servers.set('stateful', await bed.serve(['--audit-log', audit('stateful')]))
    servers.set('stateless', await bed.serve(['--stateless', '--audit-log', audit('stateless')]))
  })

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})))
  })

  after(async () => {
    await bed.tearDown()
  })

  /** A client of `era` on `transport`; its calls take an abort signal and a progress callback either way. */
  async function connect(era: Era, transport: Transport): Promise<EraClient> {
    const stdio = {command: process.execPath, args: [BIN, 'serve', '--transport', 'stdio', '--audit-log', audit('stdio')], env: {...bed.box.env, KEYWARD_API_KEY: key}, cwd: bed.box.dir, stderr: 'pipe' as const}
    const url = transport === 'stdio' ? undefined : new URL(servers.get(transport)!.url)
    const requestInit = {headers: bearer(key)}
    let client: EraClient
    if (era === 'legacy') {
      const legacy = new LegacyClient({name: 'legacy-client', version: '1.0.0'})
      await legacy.connect(url ? new LegacyHttp(url, {requestInit}) : new LegacyStdio(stdio))
      client = {call: (name, args, options) => legacy.callTool({name, arguments: args}, undefined, options), close: () => legacy.close()}
    } else {
      const modern = new ModernClient({name: 'modern-client', version: '1.0.0'}, {versionNegotiation: {mode: 'auto'}})
      await modern.connect(url ? new ModernHttp(url, {requestInit}) : new ModernStdio(stdio))
      assert.equal(modern.getProtocolEra(), 'modern')
      client = {call: (name, args, options) => modern.callTool({name, arguments: args}, options), close: () => modern.close()}
    }
    clients.push(client)
    return client
  }

  /** The audit records of calls of `tool` on `transport` so far. */
  function callRecords(transport: Transport, tool: string): {era?: string; outcome?: string; duration_ms: number}[] {
    if (!existsSync(audit(transport))) return []
    return readFileSync(audit(transport), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as {event: string; tool?: string; era?: string; outcome?: string; duration_ms: number})
      .filter((r) => r.event === 'tool.call' && r.tool === tool)
  }

  describe('a client that cancels a call stops the upstream handler, whatever the era on either side', () => {
    for (const transport of ['stdio', 'stateful', 'stateless'] as const) {
      for (const clientEra of ['legacy', 'modern'] as const) {
        for (const upstream of ['legacy', 'modern'] as const) {
          if (clientEra === 'legacy' && upstream === 'legacy' && transport !== 'stdio') continue // sharing.test.ts
          const how = clientEra === 'modern' && transport !== 'stdio' ? 'closes its request' : 'sends notifications/cancelled'
          it(`${clientEra} client × ${upstream} upstream × ${transport}: the client ${how}, the upstream's handler is aborted, the call ends in keyward`, async () => {
            const client = await connect(clientEra, transport)
            const tool = `${upstream}__sleep`
            const label = `${clientEra}-${upstream}-${transport}`
            const cancelledSoFar = async () => JSON.parse(textOf(await client.call(`${upstream}__cancelled_calls`, {}))) as string[]
            // The upstream is up (a stdio serve starts its upstreams with it), so the call below reaches it before it is cancelled.
            assert.ok(!(await cancelledSoFar()).includes(label))
            const before = callRecords(transport, tool).length
            const controller = new AbortController()
            const started = Date.now()
            const call = client.call(tool, {label, ms: 60_000}, {signal: controller.signal}).then(
              (r) => assert.fail(`the call answered: ${JSON.stringify(r)}`),
              (e: Error) => e,
            )
            await sleep(600)
            controller.abort()
            assert.ok((await call) instanceof Error)
            assert.ok(await until(async () => (await cancelledSoFar()).includes(label), 10_000), `the ${upstream} upstream saw its request cancelled`)
            // keyward left nothing running: the call's record is written, long before the upstream would have answered.
            assert.ok(await until(() => callRecords(transport, tool).length > before, 10_000), 'the call ended in keyward')
            const record = callRecords(transport, tool).at(-1)!
            assert.deepEqual([record.era, record.outcome], [clientEra, 'error'], JSON.stringify(record))
            assert.ok(record.duration_ms < Math.min(Date.now() - started, 10_000), JSON.stringify(record))
          })
        }
      }
    }
  })

  describe('progress crosses eras, under the token the client chose', () => {
    // Apart in time: over stdio, the SDK's clients (1.x and v2) drop progress that arrives in the same read as the answer, connected to keyward or not.
    // 250 ms there: with 100, a full suite on two busy cores once stalled keyward long enough for the last progress and the answer to share a read.
    for (const transport of ['stdio', 'stateful', 'stateless'] as const) {
      it(`${transport}: a 2026-07-28 client gets a 2025 upstream's progress, a 2025 client a 2026-07-28 upstream's`, async () => {
        const modern = await connect('modern', transport)
        const heard: Progress[] = []
        assert.equal(textOf(await modern.call('legacy__report_progress', {label: 'p', ms: transport === 'stdio' ? 250 : 100}, {onprogress: (p) => void heard.push(p)})), 'progress p')
        assert.deepEqual(heard.map((p) => [p.progress, p.total, p.message]), [[1, 3, 'p'], [2, 3, 'p'], [3, 3, 'p']])
        const legacy = await connect('legacy', transport)
        const told: Progress[] = []
        assert.equal(textOf(await legacy.call('modern__slow_progress', {}, {onprogress: (p) => void told.push(p)})), 'done')
        assert.deepEqual(told.map((p) => [p.progress, p.total]), [[1, 3], [2, 3], [3, 3]])
      })
    }
  })
})
