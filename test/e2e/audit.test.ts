/**
 * The audit log at the seams (issue 15, items 4 to 8, 22 and 23), against the built CLI and
 * `keyward serve` with real calls: one log per vault, a real full tmpfs, kill -9 under load with
 * rotation, the whole log deleted, retention with compressed segments, and the tampering verify
 * must still name, and the readers (verify, tail --follow) while serve rotates the log.
 */
import assert from 'node:assert/strict'
import {promises as fs, readdirSync} from 'node:fs'
import path from 'node:path'
import {gunzipSync, gzipSync} from 'node:zlib'

import {vaultAuditLog} from '../helpers/audit.js'
import {Bed} from '../helpers/bed.js'
import {json, sleep} from '../helpers/cli.js'
import {post, type RunningServe} from '../helpers/server.js'
import {canMount, fill, mountTmpfs} from '../helpers/tmpfs.js'

const CALL = {jsonrpc: '2.0', id: 1, method: 'tools/call', params: {name: 'get_time', arguments: {}}}
const SEGMENT = /\.jsonl\.\d{12}(\.gz)?$/

type Rec = {seq: number; event: string; [k: string]: unknown}

describe('audit log at the seams', function () {
  this.timeout(180_000)
  const bed = new Bed()
  beforeEach(() => bed.setUp())
  afterEach(() => bed.tearDown())

  const box = () => bed.box
  const stateHome = () => box().path('.local', 'state')
  const defaultLog = () => vaultAuditLog(box().vault, stateHome())

  /** Calls get_time from `concurrency` loops until `ms` have passed; returns how many were answered 200. */
  async function load(s: RunningServe, key: string, ms: number, concurrency = 12): Promise<number> {
    const until = Date.now() + ms
    let ok = 0
    await Promise.all(
      Array.from({length: concurrency}, async () => {
        while (Date.now() < until) {
          const r = await post(s.url, CALL, {'x-api-key': key}).catch(() => undefined)
          if (!r) return // the server is gone
          if (r.status === 200) ok++
        }
      }),
    )
    return ok
  }

  async function verify(...args: string[]) {
    return box().run(['audit', 'verify', '--json', ...args])
  }

  async function readLog(file: string): Promise<Rec[]> {
    const dir = path.dirname(file)
    const base = path.basename(file)
    const names = readdirSync(dir).filter((n) => n === base || (n.startsWith(`${base}.`) && SEGMENT.test(n))).sort()
    const live = names.indexOf(base)
    if (live !== -1) names.push(names.splice(live, 1)[0])
    const out: Rec[] = []
    for (const n of names) {
      const raw = await fs.readFile(path.join(dir, n))
      const text = n.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8')
      for (const line of text.split('\n').filter(Boolean)) out.push(JSON.parse(line) as Rec)
    }
    return out
  }

  describe('one log per vault (item 4)', () => {
    it('two vaults in one XDG_STATE_HOME write two logs, from the CLI and from serve, and both verify clean', async () => {
      const other = box().path('other', 'vault.json')
      const otherKey = box().path('other.key')
      const init = await box().run(['init', '--vault', other, '--key-file-out', otherKey])
      assert.equal(init.code, 0, init.stderr)
      const asOther = ['--vault', other, '--key-file', otherKey]
      await bed.key('first')
      await bed.cli(['keys', 'generate', '--name', 'second', '--scope', 'full', ...asOther])
      await bed.cli(['config', 'set', 'audit.args', 'true', ...asOther])
      await bed.cli(['config', 'set', 'audit.args', 'true'])
      const s = await bed.serve(['--stateless', ...asOther])
      await bed.stopServers()
      assert.ok(s.logs().length > 0)
      const mine = defaultLog()
      const theirs = vaultAuditLog(other, stateHome())
      assert.notEqual(mine, theirs)
      const a = await readLog(mine)
      const b = await readLog(theirs)
      assert.deepEqual(a.map((r) => r.event), ['key.generate', 'config.set'])
      assert.deepEqual(b.map((r) => r.event), ['key.generate', 'config.set', 'server.start', 'server.stop'])
      let r = await verify()
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(json(r).file, mine)
      r = await verify(...asOther)
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(json(r).records, 4)
      const tail = json(await bed.cli(['audit', 'tail', '--json', ...asOther]))
      assert.equal(tail.file, theirs)
      assert.equal(tail.records.length, 4)
    })

    it('the shared log of earlier versions is left readable, and explained once', async () => {
      const shared = path.join(stateHome(), 'keyward', 'audit.jsonl')
      // Written as an earlier version did: one log in the state directory.
      await bed.cli(['secrets', 'set', 'OLD', '--audit-log', shared], 'old-value-xxxxxxxx')
      const first = await box().run(['secrets', 'set', 'NEW'], {input: 'new-value-xxxxxxxx'})
      assert.equal(first.code, 0, first.stderr)
      assert.match(first.stderr, /note: the audit log is now one per vault: .*audit\/[0-9a-f-]+\.jsonl\. The shared log of earlier versions, .*audit\.jsonl, is left as it was/)
      const second = await box().run(['secrets', 'set', 'NEWER'], {input: 'newer-value-xxxxxxxx'})
      assert.doesNotMatch(second.stderr, /note:/)
      const r = await verify('--audit-log', shared)
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(json(r).records, 1)
      assert.equal((await readLog(defaultLog())).length, 2)
    })

    it('admin commands take --audit-log (item 22), and record there', async () => {
      const elsewhere = box().path('logs', 'admin.jsonl')
      await bed.cli(['secrets', 'set', 'X', '--audit-log', elsewhere], 'x-value-xxxxxxxx')
      await bed.cli(['keys', 'generate', '--name', 'k', '--scope', 'full', '--audit-log', elsewhere])
      assert.deepEqual((await readLog(elsewhere)).map((r) => r.event), ['secret.set', 'key.generate'])
      const r = await verify('--audit-log', elsewhere)
      assert.equal(r.code, 0, r.stderr)
    })
  })

  describe('the whole log deleted (item 7)', () => {
    it('a vault whose audit key never wrote a record is "no log" (exit 9); once written, deleting log and head is "missing" (exit 28)', async () => {
      let r = await verify()
      assert.equal(r.code, 9, r.stdout + r.stderr)
      assert.match(json(r).error.message, /nothing audited with this vault was written there yet/)
      await bed.key('one')
      await bed.key('two')
      assert.equal((await verify()).code, 0)
      await fs.rm(defaultLog())
      await fs.rm(`${defaultLog()}.head`)
      r = await box().run(['audit', 'verify'])
      assert.equal(r.code, 28, r.stdout + r.stderr)
      assert.match(r.stderr, /: missing: the whole log is gone/)
      assert.equal(json(await verify()).kind, 'missing')
      // A writer after the deletion starts a new chain that says so: still flagged.
      await bed.key('three')
      r = await verify()
      assert.equal(r.code, 28)
      assert.equal(json(r).kind, 'missing')
      assert.match(json(r).message, /written when the log was missing/)
    })
  })

  describe('what a client or an upstream chose, on the operator’s terminal', () => {
    it('audit tail and the serve log print control characters escaped: a tool named with an escape sequence does not act on the terminal (review)', async () => {
      const key = await bed.key('term')
      const s = await bed.serve(['--stateless'])
      const name = 'x\u001b]0;PWNED\u0007\u001b[2J\u202e'
      await post(s.url, {...CALL, params: {name, arguments: {}}}, {'x-api-key': key})
      await bed.stopServers()
      const tail = await bed.cli(['audit', 'tail', '-n', '5'])
      assert.match(tail.stdout, /x\\u\{1B\}\]0;PWNED\\u\{7\}\\u\{1B\}\[2J\\u\{202E\}/)
      for (const out of [tail.stdout, s.logs()]) assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/)
    })
  })

  describe('vault restore', () => {
    it('a backup from before the audit key (an older keyward) keeps the live key: the log still verifies after the restore and the next change (review: a new key, and the whole log "edited")', async () => {
      const {loadKeyFile, readVaultBytes, updateVault} = await import('../../src/vault/index.js')
      const material = await loadKeyFile(box().env.KEYWARD_KEY_FILE)
      const backup = box().path('keyless-backup.json')
      await updateVault(box().vault, material, (vault) => {
        vault.data.tables.delete('audit')
      })
      await fs.writeFile(backup, await readVaultBytes(box().vault))
      await bed.key('one')
      await bed.key('two')
      assert.equal((await verify()).code, 0)
      await bed.cli(['vault', 'restore', '--yes', backup])
      await bed.key('three')
      const r = await verify()
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.ok(json(await bed.cli(['audit', 'tail', '-n', '3', '--json'])).records.some((x: Rec) => x.event === 'vault.restore'), 'the restore is in the log')
    })
  })

  describe('a full disk (item 5)', () => {
    let unmount = () => {}
    afterEach(() => {
      unmount()
      unmount = () => {}
    })

    it('on a real, full tmpfs: serve keeps serving, writes every record once when space is back, and verify stays clean', async function () {
      if (!canMount(this)) return
      const disk = box().path('disk')
      // Room for the log a fast machine writes in these 1.6 s of load (about 700 KB at 2,000 calls), once the filler is gone.
      unmount = await mountTmpfs(disk, '4m')
      const file = path.join(disk, 'audit.jsonl')
      const key = await bed.key('load', '--rate', '100000/min', '--audit-log', file)
      const s = await bed.serve(['--stateless', '--audit-log', file])
      let ok = await load(s, key, 400, 4)
      const filler = path.join(disk, 'filler')
      await fill(filler)
      ok += await load(s, key, 800, 4)
      await fs.rm(filler)
      for (let i = 0; i < 50 && !/is being written again/.test(s.logs()); i++) await sleep(100)
      ok += await load(s, key, 400, 4)
      await bed.stopServers()
      assert.match(s.logs(), /audit log .* cannot be written \(ENOSPC\)/)
      assert.match(s.logs(), /is being written again/)
      const r = await verify('--audit-log', file)
      assert.equal(r.code, 0, r.stdout + r.stderr)
      const records = await readLog(file)
      assert.equal(records.filter((x) => x.event === 'tool.call').length, ok, 'one tool.call record per answered call, none twice')
      assert.deepEqual(records.map((x) => x.seq), records.map((_, i) => i + 1))
    })

    it('a first write of a log that fails whole (no room even for its head) leaves no alarm, then or after the next write', async function () {
      if (!canMount(this)) return
      const disk = box().path('disk')
      unmount = await mountTmpfs(disk, '64k')
      const log = path.join(disk, 'log', 'audit.jsonl')
      const filler = path.join(disk, 'filler')
      await fill(filler)
      const first = await box().run(['config', 'set', 'audit.args', 'false', '--audit-log', log])
      assert.equal(first.code, 0, first.stderr)
      assert.match(first.stderr, /cannot be written \(.*ENOSPC/)
      let r = await verify('--audit-log', log)
      assert.notEqual(r.code, 28, `no record was ever written, yet: ${r.stdout}${r.stderr}`)
      await fs.rm(filler)
      await bed.cli(['config', 'set', 'audit.args', 'true', '--audit-log', log])
      r = await verify('--audit-log', log)
      assert.equal(r.code, 0, `space is back and one record was written, yet: ${r.stdout}${r.stderr}`)
    })

    it('a first write of a log with room for its first head or record but not both leaves no alarm once space is back', async function () {
      if (!canMount(this)) return
      const disk = box().path('disk')
      unmount = await mountTmpfs(disk, '64k')
      const log = path.join(disk, 'log', 'audit.jsonl')
      const filler = path.join(disk, 'filler')
      const size = await fill(filler)
      // One page free: one of the first write's files fits, the next does not.
      await fs.truncate(filler, size - 4096)
      const first = await box().run(['config', 'set', 'audit.args', 'false', '--audit-log', log])
      assert.equal(first.code, 0, first.stderr)
      let r = await verify('--audit-log', log)
      assert.notEqual(r.code, 28, `the first write did not land whole, yet: ${r.stdout}${r.stderr}`)
      await fs.rm(filler)
      await bed.cli(['config', 'set', 'audit.args', 'true', '--audit-log', log])
      r = await verify('--audit-log', log)
      assert.equal(r.code, 0, `a full disk at the first write left: ${r.stdout}${r.stderr}`)
    })
  })

  describe('readers while serve rotates the log', () => {
    it('`audit verify` run while serve rotates the log under load reads one consistent snapshot: it never reports tampering', async () => {
      const key = await bed.key('load', '--rate', '1000000/min')
      const s = await bed.serve(['--stateless', '--audit-max-size', '16KiB'])
      const loading = load(s, key, 8000, 6)
      const alarms: string[] = []
      let runs = 0
      for (const start = Date.now(); Date.now() - start < 7000; runs++) {
        const r = await verify()
        if (r.code !== 0) alarms.push(`exit ${r.code}: ${json(r).kind}: ${json(r).message}`)
      }
      await loading
      await bed.stopServers()
      const after = await verify()
      assert.equal(after.code, 0, `the log itself is intact: ${after.stdout}${after.stderr}`)
      assert.deepEqual(alarms.slice(0, 3), [], `${alarms.length} of ${runs} verify runs during the load raised a false alarm`)
    })

    it('`audit tail --follow --json` follows by sequence number: behind while the log rotates, it still delivers every record, in order', async () => {
      const key = await bed.key('load', '--rate', '1000000/min')
      const s = await bed.serve(['--stateless', '--audit-max-size', '16KiB'])
      const tail = box().spawn(['audit', 'tail', '--follow', '--json', '-n', '0'])
      let out = ''
      tail.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
      const exited = new Promise((resolve) => tail.once('exit', resolve))
      try {
        await sleep(2000) // following
        const loading = load(s, key, 4000, 6)
        // The follower falls behind (descheduled, or its reader applies backpressure) while the log rotates.
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
      assert.ok(seqs.every((q, i) => i === 0 || q > seqs[i - 1]), 'in order, none twice')
    })
  })

  describe('kill -9 under load, with rotation (item 6)', () => {
    it('restarted three times, at 64KiB a file: no sequence number reused, no EEXIST, verify clean', async () => {
      const key = await bed.key('load', '--rate', '100000/min')
      const args = ['--stateless', '--audit-max-size', '64KiB']
      const dir = path.dirname(defaultLog())
      const segments = () => readdirSync(dir).filter((n) => SEGMENT.test(n)).length
      /** Until the log has rotated once more (a killed writer's lock first goes stale, after 5 s). */
      const nextRotation = async () => {
        const before = segments()
        for (const start = Date.now(); segments() === before; await sleep(20)) if (Date.now() - start > 60_000) throw new Error('no rotation within 60 s')
      }
      let served = 0
      for (let round = 0; round < 3; round++) {
        const s = await bed.serve(args)
        const loading = load(s, key, 90_000)
        await nextRotation()
        // Killed at a different point after a rotation each round, mid-batch under load.
        await sleep(50 + round * 120)
        s.child.kill('SIGKILL')
        served += await loading
        bed.running.splice(0)
        if (s.child.exitCode === null && s.child.signalCode === null) await new Promise((r) => s.child.once('exit', r))
      }
      const s = await bed.serve(args)
      const loading = load(s, key, 90_000)
      await nextRotation()
      await bed.stopServers()
      served += await loading
      assert.doesNotMatch(s.logs(), /EEXIST|not rotated/)
      const names = readdirSync(path.dirname(defaultLog())).filter((n) => SEGMENT.test(n))
      assert.ok(names.length >= 3, `rotated ${names.length} times`)
      const r = await verify()
      assert.equal(r.code, 0, r.stdout + r.stderr)
      // Every call is in the log, or counted in an audit.dropped record: while a restarted serve waits
      // for the killed writer's lock to go stale (5 s), more than the queue holds (10,000) arrive on a
      // fast machine. Only what a killed process held in memory is gone: a batch's worth per kill.
      const log = await readLog(defaultLog())
      const calls = log.filter((x) => x.event === 'tool.call').length
      const dropped = log.filter((x) => x.event === 'audit.dropped').reduce((n, x) => n + Number(x.count ?? 0), 0)
      assert.ok(calls > 0)
      assert.ok(served - calls - dropped <= 3 * 2000, `${served} calls served, ${calls} recorded and ${dropped} counted as dropped: ${served - calls - dropped} unaccounted for`)
    })
  })

  describe('retention and compression (item 8)', () => {
    it('audit.keep 3 with a small audit.max-size: a load test leaves 3 compressed segments and the live file, verify is clean; an edit or a cut in a kept segment is caught', async () => {
      await bed.cli(['config', 'set', 'audit.keep', '3'])
      await bed.cli(['config', 'set', 'audit.max-size', '16KiB'])
      const key = await bed.key('load', '--rate', '100000/min')
      const s = await bed.serve(['--stateless'])
      await load(s, key, 2500, 6)
      await bed.stopServers()
      const dir = path.dirname(defaultLog())
      const names = readdirSync(dir).filter((n) => SEGMENT.test(n)).sort()
      assert.equal(names.length, 3, names.join(' '))
      assert.ok(names.every((n) => n.endsWith('.gz')), names.join(' '))
      assert.ok(readdirSync(dir).includes(`${path.basename(defaultLog())}.checkpoint`))
      let r = await verify()
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.ok(json(r).checkpoint.seq > 0)
      const tail = json(await bed.cli(['audit', 'tail', '-n', '100000', '--json']))
      assert.equal(tail.records.length, json(r).records, 'tail reads the compressed segments too')

      const kept = path.join(dir, names[1])
      const original = await fs.readFile(kept)
      const lines = gunzipSync(original).toString('utf8').split('\n').filter(Boolean)
      await fs.writeFile(kept, gzipSync(`${[lines[0], lines[1].replace('"get_time"', '"get_tame"'), ...lines.slice(2)].join('\n')}\n`))
      r = await verify()
      assert.equal(r.code, 28)
      assert.equal(json(r).kind, 'edited')
      await fs.writeFile(kept, gzipSync(`${[lines[0], ...lines.slice(2)].join('\n')}\n`))
      r = await verify()
      assert.equal(r.code, 28)
      assert.equal(json(r).kind, 'missing')
      await fs.writeFile(kept, original)
      assert.equal((await verify()).code, 0)
    })
  })

  describe('verify still catches (item 23)', () => {
    it('two logs signed with the same key, spliced at matching sequence numbers', async () => {
      const other = box().path('logs', 'other.jsonl')
      for (let i = 0; i < 5; i++) {
        await bed.cli(['secrets', 'set', `A${i}`], `a-value-${i}-xxxxxxxx`)
        await bed.cli(['secrets', 'set', `B${i}`, '--audit-log', other], `b-value-${i}-xxxxxxxx`)
      }
      const mine = (await fs.readFile(defaultLog(), 'utf8')).split('\n').filter(Boolean)
      const theirs = (await fs.readFile(other, 'utf8')).split('\n').filter(Boolean)
      await fs.writeFile(defaultLog(), `${[...mine.slice(0, 2), ...theirs.slice(2)].join('\n')}\n`)
      await fs.copyFile(`${other}.head`, `${defaultLog()}.head`)
      const r = await verify()
      assert.equal(r.code, 28, r.stdout)
      assert.equal(json(r).kind, 'missing')
      assert.match(json(r).message, /record 3 .* does not follow the record before it/)
    })

    it('the head file deleted, with no writer after it', async () => {
      await bed.key('one')
      await bed.key('two')
      await fs.rm(`${defaultLog()}.head`)
      const r = await verify()
      assert.equal(r.code, 28, r.stdout)
      assert.equal(json(r).kind, 'truncated')
    })
  })
})
