/** Reading the audit log once, then only what was added, across rotation (src/audit/scan.ts). */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, promises as fs, rmSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {AuditLog, chainFiles} from '../../../src/audit/index.js'
import {compressSegments} from '../../../src/audit/maintenance.js'
import {recordAt, scanRecords, type ScanCursor} from '../../../src/audit/scan.js'

describe('audit scan', () => {
  let dir: string
  let file: string
  let log: AuditLog
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'keyward-unit-scan-'))
    file = path.join(dir, 'audit.jsonl')
    // Small files, so that a few dozen records rotate several times.
    log = new AuditLog({file, key: randomBytes(32), maxSize: 2048})
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  const write = async (from: number, count: number) => {
    for (let i = from; i < from + count; i++) await log.record({event: 'tool.call', tool: `t${i}`, outcome: 'ok'})
  }
  const scan = async (cursor: ScanCursor) => {
    const seen: number[] = []
    const next = await scanRecords(file, cursor, (r) => seen.push(r.seq))
    return {seen, next}
  }

  it('delivers every record once, in order, across segments, then only the new ones', async () => {
    await write(0, 40)
    assert.ok((await chainFiles(file)).length > 3, 'the log rotated')
    const first = await scan({seq: 0})
    assert.deepEqual(first.seen, Array.from({length: 40}, (_, i) => i + 1))
    assert.deepEqual((await scan(first.next)).seen, [])
    await write(40, 25)
    const second = await scan(first.next)
    assert.deepEqual(second.seen, Array.from({length: 25}, (_, i) => i + 41))
    assert.deepEqual((await scan(second.next)).seen, [])
  })

  it('after the file it stopped in was rotated into a segment, delivers the rest, each once', async () => {
    await write(0, 3)
    const first = await scan({seq: 0})
    await write(3, 30) // rotates the file the cursor points into
    const second = await scan(first.next)
    assert.deepEqual(second.seen, Array.from({length: 30}, (_, i) => i + 4))
  })

  it('leaves a torn last line for the next scan', async () => {
    await write(0, 2)
    await fs.appendFile(file, '{"seq":3,"ts":"2026-01-01T00:00:00.000Z","event":"tool.ca')
    const first = await scan({seq: 0})
    assert.deepEqual(first.seen, [1, 2])
    await fs.appendFile(file, 'll","prev":"x","mac":"y"}\n')
    assert.deepEqual((await scan(first.next)).seen, [3])
  })

  it('reads compressed segments, and follows a segment compressed between two scans', async () => {
    await write(0, 20)
    const first = await scan({seq: 0})
    await write(20, 20)
    // The writer compresses rotated segments in the background; this finishes what it has not.
    await compressSegments(file)
    assert.ok((await fs.readdir(dir)).some((n) => n.endsWith('.gz')), 'some segments are compressed')
    assert.deepEqual((await scan(first.next)).seen, Array.from({length: 20}, (_, i) => i + 21))
    assert.deepEqual((await scan({seq: 0})).seen, Array.from({length: 40}, (_, i) => i + 1))
    assert.equal((await recordAt(file, 3))?.tool, 't2')
  })

  it('finds one record by its sequence number, in a segment or the live file', async () => {
    await write(0, 40)
    for (const seq of [1, 17, 40]) assert.equal((await recordAt(file, seq))?.tool, `t${seq - 1}`)
    assert.equal(await recordAt(file, 41), undefined)
  })
})
