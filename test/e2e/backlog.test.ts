/**
 * What an upstream sends towards a client is bounded by what the client reads: a hostile
 * upstream floods log messages during a call, to a real client over HTTP (stateless, and a
 * stateful session's SSE stream) that reads nothing for a while. keyward keeps at most a few MiB
 * unread per response and drops the notifications past that (counted, logged once), never the
 * call's answer. Everything the client receives after it stopped reading was buffered somewhere
 * (keyward, or the kernel's socket buffers, a few MiB on loopback), so what it receives in all is
 * the honest measure of what keyward buffered; keyward's RSS is a sanity bound besides.
 *
 * And an upstream's stderr: a chatty one gets a burst of lines logged, then a few a second, and a
 * line saying how many were not logged.
 */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {request, type IncomingMessage} from 'node:http'
import path from 'node:path'

import {Bed} from '../helpers/bed.js'
import {ROOT, sleep, until} from '../helpers/cli.js'
import {INITIALIZE, type RunningServe} from '../helpers/server.js'

const HOSTILE = path.join(ROOT, 'dist', 'test', 'fixtures', 'hostile-upstream.js')
const MiB = 1024 * 1024
/** The flood: 160 log messages of 1 MiB each, far past what any one response may hold unread. */
const COUNT = 160
const SIZE = MiB
/**
 * keyward runs with a heap this small, so that what it keeps shows and what it merely went
 * through does not: garbage is collected before the heap may grow past it, and RSS grows by
 * little more; a keyward that kept the flood would grow by all of it, or die out of memory.
 */
const HEAP = ['--max-old-space-size=128']
const SERVE_ENV = {NODE_OPTIONS: HEAP.join(' ')}

/** A process's resident memory, in bytes. */
function rss(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match![1]) * 1024
}

/** The process's CPU time so far, in clock ticks. */
function cpu(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** Waits until the process has used no CPU for `quietMs`: it has done what it had to do with what it read. */
async function idle(pid: number, quietMs = 600, maxMs = 60_000): Promise<void> {
  const deadline = Date.now() + maxMs
  let last = cpu(pid)
  while (Date.now() < deadline) {
    await sleep(quietMs)
    const now = cpu(pid)
    if (now === last) return
    last = now
  }
}

/** A POST whose response is handed over unread (its socket paused). */
function postUnread(url: string, body: unknown, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers}}, (res) => {
      res.pause()
      resolve(res)
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

/** Reads the rest of a response: its size in bytes, and its last SSE data line. */
function readAll(res: IncomingMessage): Promise<{bytes: number; last: string}> {
  return new Promise((resolve, reject) => {
    let bytes = 0
    let tail = ''
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      tail = (tail + chunk.toString('utf8')).slice(-4096)
    })
    res.on('end', () => resolve({bytes, last: tail.trim().split('\n').filter((l) => l.startsWith('data: ')).at(-1) ?? tail}))
    res.on('error', reject)
    res.resume()
  })
}

describe('an upstream that floods: bounded towards a slow client, and in the log', function () {
  this.timeout(180_000)
  const bed = new Bed()
  let key: string
  let done: string

  beforeEach(async () => {
    await bed.setUp()
    done = bed.box.path('flood-done')
    await bed.cli(['upstream', 'add', 'flood', '--env', `FIXTURE_FLOOD=${done}`, '--', process.execPath, HOSTILE])
    key = await bed.key('k')
  })
  afterEach(() => bed.tearDown())

  /** Floods one call whose response is not read until keyward is done with the flood; what the client then gets, and keyward's growth. */
  async function flood(s: RunningServe, headers: Record<string, string>) {
    const pid = s.child.pid!
    const before = rss(pid)
    const call = {jsonrpc: '2.0', id: 2, method: 'tools/call', params: {name: 'flood__flood', arguments: {count: COUNT, size: SIZE}}}
    const res = await postUnread(s.url, call, {...headers, authorization: `Bearer ${key}`})
    assert.equal(res.headers['content-type'], 'text/event-stream')
    const died = () => s.child.exitCode !== null || s.child.signalCode !== null
    await until(() => existsSync(done) || died(), 60_000)
    assert.ok(!died(), `keyward died while the client did not read (${s.child.signalCode ?? s.child.exitCode}):\n${s.logs().slice(-1500)}`)
    assert.ok(existsSync(done), `the upstream could not send its whole flood within a minute\n${s.logs().slice(-1500)}`)
    await idle(pid)
    const grew = rss(pid) - before
    const read = await readAll(res)
    return {grew, ...read}
  }

  async function assertBounded(outcome: {grew: number; bytes: number; last: string}, logs: () => string) {
    // Not read while keyward handled the flood: all that came later had waited in keyward or in the kernel.
    // 8 MiB in keyward, a few in the kernel's buffers.
    assert.ok(outcome.bytes < 24 * MiB, `the client received ${(outcome.bytes / MiB).toFixed(1)} MiB of the ${(COUNT * SIZE) / MiB} MiB flood: keyward kept it all`)
    assert.ok(outcome.grew < (COUNT * SIZE) / 2, `keyward grew by ${(outcome.grew / MiB).toFixed(1)} MiB while the client did not read`)
    assert.match(outcome.last, /flooded 160/, 'the answer is never dropped')
    assert.ok(await until(() => /not sent to a client/.test(logs())), logs().slice(-2000))
    const told = logs().match(/\d+ notifications? not sent to a client that reads too slowly \(tools\/call flood__flood\)/g) ?? []
    assert.equal(told.length, 1, `said once:\n${logs().slice(-2000)}`)
  }

  it('stateless: a response not read keeps at most its bound unread; the rest of the notifications are dropped, counted and logged once, the answer arrives', async () => {
    const s = await bed.serve(['--stateless'], SERVE_ENV)
    const outcome = await flood(s, {})
    await assertBounded(outcome, s.logs)
  })

  it('stateful: a session stream not read keeps at most its bound unread; the rest are dropped, counted and logged once, the answer arrives', async () => {
    const s = await bed.serve([], SERVE_ENV)
    const init = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(s.url, {method: 'POST', headers: {'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}`}}, resolve)
      req.on('error', reject)
      req.end(JSON.stringify(INITIALIZE))
    })
    const session = init.headers['mcp-session-id'] as string
    await readAll(init)
    const headers = {'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25'}
    const ready = await postUnread(s.url, {jsonrpc: '2.0', method: 'notifications/initialized'}, {...headers, authorization: `Bearer ${key}`})
    await readAll(ready)
    const outcome = await flood(s, headers)
    await assertBounded(outcome, s.logs)
  })

  it("an upstream's stderr: a burst of lines is logged, then a few a second, and one line says how many were not", async () => {
    const s = await bed.serve(['--stateless'])
    const c = await bed.connect(s.url, key)
    const lines = 5000
    const started = Date.now()
    const result = (await c.callTool({name: 'flood__shout', arguments: {lines}})) as {content: {text: string}[]}
    assert.equal(result.content[0].text, `shouted ${lines}`)
    const skipped = () => [...s.logs().matchAll(/upstream flood: (\d+) stderr lines not logged \(too many\)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
    const logged = () => s.logs().match(/upstream flood: shout \d+/g)?.length ?? 0
    assert.ok(await until(() => logged() + skipped() === lines, 10_000), `${logged()} logged and ${skipped()} told as not logged, of ${lines}:\n${s.logs().slice(-1500)}`)
    const seconds = (Date.now() - started) / 1000
    assert.ok(logged() <= 100 + 10 * seconds + 1, `${logged()} lines logged in ${seconds.toFixed(1)} s`)
    assert.ok(logged() >= 100, 'the burst is logged')
  })

  it("an upstream's stdout that is not the protocol: the warnings about it are bounded the same way, and the call is still answered", async () => {
    const s = await bed.serve(['--stateless'])
    const c = await bed.connect(s.url, key)
    const lines = 5000
    const started = Date.now()
    const result = (await c.callTool({name: 'flood__junk', arguments: {lines}})) as {content: {text: string}[]}
    assert.equal(result.content[0].text, `junked ${lines}`)
    // The log folds a line repeated within 10 s into one: "(and N more times in the last 10s)".
    const warned = () => [...s.logs().matchAll(/upstream flood: wrote a line to stdout that is not JSON \(stdout[^\n]*?(?:\(and (\d+) more times?[^\n]*)?$/gm)].reduce((sum, m) => sum + (m[1] === undefined ? 1 : Number(m[1])), 0)
    const skipped = () => [...s.logs().matchAll(/upstream flood: (\d+) warnings about its stdout not logged \(too many\)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
    assert.ok(await until(() => warned() + skipped() === lines, 10_000), `${warned()} warned and ${skipped()} told as not logged, of ${lines}:\n${s.logs().slice(-1500)}`)
    const seconds = (Date.now() - started) / 1000
    assert.ok(warned() <= 100 + 10 * seconds + 1, `${warned()} warnings logged in ${seconds.toFixed(1)} s`)
    assert.ok(warned() >= 100, 'the burst is logged')
  })

  it('an upstream that says its list changed at every listing is listed a few times a second, not as fast as it answers, and its failures are logged within a budget', async () => {
    const s = await bed.serve(['--stateless'])
    const c = await bed.connect(s.url, key)
    for (const [fail, after] of [[false, false], [false, true], [true, false]]) {
      const served = async () => Number(((await c.callTool({name: 'flood__lists_served', arguments: {}})) as {content: {text: string}[]}).content[0].text)
      const before = await served()
      const started = Date.now()
      await c.callTool({name: 'flood__loop_lists', arguments: {fail, after}})
      await sleep(3000)
      const listed = (await served()) - before
      const seconds = (Date.now() - started) / 1000
      // Five a second (one every 200 ms), and the first at once; unpaced, it ran to thousands.
      assert.ok(listed >= 2 && listed <= 5 * seconds + 3, `${fail ? 'failing' : after ? 'saying so after answering' : 'answering'}: ${listed} listings in ${seconds.toFixed(1)} s`)
    }
    const failures = s.logs().match(/upstream flood: listing its tools failed/g)?.length ?? 0
    assert.ok(failures >= 1 && failures <= 20, `${failures} failures logged`)
  })
})
