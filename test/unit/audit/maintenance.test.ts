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

  it('by age: drops only the segments whose last record (its MACed time) is older than the age, oldest first', async () => {
    await box.write(12, 0, {maxSize: 600})
    const lastOld = (await box.records()).at(-1)!.seq
    await new Promise((resolve) => setTimeout(resolve, 30))
    const cut = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 30))
    // The next batch rotates out the live file, whose records are all older than `cut`.
    await box.write(12, 12, {maxSize: 600})
    await compressSegments(box.file)
    const all = await listSegments(box.file)
    // A segment is old when the file after it starts at or before the first record written after `cut`.
    const starts = [...all.map((s) => s.firstSeq), (await box.records())[0].seq]
    const old = all.filter((_, i) => starts[i + 1] <= lastOld + 1)
    assert.ok(old.length >= 3 && all.length > old.length, `${old.length} of ${all.length}`)
    // An age of one day, looked at one day after `cut`: what was written before it is older than that.
    const dropped = await applyRetention(box.file, box.key, {ageMs: 86_400_000}, cut + 86_400_000)
    assert.deepEqual(dropped, old.map((s) => s.file))
    const report = await verify()
    assert.ok(report.ok, report.problem?.message)
    assert.equal(report.checkpoint?.seq, lastOld)
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

describe('audit retention acts only on evidence that needs the key', () => {
  const box = new AuditBox()
  beforeEach(() => box.setUp())
  afterEach(() => box.tearDown())

  const verify = () => verifyAudit(box.file, box.key, {env: box.env})
  const DAY = 86_400_000

  it('keep 30d: segments written just now, their mtimes set back (touch -d 2000-01-01), are not dropped: age is the MACed time of their last record', async () => {
    await box.write(30, 0, {maxSize: 600})
    const segments = await listSegments(box.file)
    assert.ok(segments.length >= 4, `${segments.length} segments`)
    const lastHidden = (await box.records()).at(0)!.seq - 1
    const old = new Date('2000-01-01T00:00:00Z')
    for (const s of segments) await fs.utimes(s.file, old, old)
    // Any legitimate writer afterwards (a CLI admin command, serve starting) applies retention.
    await box.write(1, 100, {maxSize: 1024 ** 2, keep: {ageMs: 30 * DAY}})
    const report = await verify()
    assert.ok(
      !report.ok || (report.checkpoint?.seq ?? 0) < lastHidden,
      `records 1 to ${lastHidden}, written just now, were dropped and verify is clean (checkpoint ${report.checkpoint?.seq})`,
    )
    assert.equal((await listSegments(box.file)).length, segments.length)
  })

  it('keep 3: copies of the live file planted as later segments do not make the writer drop the real ones: the kept segments must be the real chain', async () => {
    await box.write(30, 0, {maxSize: 600, keep: {segments: 3}})
    const real = await listSegments(box.file)
    assert.equal(real.length, 3)
    assert.ok((await verify()).ok)
    const liveFirst = (await box.records())[0].seq
    const planted = [1, 2, 3].map((n) => `${box.file}.${String(liveFirst + n).padStart(12, '0')}`)
    for (const p of planted) await fs.copyFile(box.file, p)
    const warnings: string[] = []
    // A legitimate writer starts (retention runs once when a writer starts).
    await box.write(1, 100, {maxSize: 1024 ** 2, keep: {segments: 3}, onWarning: (w) => warnings.push(w)})
    assert.match(warnings.join('\n'), /is named after record \d+, but starts with record \d+.*nothing was dropped/)
    for (const p of planted) for (const f of [p, `${p}.gz`]) await fs.rm(f, {force: true})
    assert.deepEqual((await listSegments(box.file)).map((s) => s.firstSeq), real.map((s) => s.firstSeq))
    assert.ok((await verify()).ok)
  })

  it('keep 2: a record edited inside a kept segment (not its first) stops the drop: every kept record must verify', async () => {
    await box.write(20, 0, {maxSize: 600})
    const all = await listSegments(box.file)
    const kept = all.at(-1)!
    const raw = await fs.readFile(kept.file)
    const lines = (kept.compressed ? gunzipSync(raw) : raw).toString('utf8').split('\n').filter(Boolean)
    assert.ok(lines.length >= 2)
    const edited = `${[lines[0], lines[1].replace(/"i":\d+/, '"i":777'), ...lines.slice(2)].join('\n')}\n`
    await fs.writeFile(kept.file, kept.compressed ? gzipSync(edited) : edited)
    await assert.rejects(applyRetention(box.file, box.key, {segments: 1}), /not an intact record.*no checkpoint is made and nothing was dropped/)
    assert.equal((await listSegments(box.file)).length, all.length)
  })

  it('by age: a recent segment given an old genuine record at its end is not dropped: a dropped segment must lead into the next file', async () => {
    await box.write(9, 0, {maxSize: 600})
    const oldLine = (await box.lines()).at(-1)!
    await new Promise((resolve) => setTimeout(resolve, 30))
    const cut = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 30))
    await box.write(12, 9, {maxSize: 600})
    const all = await listSegments(box.file)
    const starts = [...all.map((s) => s.firstSeq), (await box.records())[0].seq]
    const oldCount = all.filter((_, i) => starts[i + 1] <= JSON.parse(oldLine).seq + 1).length
    const recent = all[oldCount]
    assert.ok(recent && oldCount >= 1, `${oldCount} old of ${all.length}`)
    // The attacker appends a genuine old record to the first recent segment, so that it "ends" old.
    const plain = recent.compressed ? gunzipSync(await fs.readFile(recent.file)).toString('utf8') : await fs.readFile(recent.file, 'utf8')
    const tampered = `${plain}${oldLine}\n`
    await fs.writeFile(recent.file, recent.compressed ? gzipSync(tampered) : tampered)
    await assert.rejects(applyRetention(box.file, box.key, {ageMs: DAY}, cut + DAY), /is not followed by the record after it.*it was kept/)
    assert.deepEqual((await listSegments(box.file)).map((s) => s.file), all.slice(oldCount).map((s) => s.file), 'only the old ones were dropped')
  })

  it('head and checkpoint temp files left by a killed writer are removed, as compression temps are', async () => {
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
