/**
 * What `audit.keep` may drop, judged only on evidence that needs the audit key to forge. Someone
 * who can edit files but has no key must not be able to steer retention into dropping real
 * records behind a clean checkpoint (which would hide them from `audit verify`):
 *
 * - not with mtimes (`touch -d 2000-01-01`): a segment's age is the MACed `ts` of its last record;
 * - not with the directory listing (copies of the live file planted as later segments, so that
 *   "the newest 3" are the copies): before dropping by count, the segments kept must be the real
 *   chain: each one named after its first record, every record verified, each file following the
 *   one before it (last record, then the next file's first), into the live file.
 *
 * By age, each segment dropped is checked itself (its name, its first and last records, and that
 * its last record is followed by the next file's first): records older than an authentic old
 * record are older still, whatever else the directory holds, so the segments kept need not be read.
 */
import path from 'node:path'

import type {Segment} from './files.js'
import {firstLine, lastCompleteLine, linesForward, openLogFile} from './lines.js'
import {openRecord, type AuditRecord, type ChainHead} from './record.js'
import type {Retention} from './retention.js'

export interface RetentionPlan {
  /** The segments to drop, oldest first. */
  drop: Segment[]
  /** Where the kept chain starts: the record before the oldest one kept. */
  checkpoint: ChainHead
  /** Why nothing more (or nothing) may be dropped, when the evidence did not hold. */
  refused?: string
}

/** Evidence that does not hold: a message saying what, and that nothing was dropped for it. */
class NoEvidence extends Error {}

/** What `retention` may drop of `segments` (listed under the log's lock), with the evidence checked. */
export async function planRetention(file: string, key: Buffer, segments: Segment[], retention: Retention, now: number, signal?: AbortSignal): Promise<RetentionPlan> {
  const none = {drop: [], checkpoint: {seq: 0, mac: ''}}
  try {
    if ('segments' in retention) {
      const keep = segments.slice(-retention.segments)
      if (segments.length <= retention.segments) return none
      const first = await checkKeptChain(file, key, keep, signal).catch((err: unknown) => {
        if (!(err instanceof NoEvidence)) throw err
        throw new NoEvidence(`${err.message}: the segments to keep are not shown to be the real chain, so no checkpoint is made and nothing was dropped`)
      })
      return {drop: segments.slice(0, segments.length - keep.length), checkpoint: {seq: first.seq - 1, mac: first.prev}}
    }
    return await planByAge(file, key, segments, now - retention.ageMs, signal)
  } catch (err) {
    if (!(err instanceof NoEvidence)) throw err
    return {...none, refused: err.message}
  }
}

/**
 * By age: the oldest segments whose last record was written before `before`, each checked; stops
 * at the first that is recent, or whose evidence does not hold (then says why).
 */
async function planByAge(file: string, key: Buffer, segments: Segment[], before: number, signal?: AbortSignal): Promise<RetentionPlan> {
  const drop: Segment[] = []
  let checkpoint: ChainHead = {seq: 0, mac: ''}
  for (const [i, segment] of segments.entries()) {
    if (signal?.aborted) break
    let last: AuditRecord
    try {
      last = await lastOf(segment, key)
      if (Date.parse(last.ts) >= before) break
      const next = segments[i + 1]
      const after = next ? await firstOf(next, key) : await liveFirst(file, key)
      follows(segment.file, last, after)
    } catch (err) {
      if (!(err instanceof NoEvidence)) throw err
      return {drop, checkpoint, refused: `${err.message}; it was kept${drop.length > 0 ? ', and the ones after it' : ', and nothing was dropped'}`}
    }
    drop.push(segment)
    checkpoint = {seq: last.seq, mac: last.mac}
  }
  return {drop, checkpoint}
}

/**
 * By count: the kept segments, and the live file's first record, must be one intact chain; returns
 * the first kept record (the checkpoint goes just before it).
 */
async function checkKeptChain(file: string, key: Buffer, keep: Segment[], signal?: AbortSignal): Promise<AuditRecord> {
  let first: AuditRecord | undefined
  let previous: AuditRecord | undefined
  for (const segment of keep) {
    if (signal?.aborted) throw new NoEvidence('stopped (shutting down)')
    const opened = await openLogFile(segment.file)
    let count = 0
    try {
      for await (const line of linesForward(opened)) {
        const where = `${base(segment.file)}:${line.number}`
        const record = authentic(key, line.text, where, line.complete)
        if (++count === 1 && record.seq !== segment.firstSeq) throw misnamed(segment, record)
        if (previous) follows(where, previous, record)
        first ??= record
        previous = record
      }
    } finally {
      await opened.handle.close()
    }
    if (count === 0) throw new NoEvidence(`${base(segment.file)} holds no record`)
  }
  follows(base(keep.at(-1)!.file), previous!, await liveFirst(file, key))
  return first!
}

/** A segment's first record, its MAC checked, and its name matching it. */
async function firstOf(segment: Segment, key: Buffer): Promise<AuditRecord> {
  const line = await firstLine(segment.file)
  if (line === undefined) throw new NoEvidence(`${base(segment.file)} holds no record`)
  const first = authentic(key, line, `${base(segment.file)}:1`)
  if (first.seq !== segment.firstSeq) throw misnamed(segment, first)
  return first
}

/** A segment's last record, its MAC checked (a compressed segment is streamed to its end). */
async function lastOf(segment: Segment, key: Buffer): Promise<AuditRecord> {
  await firstOf(segment, key)
  const line = await lastCompleteLine(segment.file)
  return authentic(key, line ?? '', `the last record of ${base(segment.file)}`)
}

/** The live file's first record, which the last segment must lead to. */
async function liveFirst(file: string, key: Buffer): Promise<AuditRecord> {
  const line = await firstLine(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (line === undefined) throw new NoEvidence(`the live file ${base(file)} holds no record yet, so the segments cannot be shown to lead to it`)
  return authentic(key, line, `${base(file)}:1`)
}

function authentic(key: Buffer, line: string, where: string, complete = true): AuditRecord {
  const check = openRecord(key, line)
  if (!check.ok || !complete) throw new NoEvidence(`${where} is not an intact record (${check.ok ? 'incomplete' : check.why})`)
  return check.record
}

/** `next` must be the record right after `last`: the next number, chained to its MAC. */
function follows(where: string, last: AuditRecord, next: AuditRecord): void {
  if (next.seq !== last.seq + 1 || next.prev !== last.mac) {
    throw new NoEvidence(`${where}: record ${last.seq} is not followed by the record after it (record ${next.seq} comes next, ${next.prev === last.mac ? 'chained' : 'not chained'} to it)`)
  }
}

function misnamed(segment: Segment, first: AuditRecord): NoEvidence {
  return new NoEvidence(`${base(segment.file)} is named after record ${segment.firstSeq}, but starts with record ${first.seq}`)
}

const base = (file: string) => path.basename(file)
