/**
 * Reading the log as `audit tail --follow` does (src/audit/read.ts): by sequence number, so that
 * rotation (one or many segments, compressed meanwhile) and the moment between showing the last
 * records and starting to follow lose nothing.
 */
import assert from 'node:assert/strict'

import {followRecords, listSegments, tailRecords, type AuditRecord} from '../../../src/audit/index.js'
import {compressSegments} from '../../../src/audit/maintenance.js'
import {AuditBox} from '../../helpers/audit.js'

describe('audit tail --follow, by sequence number', () => {
  const box = new AuditBox()
  beforeEach(() => box.setUp())
  afterEach(() => box.tearDown())

  async function until(check: () => boolean, ms: number): Promise<void> {
    for (const start = Date.now(); !check() && Date.now() - start < ms; ) await new Promise((resolve) => setTimeout(resolve, 20))
  }

  it('goes on from the number the first read ended at: records written in between, and through rotations into compressed segments, arrive once, in order', async function () {
    this.timeout(30_000)
    await box.write(5, 0, {maxSize: 600})
    const {records, after} = await tailRecords(box.file, {event: 'test'}, 2)
    assert.deepEqual(records.map((r) => r.i), [3, 4])
    assert.equal(after, 5)
    // Written after the last records were shown, before following starts.
    await box.write(3, 5, {maxSize: 600})
    const seen: AuditRecord[] = []
    const stop = new AbortController()
    const following = followRecords(box.file, {event: 'test'}, (r) => seen.push(r), stop.signal, after)
    try {
      await until(() => seen.length >= 3, 5000)
      // Rotated several times over while the follower reads, the segments compressed at once.
      const log = box.log({maxSize: 600})
      for (let i = 8; i < 40; i++) {
        await log.record({event: 'test', i})
        if (i % 7 === 0) await compressSegments(box.file)
      }
      await log.close()
      await compressSegments(box.file)
      await until(() => seen.length >= 35, 5000)
    } finally {
      stop.abort()
      await following
    }
    assert.ok((await listSegments(box.file)).filter((s) => s.compressed).length >= 5)
    assert.deepEqual(
      seen.map((r) => r.i),
      Array.from({length: 35}, (_, i) => i + 5),
    )
  })
})
