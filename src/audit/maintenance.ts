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
import {firstLine} from './lines.js'
import {openCheckpoint, openRecord, sealCheckpoint, type ChainHead} from './record.js'
import type {Retention} from './retention.js'

const TEMP = /\.gz\.[0-9a-f]{12}\.tmp$/
/** A compression temp file this old was left by a process that died. */
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
    // The age retention reads: when the segment was last written, not when it was compressed.
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
    if (!name.startsWith(base) || !TEMP.test(name)) continue
    const full = path.join(dir, name)
    const stat = await fs.lstat(full).catch(() => undefined)
    if (stat && Date.now() - stat.mtimeMs > STALE_TEMP_MS) await fs.rm(full, {force: true})
  }
}

/** The segments `retention` lets go: always the oldest ones, never one in the middle. */
async function segmentsToDrop(segments: Segment[], retention: Retention, now: number): Promise<Segment[]> {
  if ('segments' in retention) return segments.slice(0, Math.max(0, segments.length - retention.segments))
  const drop: Segment[] = []
  for (const segment of segments) {
    const stat = await fs.stat(segment.file).catch(() => undefined)
    if (!stat || now - stat.mtimeMs <= retention.ageMs) break
    drop.push(segment)
  }
  return drop
}

/**
 * Drops the segments `retention` lets go, under the log's lock. The checkpoint is written first,
 * from the first record of the oldest file kept (its MAC checked, so the checkpoint names a real
 * link of the chain), then the segments go: interrupted between, verify skips what is older than
 * the checkpoint. Returns the files dropped.
 */
export async function applyRetention(file: string, key: Buffer, retention: Retention, now = Date.now()): Promise<string[]> {
  // Most calls have nothing to drop: they take no lock.
  if ((await segmentsToDrop(await listSegments(file), retention, now)).length === 0) return []
  const lock = await acquireWriteLock(file, 'audit log')
  try {
    const segments = await listSegments(file)
    const drop = await segmentsToDrop(segments, retention, now)
    if (drop.length === 0) return []
    const keptFirst = segments[drop.length]?.file ?? file
    const line = await firstLine(keptFirst).catch(() => undefined)
    const check = line === undefined ? undefined : openRecord(key, line)
    if (!check?.ok) {
      throw new Error(`${path.basename(keptFirst)} does not start with an intact record, so no checkpoint can be made there; nothing was dropped`)
    }
    const at: ChainHead = {seq: check.record.seq - 1, mac: check.record.prev}
    const existing = await fs.readFile(checkpointPath(file), 'utf8').then((t) => openCheckpoint(key, t), () => undefined)
    if (!existing || existing.seq < at.seq) {
      lock.assertHeld()
      await replaceOtherFile(checkpointPath(file), Buffer.from(sealCheckpoint(key, at)), 'audit checkpoint')
    }
    for (const segment of drop) {
      const plain = segment.compressed ? segment.file.slice(0, -'.gz'.length) : segment.file
      await fs.rm(plain, {force: true})
      await fs.rm(`${plain}.gz`, {force: true})
    }
    return drop.map((s) => s.file)
  } finally {
    await lock.release()
  }
}
