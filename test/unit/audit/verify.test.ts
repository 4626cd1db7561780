/**
 * `verifyAudit` against every kind of tampering it must name (issue 15: the nine caught before,
 * the whole log deleted, a spliced chain, a missing head with no writer after it), and against
 * the false alarms it must not raise (a vault whose log was never written, a crash's traces).
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {GENESIS, listSegments, sealRecord, segmentPath, verifyAudit} from '../../../src/audit/index.js'
import {sealHead} from '../../../src/audit/record.js'
import {isKeywardError} from '../../../src/errors/index.js'
import {AuditBox} from '../../helpers/audit.js'

describe('audit verify', () => {
  const box = new AuditBox()
  beforeEach(() => box.setUp())
  afterEach(() => box.tearDown())

  const verify = () => verifyAudit(box.file, box.key, {env: box.env})
  // Tampering is reported alike by a reader that holds the write lock and by one that cannot take
  // it (which reports a problem only once two snapshots agree on it).
  const expectBroken = async (kind: string, message: RegExp) => {
    for (const lock of [true, false]) {
      const report = await verifyAudit(box.file, box.key, {env: box.env, lock})
      assert.equal(report.ok, false, `expected ${kind}, but the log verified (lock ${lock})`)
      assert.equal(report.problem?.kind, kind, report.problem?.message)
      assert.match(report.problem!.message, message)
    }
  }
  const rewrite = (lines: string[]) => fs.writeFile(box.file, `${lines.join('\n')}\n`)

  describe('tampering', () => {
    let lines: string[]
    beforeEach(async () => {
      await box.write(6)
      lines = await box.lines()
      assert.ok((await verify()).ok)
    })

    it('1. an edited record', async () => {
      await rewrite(lines.map((l, i) => (i === 2 ? l.replace('"i":2', '"i":9') : l)))
      await expectBroken('edited', /record 3 \(audit\.jsonl:3\) was edited: its MAC does not match/)
    })

    it('2. a deleted record', async () => {
      await rewrite([...lines.slice(0, 3), ...lines.slice(4)])
      await expectBroken('missing', /record 4 is missing/)
    })

    it('3. two records swapped', async () => {
      await rewrite([lines[0], lines[2], lines[1], ...lines.slice(3)])
      await expectBroken('reordered', /record 3 \(audit\.jsonl:2\) is out of order: record 2 comes after it/)
    })

    it('4. a record written twice', async () => {
      await rewrite([...lines.slice(0, 3), lines[2], ...lines.slice(3)])
      await expectBroken('reordered', /record 3 \(audit\.jsonl:4\) is out of order: it comes after record 3/)
    })

    it('5. the tail cut off (the head file names a later record)', async () => {
      await rewrite(lines.slice(0, 4))
      await expectBroken('truncated', /ends at record 4, the head file says 6/)
    })

    it('6. the head file deleted, with no writer after it', async () => {
      await fs.rm(`${box.file}.head`)
      await expectBroken('truncated', /head file .* is missing/)
    })

    it('7. the head file edited', async () => {
      const head = JSON.parse(await fs.readFile(`${box.file}.head`, 'utf8'))
      await fs.writeFile(`${box.file}.head`, JSON.stringify({...head, seq: 4}))
      await expectBroken('edited', /head file .* was edited/)
    })

    it('8. the tail cut and replaced by records chained on from the cut (same key)', async () => {
      const cut = JSON.parse(lines[3])
      const forged = sealRecord(box.key, {seq: cut.seq, mac: cut.mac}, {event: 'test', i: 99}).line
      const forged2 = sealRecord(box.key, {seq: cut.seq + 1, mac: JSON.parse(forged).mac}, {event: 'test', i: 100}).line
      await rewrite([...lines.slice(0, 4), forged, forged2])
      await expectBroken('truncated', /is not the one the head file names: the tail was cut off and replaced/)
    })

    it('9. a line that is not a sealed record inserted', async () => {
      await rewrite([...lines.slice(0, 2), '{"seq":3,"event":"test"}', ...lines.slice(2)])
      await expectBroken('edited', /not a sealed record/)
    })

    it('two logs signed with the same key spliced at matching sequence numbers (the prev chain)', async () => {
      // Another log, same key, same numbering: every MAC and number holds, only `prev` tells.
      const other = path.join(box.dir, 'other', 'audit.jsonl')
      const log = box.log({file: other})
      for (let i = 0; i < 6; i++) await log.record({event: 'test', i: 100 + i})
      await log.close()
      const theirs = await box.lines(other)
      await rewrite([...lines.slice(0, 3), ...theirs.slice(3)])
      await fs.copyFile(`${other}.head`, `${box.file}.head`)
      await expectBroken('missing', /record 4 \(audit\.jsonl:4\) does not follow the record before it/)
    })

    it('a rotated segment deleted from the middle, and the oldest one', async () => {
      const segs = path.join(box.dir, 'segs', 'audit.jsonl')
      await box.write(12, 0, {file: segs, maxSize: 500})
      const names = (await fs.readdir(path.dirname(segs))).filter((n) => /\.\d{12}(\.gz)?$/.test(n)).sort()
      assert.ok(names.length >= 3, names.join(' '))
      const report = () => verifyAudit(segs, box.key, {env: box.env})
      assert.ok((await report()).ok)
      await fs.rm(path.join(path.dirname(segs), names[1]))
      assert.equal((await report()).problem?.kind, 'missing')
      await fs.rm(path.join(path.dirname(segs), names[0]))
      const r = await report()
      assert.equal(r.problem?.kind, 'missing')
      assert.match(r.problem!.message, /older segments deleted/)
    })
  })

  describe('the whole log', () => {
    it('deleted (live file and head) after it was written: missing, exit 28 kind, not "no log"', async () => {
      await box.write(3)
      await fs.rm(box.file)
      await fs.rm(`${box.file}.head`)
      await expectBroken('missing', /whole log is gone/)
    })

    it('deleted, then written again by a writer: the new chain starts by saying the log was missing', async () => {
      await box.write(3)
      await fs.rm(box.file)
      await fs.rm(`${box.file}.head`)
      await box.write(2, 3)
      await expectBroken('missing', /written when the log was missing: the log before it was deleted/)
    })

    it('its records deleted and the head it started with put back: missing (the marker is made only once a record was written)', async () => {
      await box.write(3)
      await fs.rm(box.file)
      // The head a writer leaves before its first append: the chain's start, record 0.
      await fs.writeFile(`${box.file}.head`, sealHead(box.key, {seq: 0, mac: GENESIS}))
      await expectBroken('missing', /no record is left: records were written to this log/)
    })

    it('never written (a vault with an audit key that audited nothing yet): "no log", not tampering', async () => {
      await assert.rejects(verify(), (err: Error) => isKeywardError(err) && err.code === 'NOT_FOUND' && /nothing audited/.test(err.message))
    })
  })

  describe('no false alarm', () => {
    it('a head that lags the log (a writer killed before updating it) is a note', async () => {
      await box.write(3)
      const head = await fs.readFile(`${box.file}.head`)
      await box.write(2, 3)
      await fs.writeFile(`${box.file}.head`, head)
      const report = await verify()
      assert.ok(report.ok, report.problem?.message)
      assert.match(report.notes.join(' '), /head file names record 3, the log goes on to 5/)
    })

    it('a first write whose append never landed (its head, at record 0, was written first): intact, no record', async () => {
      await fs.mkdir(path.dirname(box.file), {recursive: true, mode: 0o700})
      await fs.writeFile(`${box.file}.head`, sealHead(box.key, {seq: 0, mac: GENESIS}))
      await fs.writeFile(box.file, '')
      const report = await verify()
      assert.ok(report.ok, report.problem?.message)
      assert.equal(report.records, 0)
    })

    for (const lock of [true, false]) {
      it(`verify run while a writer rotates the log reads one snapshot, ${lock ? 'taken under the write lock' : 'checked afterwards when the lock cannot be taken'}: no false alarm`, async function () {
        this.timeout(60_000)
        const log = box.log({maxSize: 2048})
        await log.record({event: 'test', i: -1})
        let stop = false
        const writing = (async () => {
          for (let i = 0; !stop; i++) await log.record({event: 'test', i, pad: 'x'.repeat(100)})
        })()
        const alarms: string[] = []
        let runs = 0
        try {
          // For 4 s: a short pause lets the writer's batches (and rotations) run between verifications.
          for (const start = Date.now(); Date.now() - start < 4000; runs++) {
            await new Promise((resolve) => setTimeout(resolve, 2))
            const r = await verifyAudit(box.file, box.key, {env: box.env, lock})
            if (!r.ok) alarms.push(`${r.problem!.kind}: ${r.problem!.message}`)
          }
        } finally {
          stop = true
          await writing
          await log.close()
        }
        assert.ok((await verify()).ok, 'the log itself is intact')
        assert.ok((await listSegments(box.file)).length > 10, 'the log rotated meanwhile')
        assert.deepEqual(alarms.slice(0, 3), [], `${alarms.length} of ${runs} verify runs raised a false alarm`)
      })
    }

    it('a rotation stopped between link and unlink: the live file and the segment are one file, read once', async () => {
      await box.write(4)
      await fs.link(box.file, segmentPath(box.file, 1))
      const report = await verify()
      assert.ok(report.ok, report.problem?.message)
      assert.equal(report.records, 4)
    })
  })
})
