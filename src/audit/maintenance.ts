/**
 * What happens to segments once rotated, off the request path: each is compressed (gzip), and
 * with `audit.keep` the oldest are dropped. Before a segment is dropped, a checkpoint is written:
 * the sequence number and MAC of the record just before the oldest one kept, MACed with the
 * audit key, so that `audit verify` starts there cleanly and still sees a cut anywhere after it.
 */
import {randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream, promises as fs} from 'node:fs'
import path from 'node:path'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import {acquireWriteLock, replaceOtherFile} from '../vault/index.js'
import {checkpointPath, listSegments, type Segment} from './files.js'
import {openCheckpoint, sealCheckpoint} from './record.js'
import {planRetention} from './retention-evidence.js'
import type {Retention} from './retention.js'

/**
 * Temp files of a compression (`<segment>.gz.<random>.tmp`), of a head or checkpoint update
 * (`<log>.head.<random>.tmp`, `<log>.checkpoint.<random>.tmp`): each lives for milliseconds.
 */
const TEMP = /^(?:\d{12}\.gz|head|checkpoint)\.[0-9a-f]{12}\.tmp$/
/** A temp file this old was left by a process that died (kill -9 between writing it and its rename). */
const STALE_TEMP_MS = 3_600_000

/** Compresses every rotated segment not compressed yet; returns how many it compressed. */
export async function compressSegments(file: string, signal?: AbortSignal): Promise<number> {
  let done = 0
  for (const segment of await listSegments(file)) {
    if (signal?.aborted) break
    if (segment.compressed) continue
    if (await compressSegment(segment.file, signal)) done++
  }
  await removeStaleTemps(file)
  return done
}

/**
 * `X` becomes `X.gz`: written to a temp file, synced, renamed into place whole, then `X` removed.
 * Interrupted anywhere, either `X` alone or both remain, and readers prefer `X`. A segment still
 * linked twice is the live file of a rotation that has not finished: it is left alone.
 */
async function compressSegment(src: string, signal?: AbortSignal): Promise<boolean> {
  const stat = await fs.lstat(src).catch(() => undefined)
  if (!stat?.isFile() || stat.nlink > 1) return false
  const target = `${src}.gz`
  if (await fs.lstat(target).then(() => true, () => false)) {
    // Renamed into place before: the plain copy is the leftover.
    await fs.rm(src, {force: true})
    return false
  }
  const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await pipeline(createReadStream(src), createGzip({level: 6}), createWriteStream(tmp, {flags: 'wx', mode: 0o600}), {signal})
    // On disk before the plain copy goes.
    const written = await fs.open(tmp, 'r+')
    await written.sync().finally(() => written.close())
    // Age retention's first, cheap look reads it: when the segment was last written, not when it was compressed.
    await fs.utimes(tmp, stat.atime, stat.mtime)
    await fs.rename(tmp, target)
  } catch (err) {
    await fs.rm(tmp, {force: true})
    // Aborted (a shutdown), or the segment went meanwhile (another process compressed or dropped it).
    if (signal?.aborted || (err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  await fs.rm(src, {force: true})
  return true
}

async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file)
  const base = `${path.basename(file)}.`
  const names = await fs.readdir(dir).catch(() => [] as string[])
  for (const name of names) {
    if (!name.startsWith(base) || !TEMP.test(name.slice(base.length))) continue
    const full = path.join(dir, name)
    const stat = await fs.lstat(full).catch(() => undefined)
    if (stat && Date.now() - stat.mtimeMs > STALE_TEMP_MS) await fs.rm(full, {force: true})
  }
}

/**
 * Drops the segments `retention` lets go, under the log's lock, on verified evidence only (see
 * retention-evidence.ts): the checkpoint is written first, at the record before the oldest one
 * kept (its MAC checked), then the segments go: interrupted between, verify skips what is older
 * than the checkpoint. Returns the files dropped; throws, dropping nothing more, when the evidence
 * does not hold (the message says why).
 */
export async function applyRetention(file: string, key: Buffer, retention: Retention, now = Date.now(), signal?: AbortSignal): Promise<string[]> {
  // Most calls have nothing to drop: they take no lock, and read no segment.
  if (!(await mayDrop(await listSegments(file), retention, now))) return []
  const lock = await acquireWriteLock(file, 'audit log')
  try {
    const plan = await planRetention(file, key, await listSegments(file), retention, now, signal)
    if (plan.drop.length > 0 && !signal?.aborted) {
      const existing = await fs.readFile(checkpointPath(file), 'utf8').then((t) => openCheckpoint(key, t), () => undefined)
      if (!existing || existing.seq < plan.checkpoint.seq) {
        lock.assertHeld()
        await replaceOtherFile(checkpointPath(file), Buffer.from(sealCheckpoint(key, plan.checkpoint)), 'audit checkpoint')
      }
      for (const segment of plan.drop) {
        const plain = segment.compressed ? segment.file.slice(0, -'.gz'.length) : segment.file
        await fs.rm(plain, {force: true})
        await fs.rm(`${plain}.gz`, {force: true})
      }
    }
    if (plan.refused) throw new Error(plan.refused)
    return plan.drop.map((s) => s.file)
  } finally {
    await lock.release()
  }
}

/**
 * Whether anything may be dropped, judged cheaply, without reading a segment: by count, or, by
 * age, from the oldest segment's mtime. An mtime is never evidence for dropping (anyone who can
 * touch the file can set it back); it only spares reading the oldest segment while even its mtime
 * says it is recent (a segment's mtime is when its last record was appended, or later).
 */
async function mayDrop(segments: Segment[], retention: Retention, now: number): Promise<boolean> {
  if ('segments' in retention) return segments.length > retention.segments
  const oldest = segments[0] && (await fs.stat(segments[0].file).catch(() => undefined))
  return oldest !== undefined && now - oldest.mtimeMs > retention.ageMs
}
