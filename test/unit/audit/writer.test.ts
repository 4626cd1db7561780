/**
 * The audit writer on its own (issue 15, items 5 and 6): where the chain goes on after a crash,
 * a torn write, a lagging head or a rotation stopped halfway, and that no record is written twice.
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {GENESIS, segmentPath, verifyAudit} from '../../../src/audit/index.js'
import {sealHead} from '../../../src/audit/record.js'
import {AuditBox} from '../../helpers/audit.js'
import {sleep} from '../../helpers/cli.js'
import {canMount, fill, mountTmpfs} from '../../helpers/tmpfs.js'

describe('audit writer', () => {
  const box = new AuditBox()
  beforeEach(() => box.setUp())
  afterEach(() => box.tearDown())

  const verify = () => verifyAudit(box.file, box.key, {env: box.env})
  const clean = async () => {
    const report = await verify()
    assert.ok(report.ok, report.problem?.message)
    return report
  }

  it('a head file that lags the log (a writer killed between its append and its head update) does not make the next writer reuse numbers', async () => {
    await box.write(5)
    const lagging = await fs.readFile(`${box.file}.head`)
    await box.write(3, 5)
    await fs.writeFile(`${box.file}.head`, lagging)
    await box.write(2, 8)
    const seqs = (await box.records()).map((r) => r.seq)
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    await clean()
  })

  it('an event carrying fields named as the chain’s own (seq, ts, prev, mac) does not replace them (review)', async () => {
    await box.write(1)
    const log = box.log()
    await log.record({event: 'test', seq: 999, ts: '1970-01-01T00:00:00.000Z', prev: 'x', mac: 'y'})
    await log.close()
    const [, last] = await box.records()
    assert.equal(last.seq, 2)
    assert.notEqual(last.ts, '1970-01-01T00:00:00.000Z')
    await clean()
  })

  it('two writers on one log, interleaved, make one chain', async () => {
    const a = box.log()
    const b = box.log()
    for (let i = 0; i < 20; i++) await (i % 3 === 0 ? a : b).record({event: 'test', i})
    await Promise.all([a.close(), b.close()])
    assert.equal((await clean()).records, 20)
  })

  it('a torn last line (a writer stopped mid-record) is cut off by the next writer, which says so; verify before that only notes it', async () => {
    await box.write(3)
    const torn = (await box.lines())[1].slice(0, 40)
    await fs.appendFile(box.file, torn)
    const before = await verify()
    assert.ok(before.ok, before.problem?.message)
    assert.match(before.notes.join('\n'), /incomplete record/)
    await box.write(1, 3)
    const records = await box.records()
    assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5])
    assert.equal(records[3].event, 'audit.repaired')
    assert.equal(records[3].dropped_bytes, 40)
    await clean()
  })

  it('a rotation stopped between its link and its unlink is finished by the next writer: no EEXIST, no record twice', async () => {
    await box.write(6, 0, {maxSize: 600})
    const live = (await box.records())[0].seq
    // The crash: the live file linked as its segment, not yet unlinked.
    await fs.link(box.file, segmentPath(box.file, live))
    const log = box.log({maxSize: 600})
    const warnings: string[] = []
    for (let i = 6; i < 12; i++) await box.log({maxSize: 600, onWarning: (m) => warnings.push(m)}).record({event: 'test', i})
    await log.close()
    assert.deepEqual(warnings, [])
    const report = await clean()
    assert.equal(report.records, 12)
  })

  it('a crash between rotating the live file out and the next append: the next writer goes on from the newest segment', async () => {
    await box.write(4)
    const first = (await box.records())[0].seq
    await fs.rename(box.file, segmentPath(box.file, first))
    await box.write(2, 4)
    assert.deepEqual((await box.records()).map((r) => r.seq), [5, 6])
    assert.equal((await clean()).records, 6)
  })

  it('a tail cut while the log was not being written leaves a gap the next writer does not close', async () => {
    await box.write(5)
    const lines = await box.lines()
    await fs.writeFile(box.file, `${lines.slice(0, 3).join('\n')}\n`)
    await box.write(1, 5)
    const report = await verify()
    assert.equal(report.problem?.kind, 'missing')
    assert.match(report.problem!.message, /records 4 to 5 are missing/)
  })

  it('a tail cut and the head forged without the key: the next writer does not launder it with a good head, it says the head was edited (review)', async () => {
    await box.write(6)
    const lines = await box.lines()
    await fs.writeFile(box.file, `${lines.slice(0, 3).join('\n')}\n`)
    await fs.writeFile(`${box.file}.head`, `${JSON.stringify({seq: 0, mac: '0'.repeat(64), head_mac: 'x'})}\n`)
    await box.write(1, 6)
    const report = await verify()
    assert.equal(report.problem?.kind, 'truncated', report.problem?.message ?? 'verify found nothing wrong')
    assert.match(report.problem!.message, /written when the head file was edited/)
  })

  const badHeads: [string, string | undefined][] = [
    ['forged', `${JSON.stringify({seq: 1, mac: '0'.repeat(64), head_mac: 'x'})}\n`],
    ['garbled', 'x'],
    ['deleted', undefined],
  ]
  for (const [keep, [how, head]] of [1, 2].flatMap((k) => badHeads.map((h) => [k, h] as const))) {
    it(`a writer that stays open does not launder a tail another wrote and someone cut (to record ${keep}) under a ${how} head (review)`, async () => {
      const a = box.log()
      await a.record({event: 'test', by: 'a'})
      await box.write(3, 1)
      const lines = await box.lines()
      await fs.writeFile(box.file, `${lines.slice(0, keep).join('\n')}\n`)
      if (head === undefined) await fs.rm(`${box.file}.head`)
      else await fs.writeFile(`${box.file}.head`, head)
      await a.record({event: 'test', by: 'a again'})
      await a.close()
      const report = await verify()
      assert.equal(report.ok, false, 'verify found nothing wrong')
      assert.match(report.problem!.message, /written when the head file was (edited|unreadable|missing)|missing/)
    })
  }

  it('two writers, rotation and compression: a new live file that gets the inode (and size) of the one a writer last wrote is not taken for it (review: a forked chain)', async function () {
    this.timeout(30_000)
    const options = {maxSize: 2048, keep: {segments: 2}}
    const [a, b] = [box.log(options), box.log(options)]
    const stat = () => fs.stat(box.file).catch(() => undefined)
    // Same-length records, so that sizes line up; other writers rotate the file out and compression frees its inode.
    for (let round = 0; round < 15; round++) {
      await a.record({event: 'x', who: 'A'})
      const left = (await stat())!
      let s = await stat()
      let files = 0
      let last = s?.ino
      for (let i = 0; i < 400 && files < 6; i++) {
        await b.record({event: 'x', who: 'B'})
        s = await stat()
        if (s && s.ino !== last) {
          files++
          last = s.ino
          await sleep(20)
        }
        if (files > 0 && s?.ino === left.ino) break
      }
      while ((s = await stat()) && s.ino === left.ino && s.size < left.size) await b.record({event: 'x', who: 'B'})
    }
    await a.record({event: 'x', who: 'A'})
    await Promise.all([a.close(), b.close()])
    await clean()
  })

  it('rotates by size into segments named by their first record, and verify walks them', async () => {
    await box.write(12, 0, {maxSize: 700})
    const names = await box.names()
    assert.ok(names.filter((n) => /\.jsonl\.\d{12}(\.gz)?$/.test(n)).length >= 2, names.join(' '))
    assert.equal((await clean()).records, 12)
  })

  it('a head written at record 0 but no record (a first append that failed, or was killed): the next writer starts at record 1, without an alarm', async () => {
    await fs.mkdir(path.dirname(box.file), {recursive: true, mode: 0o700})
    await fs.writeFile(`${box.file}.head`, sealHead(box.key, {seq: 0, mac: GENESIS}))
    await box.write(2)
    assert.deepEqual((await box.records()).map((r) => [r.seq, r.event]), [[1, 'test'], [2, 'test']])
    await clean()
  })

  it('batches are scheduled on the monotonic clock: a wall clock stepped back (NTP) does not hold queued records back', async () => {
    const log = box.log({batchMs: () => 0})
    await log.record({event: 'test', i: 0})
    const realNow = Date.now
    // The system clock is set back 10 s after the first batch (an NTP step, a VM resumed).
    Date.now = () => realNow() - 10_000
    try {
      const written = log.record({event: 'test', i: 1}).then(() => 'written')
      const late = new Promise((resolve) => setTimeout(() => resolve('still queued after 2 s'), 2000).unref())
      assert.equal(await Promise.race([written, late]), 'written')
    } finally {
      Date.now = realNow
      await log.close()
    }
  })

  it('a log deleted whole and its head replaced by garbage: the next writer says the log was missing, not a fresh start', async () => {
    await box.write(3)
    await fs.rm(box.file)
    await fs.writeFile(`${box.file}.head`, 'not a head\n')
    await box.write(2, 3)
    const report = await verify()
    assert.equal(report.problem?.kind, 'missing', report.problem?.message ?? 'verify found nothing wrong')
    assert.match(report.problem!.message, /written when the log was missing/)
  })

  it('the started-marker lives in the state directory, not beside the log', async () => {
    await box.write(1)
    const markers = await fs.readdir(path.join(box.env.XDG_STATE_HOME!, 'keyward', 'audit-started'))
    assert.equal(markers.length, 1)
    assert.ok(!(await box.names()).some((n) => n.includes('started')))
  })
})

describe('audit writer on a full disk (a real tmpfs)', () => {
  const box = new AuditBox()
  let unmount = () => {}
  beforeEach(async function () {
    await box.setUp()
    if (!canMount(this)) return
    unmount = await mountTmpfs(path.join(box.dir, 'log'), '256k')
  })
  afterEach(async () => {
    unmount()
    unmount = () => {}
    await box.tearDown()
  })

  it('a batch that fills the disk part-way is not left half-written, and its retry writes each record once', async () => {
    const log = box.log()
    const health: boolean[] = []
    const warnings: string[] = []
    const writer = box.log({onHealth: (h) => health.push(h), onWarning: (w) => warnings.push(w)})
    for (let i = 0; i < 5; i++) await writer.record({event: 'test', i})
    const filler = path.join(box.dir, 'log', 'filler')
    await fill(filler)
    // A batch of 40 records (some 5 KB): the live file's last page takes part of it, then ENOSPC.
    const results = await Promise.allSettled(Array.from({length: 40}, (_, i) => writer.record({event: 'test', i: 5 + i})))
    assert.ok(results.some((r) => r.status === 'rejected'), 'the disk is full: some record must fail')
    assert.equal(writer.healthy, false)
    // Still full: a few more attempts fail the same way.
    for (let i = 0; i < 3; i++) await writer.ready()
    await fs.rm(filler)
    for (let i = 0; i < 40 && !(await writer.ready()); i++) await new Promise((r) => setTimeout(r, 50))
    assert.equal(writer.healthy, true)
    for (let i = 45; i < 50; i++) await writer.record({event: 'test', i})
    await writer.close()
    await log.close()
    const report = await verifyAudit(box.file, box.key, {env: box.env})
    assert.ok(report.ok, report.problem?.message)
    const is = (await box.records()).filter((r) => r.event === 'test').map((r) => r.i)
    assert.deepEqual(is, Array.from({length: 50}, (_, i) => i), 'every record once, in order')
    assert.deepEqual(health, [false, true])
  })

  /** A writer's first append fails on a full disk (room for a head file, one page, not for the record), then space comes back and it retries; what verify says after. */
  async function firstAppendOnFullDisk() {
    const filler = path.join(box.dir, 'log', 'filler')
    const written = await fill(filler)
    await fs.truncate(filler, written - 4096)
    const writer = box.log()
    const first = await Promise.allSettled([writer.record({event: 'test', pad: 'x'.repeat(16_000)})])
    assert.equal(first[0].status, 'rejected', 'the append must fail for the test to mean anything')
    await fs.rm(filler)
    for (let i = 0; i < 40 && !(await writer.ready()); i++) await new Promise((r) => setTimeout(r, 50))
    await writer.close()
    return verifyAudit(box.file, box.key, {env: box.env})
  }

  it('a tail cut and the head deleted, then a first append that fails on a full disk: the retry still says the head was missing', async () => {
    await box.write(5)
    const lines = await box.lines()
    await fs.writeFile(box.file, `${lines.slice(0, 3).join('\n')}\n`)
    await fs.rm(`${box.file}.head`)
    const report = await firstAppendOnFullDisk()
    assert.equal(report.problem?.kind, 'truncated', report.problem?.message ?? 'verify found nothing wrong')
    assert.match(report.problem!.message, /written when the head file was missing/)
  })

  it('a log deleted whole, then a first append that fails on a full disk: the retry still says the log was missing', async () => {
    await box.write(3)
    await fs.rm(box.file)
    await fs.rm(`${box.file}.head`)
    const report = await firstAppendOnFullDisk()
    assert.equal(report.problem?.kind, 'missing', report.problem?.message ?? 'verify found nothing wrong')
    assert.match(report.problem!.message, /written when the log was missing/)
  })
})
