/**
 * Reading the whole audit log in chain order once, then only what was added since: for an
 * index kept in memory (the console, `keyward ui`). Records are parsed, not verified:
 * `verifyAudit` is what checks the chain. Rotation is followed by sequence number, so a record
 * is delivered once even when the live file became a segment between two scans.
 */
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {chainFiles, firstLine} from './files.js'
import type {AuditRecord} from './record.js'

export interface ScanCursor {
  /** The last record delivered (0: none yet). */
  seq: number
  /** The file read last and where in it reading stopped (the start of a line not yet complete). */
  at?: {ino: number; offset: number}
}

const CHUNK = 1024 * 1024

/** The first sequence number a rotated segment holds, from its name; undefined for the live file. */
function firstSeqOf(file: string, live: string): number | undefined {
  if (file === live) return undefined
  return Number(path.basename(file).slice(path.basename(live).length + 1))
}

/** The first sequence number a file holds: a segment's from its name, the live file's from its first line. */
async function firstSeqIn(file: string, live: string): Promise<number | undefined> {
  const named = firstSeqOf(file, live)
  if (named !== undefined) return named
  const line = await firstLine(file).catch(() => undefined)
  const seq = line ? /^\{"seq":(\d{1,15}),/.exec(line)?.[1] : undefined
  return seq === undefined ? undefined : Number(seq)
}

/**
 * Calls `onRecord` for every record after `cursor.seq`, oldest first, and resolves with the
 * cursor to pass next time. Lines that are not records (a torn write) are skipped.
 */
export async function scanRecords(file: string, cursor: ScanCursor, onRecord: (record: AuditRecord) => void): Promise<ScanCursor> {
  const files = await chainFiles(file)
  let next: ScanCursor = {...cursor}
  for (let i = 0; i < files.length; i++) {
    // A segment whose successor starts at or before the next wanted record holds nothing new.
    const following = i + 1 < files.length ? await firstSeqIn(files[i + 1], file) : undefined
    if (following !== undefined && following <= next.seq + 1) continue
    const stat = await fs.stat(files[i]).catch(() => undefined)
    if (!stat) continue
    const start = next.at && next.at.ino === stat.ino && next.at.offset <= stat.size ? next.at.offset : 0
    const after = next.seq
    const offset = await readLines(files[i], start, (line) => {
      const record = parse(line)
      if (record && record.seq > after) {
        onRecord(record)
        next.seq = record.seq
      }
      return true
    })
    next = {seq: next.seq, at: {ino: stat.ino, offset}}
  }
  return next
}

/** One record by its sequence number (undefined when no file holds it). */
export async function recordAt(file: string, seq: number): Promise<AuditRecord | undefined> {
  const files = await chainFiles(file)
  // The last segment that starts at or before `seq`, then the files after it.
  let from = 0
  files.forEach((f, i) => {
    const first = firstSeqOf(f, file)
    if (first !== undefined && first <= seq) from = i
  })
  let found: AuditRecord | undefined
  for (const f of files.slice(from)) {
    await readLines(f, 0, (line) => {
      if (!line.startsWith(`{"seq":${seq},`)) return true
      found = parse(line)
      return found === undefined
    })
    if (found) return found
  }
  return undefined
}

/**
 * Feeds each complete line from `start` on to `onLine` (false stops), a chunk at a time, so a
 * large file neither fills memory nor holds the event loop; resolves with the offset after the
 * last complete line.
 */
async function readLines(file: string, start: number, onLine: (line: string) => boolean): Promise<number> {
  const handle = await fs.open(file, 'r').catch(() => undefined)
  if (!handle) return start
  const buf = Buffer.alloc(CHUNK)
  let offset = start
  let carry = Buffer.alloc(0)
  try {
    for (;;) {
      const {bytesRead} = await handle.read(buf, 0, CHUNK, offset + carry.length)
      if (bytesRead === 0) return offset
      const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead)
      let lineStart = 0
      for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, lineStart)) {
        const keepGoing = onLine(data.toString('utf8', lineStart, nl))
        lineStart = nl + 1
        if (!keepGoing) return offset + lineStart
      }
      offset += lineStart
      carry = Buffer.from(data.subarray(lineStart))
    }
  } finally {
    await handle.close()
  }
}

function parse(line: string): AuditRecord | undefined {
  if (!line.startsWith('{"seq":')) return undefined
  try {
    const record = JSON.parse(line) as AuditRecord
    return typeof record.event === 'string' && Number.isSafeInteger(record.seq) ? record : undefined
  } catch {
    return undefined
  }
}
