/**
 * Reading the whole audit log in chain order once, then only what was added since: for an
 * index kept in memory (the console, `keyward ui`). `auditRecords` reads the whole log each time;
 * this remembers where it stopped. Records are parsed, not verified (`verifyAudit` checks the
 * chain). Rotation is followed by sequence number, so a record is delivered once even when the
 * live file became a segment (and was compressed) between two scans.
 */
import {promises as fs} from 'node:fs'

import {listSegments, seqOf} from './files.js'
import {firstLine, linesForward} from './lines.js'
import type {AuditRecord} from './record.js'

export interface ScanCursor {
  /** The last record delivered (0: none yet). */
  seq: number
  /**
   * Where reading the live file stopped (the start of a line not yet complete), while it is the
   * same file: the same inode and the same first record (an inode number is reused once a
   * compressed segment's plain copy is removed).
   */
  live?: {ino: number; first?: number; offset: number}
}

const CHUNK = 1024 * 1024

/**
 * Calls `onRecord` for every record after `cursor.seq`, oldest first, and resolves with the
 * cursor to pass next time. Lines that are not records (a torn write) are skipped.
 */
export async function scanRecords(file: string, cursor: ScanCursor, onRecord: (record: AuditRecord) => void): Promise<ScanCursor> {
  let seq = cursor.seq
  const deliver = (line: string) => {
    const record = parse(line)
    if (record && record.seq > seq) {
      onRecord(record)
      seq = record.seq
    }
  }
  const segments = await listSegments(file)
  const liveFirst = await firstLine(file).then((l) => (l ? seqOf(l) : undefined), () => undefined)
  for (let i = 0; i < segments.length; i++) {
    // A segment whose successor starts at or before the next wanted record holds nothing new.
    const following = i + 1 < segments.length ? segments[i + 1].firstSeq : liveFirst
    if (following !== undefined && following <= seq + 1) continue
    try {
      for await (const line of linesForward(segments[i].file)) if (line.complete) deliver(line.text)
    } catch (err) {
      // Dropped by retention since it was listed: its records are gone, the rest are not.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  const live = await readLive(file, cursor.live, deliver)
  return live ? {seq, live} : {seq}
}

/** The live file's new lines, all of it read through one descriptor, so that what is compared is what is read. */
async function readLive(file: string, previous: ScanCursor['live'], onLine: (line: string) => void): Promise<ScanCursor['live']> {
  const handle = await fs.open(file, 'r').catch(() => undefined)
  if (!handle) return undefined
  try {
    const {ino, size} = await handle.stat()
    const head = Buffer.alloc(Math.min(size, 256))
    await handle.read(head, 0, head.length, 0)
    const first = seqOf(head.toString('utf8'))
    const same = previous && previous.ino === ino && previous.first === first && previous.offset <= size
    const offset = await readLines(handle, same ? previous.offset : 0, onLine)
    return {ino, first, offset}
  } finally {
    await handle.close()
  }
}

/** One record by its sequence number (undefined when no file holds it any more). */
export async function recordAt(file: string, seq: number): Promise<AuditRecord | undefined> {
  const segments = (await listSegments(file)).filter((s, i, all) => s.firstSeq <= seq && (all[i + 1]?.firstSeq ?? Infinity) > seq)
  const prefix = `{"seq":${seq},`
  for (const f of [...segments.map((s) => s.file), file]) {
    try {
      for await (const line of linesForward(f)) if (line.text.startsWith(prefix)) return parse(line.text)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }
  return undefined
}

/**
 * Feeds each complete line of an open plain file from `start` on to `onLine`, a chunk at a time, so a
 * large file neither fills memory nor holds the event loop; resolves with the offset after the
 * last complete line.
 */
async function readLines(handle: fs.FileHandle, start: number, onLine: (line: string) => void): Promise<number> {
  const buf = Buffer.alloc(CHUNK)
  let offset = start
  let carry = Buffer.alloc(0)
  for (;;) {
    const {bytesRead} = await handle.read(buf, 0, CHUNK, offset + carry.length)
    if (bytesRead === 0) return offset
    const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead)
    let lineStart = 0
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, lineStart)) {
      onLine(data.toString('utf8', lineStart, nl))
      lineStart = nl + 1
    }
    offset += lineStart
    carry = Buffer.from(data.subarray(lineStart))
  }
}

function parse(line: string): AuditRecord | undefined {
  if (seqOf(line) === undefined) return undefined
  try {
    const record = JSON.parse(line) as AuditRecord
    return typeof record.event === 'string' && Number.isSafeInteger(record.seq) ? record : undefined
  } catch {
    return undefined
  }
}
