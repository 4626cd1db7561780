/**
 * Rotated segments compressed, and `audit.keep` (issue 15, item 8): the kept chain starts at a
 * MACed checkpoint, verify starts there cleanly, and still catches a cut or an edit after it,
 * compressed segments included. Reading (tail, the console) sees the compressed segments too.
 */
import assert from 'node:assert/strict'
import {promises as fs} from 'node:fs'
import path from 'node:path'
import {gunzipSync, gzipSync} from 'node:zlib'

import {auditRecords, checkpointPath, lastRecords, listSegments, parseRetention, verifyAudit} from '../../../src/audit/index.js'
import {applyRetention, compressSegments} from '../../../src/audit/maintenance.js'
import {firstLine} from '../../../src/audit/lines.js'
import {sealCheckpoint} from '../../../src/audit/record.js'
import {AuditBox} from '../../helpers/audit.js'

describe('audit segments: compression and retention', () => {
  const box = new AuditBox()
  beforeEach(() => box.setUp())
  afterEach(() => box.tearDown())

  const verify = () => verifyAudit(box.file, box.key, {env: box.env})
  const segments = async () => (await box.names()).filter((n) => /\.jsonl\.\d{12}(\.gz)?$/.test(n))

  it('parses audit.keep: a count or an age, nothing else', () => {
    assert.deepEqual(parseRetention('3'), {segments: 3})
    assert.deepEqual(parseRetention('30d'), {ageMs: 30 * 86_400_000})
    assert.deepEqual(parseRetention('12h'), {ageMs: 12 * 3_600_000})
    for (const bad of ['0', '-1', '3x', '30', '1.5d', '', 'all', '0d']) if (bad !== '30') assert.equal(parseRetention(bad), undefined, bad)
  })

  it('keep 3: three compressed segments and the live file; verify starts at the checkpoint and is clean', async () => {
    await box.write(40, 0, {maxSize: 600, keep: {segments: 3}})
    const names = await segments()
    assert.equal(names.length, 3, names.join(' '))
    assert.ok(names.every((n) => n.endsWith('.gz')), names.join(' '))
    assert.ok((await box.names()).includes('audit.jsonl.checkpoint'))
    const report = await verify()
    assert.ok(report.ok, report.problem?.message)
    assert.ok(report.checkpoint && report.checkpoint.seq > 0)
    assert.equal(report.last?.seq, 40)
    assert.equal(report.records, 40 - report.checkpoint.seq)
  })

  describe('what keep 3 still catches', () => {
    let names: string[]
    beforeEach(async () => {
      await box.write(40, 0, {maxSize: 600, keep: {segments: 3}})
      names = (await segments()).sort()
      assert.ok((await verify()).ok)
    })
    const dir = () => path.dirname(box.file)
    const gz = async (name: string) => gunzipSync(await fs.readFile(path.join(dir(), name))).toString('utf8').split('\n').filter(Boolean)
    const regz = (name: string, lines: string[]) => fs.writeFile(path.join(dir(), name), gzipSync(`${lines.join('\n')}\n`))

    it('a record edited inside a compressed segment', async () => {
      const lines = await gz(names[1])
      await regz(names[1], lines.map((l, i) => (i === 1 ? l.replace(/"i":(\d+)/, '"i":999') : l)))
      const r = await verify()
      assert.equal(r.problem?.kind, 'edited', r.problem?.message)
      assert.match(r.problem!.message, new RegExp(`\\(${names[1].replace(/\./g, '\\.')}:2\\)`))
    })

    it('a record cut from a compressed segment', async () => {
      const lines = await gz(names[2])
      await regz(names[2], [lines[0], ...lines.slice(2)])
      assert.equal((await verify()).problem?.kind, 'missing')
    })

    it('a compressed segment garbled or cut short: edited, not an internal error', async () => {
      const file = path.join(dir(), names[1])
      const raw = await fs.readFile(file)
      await fs.writeFile(file, raw.subarray(0, raw.length - 12))
      let r = await verify()
      assert.equal(r.problem?.kind, 'edited', r.problem?.message)
      assert.match(r.problem!.message, /compressed segment is damaged/)
      const garbled = Buffer.from(raw)
      garbled[30] ^= 0xff
      await fs.writeFile(file, garbled)
      r = await verify()
      assert.equal(r.problem?.kind, 'edited', r.problem?.message)
      const read: number[] = []
      for await (const rec of auditRecords(box.file)) read.push(rec.seq)
      assert.ok(read.length > 0, 'the other segments are still read')
    })

    it('the oldest kept segment deleted (the checkpoint says where the chain must start)', async () => {
      await fs.rm(path.join(dir(), names[0]))
      const r = await verify()
      assert.equal(r.problem?.kind, 'missing')
      assert.match(r.problem!.message, /checkpoint/)
    })

    it('the checkpoint deleted', async () => {
      await fs.rm(checkpointPath(box.file))
      assert.equal((await verify()).problem?.kind, 'missing')
    })

    it('the checkpoint moved on without the key', async () => {
      const cp = JSON.parse(await fs.readFile(checkpointPath(box.file), 'utf8'))
      await fs.writeFile(checkpointPath(box.file), JSON.stringify({...cp, seq: cp.seq + 5}))
      assert.equal((await verify()).problem?.kind, 'edited')
    })

    it('an older checkpoint put back: only stricter (the dropped records show as missing)', async () => {
      // A checkpoint the key did make once, further back than the kept chain starts.
      const first = JSON.parse((await gz(names[0]))[0])
      await fs.writeFile(checkpointPath(box.file), sealCheckpoint(box.key, {seq: first.seq - 3, mac: 'a'.repeat(64)}))
      assert.equal((await verify()).problem?.kind, 'missing')
    })
  })

  it('by age: drops only segments last written before the age, oldest first', async () => {
    await box.write(20, 0, {maxSize: 600})
    await compressSegments(box.file)
    const all = await listSegments(box.file)
    assert.ok(all.length >= 3)
    const old = new Date(Date.now() - 40 * 86_400_000)
    for (const s of all.slice(0, 2)) await fs.utimes(s.file, old, old)
    const dropped = await applyRetention(box.file, box.key, {ageMs: 30 * 86_400_000})
    assert.deepEqual(dropped, all.slice(0, 2).map((s) => s.file))
    const report = await verify()
    assert.ok(report.ok, report.problem?.message)
    assert.equal(report.checkpoint?.seq, all[2].firstSeq - 1)
  })

  it('a segment whose first record was edited is not made a checkpoint: nothing is dropped', async () => {
    await box.write(20, 0, {maxSize: 600})
    const all = await listSegments(box.file)
    const target = all[1].file
    const raw = await fs.readFile(target)
    const lines = (all[1].compressed ? gunzipSync(raw) : raw).toString('utf8').split('\n').filter(Boolean)
    const edited = `${[lines[0].replace(/"i":\d+/, '"i":777'), ...lines.slice(1)].join('\n')}\n`
    await fs.writeFile(target, all[1].compressed ? gzipSync(edited) : edited)
    await assert.rejects(applyRetention(box.file, box.key, {segments: all.length - 1}), /no checkpoint/)
    assert.equal((await listSegments(box.file)).length, all.length)
  })

  it('a compression interrupted after its rename (both copies there) is read once, and finished by the next pass', async () => {
    await box.write(10, 0, {maxSize: 600})
    const [first] = await listSegments(box.file)
    const plain = first.compressed ? first.file.slice(0, -3) : first.file
    if (first.compressed) await fs.writeFile(plain, gunzipSync(await fs.readFile(first.file)))
    else await fs.writeFile(`${plain}.gz`, gzipSync(await fs.readFile(plain)))
    const report = await verify()
    assert.ok(report.ok, report.problem?.message)
    assert.equal(report.records, 10)
    await compressSegments(box.file)
    assert.ok(!(await box.names()).includes(path.basename(plain)))
  })

  it('reads every record across compressed segments and the live file, oldest or newest first, with a filter', async () => {
    await box.write(30, 0, {maxSize: 600})
    await compressSegments(box.file)
    const oldest: number[] = []
    for await (const r of auditRecords(box.file)) oldest.push(r.seq)
    assert.deepEqual(oldest, Array.from({length: 30}, (_, i) => i + 1))
    const newest: number[] = []
    for await (const r of auditRecords(box.file, {order: 'newest-first'})) newest.push(r.seq)
    assert.deepEqual(newest, [...oldest].reverse())
    const last = await lastRecords(box.file, {event: 'test'}, 12)
    assert.deepEqual(last.map((r) => r.i), Array.from({length: 12}, (_, i) => 18 + i))
  })
})

describe('audit retention interrupted', () => {
  const box = new AuditBox()
  beforeEach(() => box.setUp())
  afterEach(() => box.tearDown())

  it('between the checkpoint and the deletion: verify skips what is older than the checkpoint, with a note, and the next pass drops it', async () => {
    await box.write(20, 0, {maxSize: 600})
    const all = await listSegments(box.file)
    // The checkpoint as retention writes it for keeping the newest 2, with nothing deleted yet.
    const keptFirst = JSON.parse((await firstLine(all[all.length - 2].file))!)
    await fs.writeFile(checkpointPath(box.file), sealCheckpoint(box.key, {seq: keptFirst.seq - 1, mac: keptFirst.prev}))
    const report = await verifyAudit(box.file, box.key, {env: box.env})
    assert.ok(report.ok, report.problem?.message)
    assert.match(report.notes.join(' '), /older than the checkpoint .* not checked/)
    await applyRetention(box.file, box.key, {segments: 2})
    assert.equal((await listSegments(box.file)).length, 2)
    assert.ok((await verifyAudit(box.file, box.key, {env: box.env})).ok)
  })
})
