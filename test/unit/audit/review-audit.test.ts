/**
 * Review of the audit log (issue 15, items 5 to 8): defects found by attacking it. Each test
 * fails on the code as reviewed and should pass once the defect is fixed.
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {listSegments, verifyAudit} from '../../../src/audit/index.js'
import {AuditBox} from '../../helpers/audit.js'

describe('review: audit log', function () {
  this.timeout(60_000)
  const box = new AuditBox()
  beforeEach(() => box.setUp())
  afterEach(() => box.tearDown())

  const verify = () => verifyAudit(box.file, box.key, {env: box.env})

  it('verify run while a writer rotates the log never reports tampering that did not happen', async () => {
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
        const r = await verify()
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

  it('a wall clock stepped back (NTP) does not hold queued records back for as long as the step', async () => {
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

  describe('retention cannot be steered by someone who can only edit files (no key)', () => {
    it('keep 30d: segments written minutes ago, their mtime set back by an attacker, are not dropped behind a clean checkpoint', async () => {
      await box.write(30, 0, {maxSize: 600})
      const segments = await listSegments(box.file)
      assert.ok(segments.length >= 4, `${segments.length} segments`)
      const lastHidden = (await box.records()).at(0)!.seq - 1
      // The attacker: touch -d 2000-01-01 on every rotated segment.
      const old = new Date('2000-01-01T00:00:00Z')
      for (const s of segments) await fs.utimes(s.file, old, old)
      // Any legitimate writer afterwards (a CLI admin command, serve starting) applies retention.
      await box.write(1, 100, {maxSize: 1024 ** 2, keep: {ageMs: 30 * 86_400_000}})
      const report = await verify()
      assert.ok(
        !report.ok || (report.checkpoint?.seq ?? 0) < lastHidden,
        `records 1 to ${lastHidden}, written just now, were dropped and verify is clean (checkpoint ${report.checkpoint?.seq})`,
      )
    })

    it('keep 3: copies of the live file planted as extra segments do not make the writer drop the real ones behind a clean checkpoint', async () => {
      await box.write(30, 0, {maxSize: 600, keep: {segments: 3}})
      const real = await listSegments(box.file)
      assert.equal(real.length, 3)
      assert.ok((await verify()).ok)
      // The attacker plants three genuine-looking segments: copies of the live file, named after it.
      const liveFirst = (await box.records())[0].seq
      const planted = [1, 2, 3].map((n) => `${box.file}.${String(liveFirst + n).padStart(12, '0')}`)
      for (const p of planted) await fs.copyFile(box.file, p)
      // A legitimate writer starts (retention runs once when a writer starts).
      await box.write(1, 100, {maxSize: 1024 ** 2, keep: {segments: 3}})
      for (const p of planted) for (const f of [p, `${p}.gz`]) await fs.rm(f, {force: true})
      const report = await verify()
      const left = await listSegments(box.file)
      assert.ok(
        !report.ok || left.length > 0,
        `the three real segments (${real.map((s) => path.basename(s.file)).join(', ')}) were dropped by the writer, and verify is clean`,
      )
    })
  })

  it('temp files of the head and the checkpoint left by a killed writer are cleaned up, as compression temps are', async () => {
    await box.write(3)
    // What kill -9 between writing a temp file and renaming it leaves (seen after kill -9 loops of serve).
    const left = [`${box.file}.head.0123456789ab.tmp`, `${box.file}.checkpoint.0123456789ab.tmp`]
    const old = new Date(Date.now() - 2 * 3_600_000)
    for (const f of left) {
      await fs.writeFile(f, '{}\n', {mode: 0o600})
      await fs.utimes(f, old, old)
    }
    await box.write(1, 3)
    const remaining = (await box.names()).filter((n) => n.endsWith('.tmp'))
    assert.deepEqual(remaining, [], 'left for ever, one more per crash')
  })
})
