/**
 * Review of the audit log (issue 15, items 5 to 8) with real processes: the built CLI, `keyward
 * serve` under load, a real full tmpfs. Each test fails on the code as reviewed (a false tamper
 * alarm after a legitimate sequence of events) and should pass once the defect is fixed.
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {Bed} from '../helpers/bed.js'
import {json, sleep} from '../helpers/cli.js'
import {post, type RunningServe} from '../helpers/server.js'
import {canMount, fill, mountTmpfs} from '../helpers/tmpfs.js'

const CALL = {jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'get_time', arguments: {}}}

describe('review: audit log, false alarms after legitimate events', function () {
  this.timeout(120_000)
  const bed = new Bed()
  beforeEach(() => bed.setUp())
  afterEach(() => bed.tearDown())

  const verify = (...args: string[]) => bed.box.run(['audit', 'verify', '--json', ...args])
  const explain = (r: {stdout: string; stderr: string}) => `${r.stdout}${r.stderr}`

  async function load(s: RunningServe, key: string, ms: number, concurrency = 6): Promise<number> {
    const until = Date.now() + ms
    let ok = 0
    await Promise.all(
      Array.from({length: concurrency}, async () => {
        while (Date.now() < until) if ((await post(s.url, CALL, {'x-api-key': key}).catch(() => undefined))?.status === 200) ok++
      }),
    )
    return ok
  }

  it('`audit verify` run while serve rotates the log under load never reports tampering', async () => {
    const key = await bed.key('load', '--rate', '1000000/min')
    const s = await bed.serve(['--stateless', '--audit-max-size', '16KiB'])
    const loading = load(s, key, 8000)
    const alarms: string[] = []
    let runs = 0
    for (const start = Date.now(); Date.now() - start < 7000; runs++) {
      const r = await verify()
      if (r.code !== 0) alarms.push(`exit ${r.code}: ${json(r).kind}: ${json(r).message}`)
    }
    await loading
    await bed.stopServers()
    const after = await verify()
    assert.equal(after.code, 0, `the log itself is intact: ${explain(after)}`)
    assert.deepEqual(alarms.slice(0, 3), [], `${alarms.length} of ${runs} verify runs during the load raised a false alarm`)
  })

  it('`audit tail --follow --json` (the documented way to ship the log) loses no record when serve rotates the log while it is behind', async () => {
    const key = await bed.key('load', '--rate', '1000000/min')
    const s = await bed.serve(['--stateless', '--audit-max-size', '16KiB'])
    const tail = bed.box.spawn(['audit', 'tail', '--follow', '--json', '-n', '0'])
    let out = ''
    tail.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    const exited = new Promise((resolve) => tail.once('exit', resolve))
    try {
      await sleep(2000) // following
      const loading = load(s, key, 4000)
      // The follower falls behind for a moment (descheduled, or its reader applies backpressure)
      // while the log rotates.
      await sleep(1000)
      tail.kill('SIGSTOP')
      await sleep(1000)
      tail.kill('SIGCONT')
      await loading
      await sleep(2500) // the follower polls at least once a second
    } finally {
      tail.kill('SIGTERM')
      await exited
    }
    await bed.stopServers()
    const seqs = out.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as {seq: number}).seq)
    console.log(`      ${seqs.length} records followed, ${seqs[0]}..${seqs.at(-1)}`)
    assert.ok(seqs.length > 500, `${seqs.length} records followed`)
    const lost: number[] = []
    for (let i = 1; i < seqs.length; i++) for (let q = seqs[i - 1] + 1; q < seqs[i]; q++) lost.push(q)
    assert.deepEqual(lost.slice(0, 5), [], `${lost.length} of ${seqs.at(-1)! - seqs[0] + 1} records never reached the follower`)
  })

  describe('the first write of a log, on a full disk', () => {
    let unmount = () => {}
    afterEach(() => {
      unmount()
      unmount = () => {}
    })

    it('nothing could be written: verify is not an alarm, then or after the next write', async function () {
      if (!canMount(this)) return
      const disk = bed.box.path('disk')
      unmount = await mountTmpfs(disk, '64k')
      const log = path.join(disk, 'log', 'audit.jsonl')
      const filler = path.join(disk, 'filler')
      await fill(filler)
      const first = await bed.box.run(['config', 'set', 'audit.args', 'false', '--audit-log', log])
      assert.equal(first.code, 0, first.stderr)
      assert.match(first.stderr, /cannot be written \(.*ENOSPC/)
      let r = await verify('--audit-log', log)
      assert.notEqual(r.code, 28, `no record was ever written, yet: ${explain(r)}`)
      await fs.rm(filler)
      await bed.cli(['config', 'set', 'audit.args', 'true', '--audit-log', log])
      r = await verify('--audit-log', log)
      assert.equal(r.code, 0, `space is back and one record was written, yet: ${explain(r)}`)
    })

    it('room for the first record but not for the head file: no alarm once space is back', async function () {
      if (!canMount(this)) return
      const disk = bed.box.path('disk')
      unmount = await mountTmpfs(disk, '64k')
      const log = path.join(disk, 'log', 'audit.jsonl')
      const filler = path.join(disk, 'filler')
      const size = await fill(filler)
      // One page free: the log's first append fits, the head file's temp file does not.
      await fs.truncate(filler, size - 4096)
      const first = await bed.box.run(['config', 'set', 'audit.args', 'false', '--audit-log', log])
      assert.equal(first.code, 0, first.stderr)
      await fs.rm(filler)
      await bed.cli(['config', 'set', 'audit.args', 'true', '--audit-log', log])
      const r = await verify('--audit-log', log)
      assert.equal(r.code, 0, `a full disk at the first head write left: ${explain(r)}`)
    })
  })
})
