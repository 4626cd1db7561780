/**
 * Reading the audit log (`keyward audit tail`, the console): records as written, across every
 * rotated segment (plain or compressed) and the live file, without checking MACs (that is
 * `verifyAudit`'s job). Lines that are not records (a torn last line) are skipped.
 *
 * - `auditRecords(file, {order, filter})`: an async iterator over the whole log, oldest first or
 *   newest first, streaming (a plain file is read from its end in chunks; a compressed segment
 *   is decompressed whole when read newest first).
 * - `lastRecords(file, filter, n)`: the newest n matching, oldest first.
 * - `tailRecords(file, filter, n)` and `followRecords(file, filter, onRecord, signal, after)`:
 *   `audit tail --follow`. Following goes by sequence number, not by file: whatever rotation
 *   does (one or many segments rotated out, compressed meanwhile), every record after the last one
 *   seen is read, in order, from the segments it went to, and the first call gives the number the
 *   second goes on from, so nothing written between the two is lost either.
 *
 * Every read works on a snapshot of the files (`openChain`), so rotation never makes it skip or
 * repeat a file.
 */
import {promises as fs, watch} from 'node:fs'
import path from 'node:path'

import {bytesOf, isDamagedCompression, linesBackward, linesForward, type OpenedFile} from './lines.js'
import type {AuditRecord} from './record.js'
import {openChain} from './snapshot.js'

export interface RecordFilter {
  /** A key id or name, a token subject, or a principal id. */
  key?: string
  /** An event type (`auth.failure`), or a group of them (`auth`). */
  event?: string
  /** Only records written at or after this time (ms since the epoch). */
  since?: number
}

export function matches(record: AuditRecord, filter: RecordFilter): boolean {
  if (filter.key && record.key !== filter.key && record.name !== filter.key && record.principal !== filter.key) return false
  if (filter.event && record.event !== filter.event && !record.event.startsWith(`${filter.event}.`)) return false
  if (filter.since !== undefined && Date.parse(record.ts) < filter.since) return false
  return true
}

function parse(line: string): AuditRecord | undefined {
  try {
    const record = JSON.parse(line) as AuditRecord
    return typeof record === 'object' && record !== null && typeof record.event === 'string' ? record : undefined
  } catch {
    return undefined
  }
}

export interface ReadOptions {
  /** `oldest-first` (the default) or `newest-first`. */
  order?: 'oldest-first' | 'newest-first'
  filter?: RecordFilter
}

/** Every record of the log, across its segments and the live file, in the order asked. */
export async function* auditRecords(file: string, options: ReadOptions = {}): AsyncGenerator<AuditRecord> {
  const snapshot = await openChain(file)
  try {
    yield* recordsOf(snapshot.files, options)
  } finally {
    await snapshot.close()
  }
}

async function* recordsOf(opened: OpenedFile[], options: ReadOptions): AsyncGenerator<AuditRecord> {
  const newestFirst = options.order === 'newest-first'
  const files = newestFirst ? [...opened].reverse() : opened
  for (const f of files) {
    const lines = newestFirst ? linesBackward(f) : linesForward(f)
    try {
      for await (const line of lines) {
        const record = line.complete && line.text ? parse(line.text) : undefined
        if (record && (!options.filter || matches(record, options.filter))) yield record
      }
    } catch (err) {
      // A damaged compressed segment (verify reports it): its records are not readable, the rest are.
      if (!isDamagedCompression(err)) throw err
    }
  }
}

/** The last `limit` matching records, oldest first, reading the log from its end until there are enough. */
export async function lastRecords(file: string, filter: RecordFilter, limit: number): Promise<AuditRecord[]> {
  return (await tailRecords(file, filter, limit)).records
}

/**
 * The last `limit` matching records, oldest first, and the sequence number of the log's last record
 * (matching or not; 0 for an empty log), from one snapshot: following on from that number loses
 * nothing written after the records were read.
 */
export async function tailRecords(file: string, filter: RecordFilter, limit: number): Promise<{records: AuditRecord[]; after: number}> {
  const snapshot = await openChain(file)
  const out: AuditRecord[] = []
  let after: number | undefined
  try {
    for await (const record of recordsOf(snapshot.files, {order: 'newest-first'})) {
      after ??= seqOf(record)
      if (out.length >= limit) break
      if (matches(record, filter)) out.push(record)
    }
  } finally {
    await snapshot.close()
  }
  return {records: out.reverse(), after: after ?? 0}
}

const seqOf = (record: AuditRecord) => (Number.isSafeInteger(record.seq) ? record.seq : 0)

/**
 * Calls `onRecord` for each matching record after record `after`, as they are appended, until
 * `signal` aborts. The live file is read through its handle; once its name points elsewhere (it
 * was rotated out), the records after the last one seen are read from the files they went to,
 * rotated segments (compressed or not) first, in order. A log that starts again lower than where
 * it was (deleted and begun anew) is followed from its start.
 */
export async function followRecords(file: string, filter: RecordFilter, onRecord: (record: AuditRecord) => void, signal: AbortSignal, after?: number): Promise<void> {
  const follower = new Follower(file, filter, onRecord, after ?? (await tailRecords(file, {}, 0)).after)
  let busy = Promise.resolve()
  const poke = () => (busy = busy.then(() => follower.poll()).catch(() => {}))
  let watcher: ReturnType<typeof watch> | undefined
  try {
    watcher = watch(path.dirname(file), () => poke())
  } catch {
    // No directory yet (or no events here): the timer below still polls.
  }
  // Some file systems send no events: poll too, slowly.
  const timer = setInterval(poke, 1000)
  poke()
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    signal.addEventListener('abort', () => resolve(), {once: true})
  })
  clearInterval(timer)
  watcher?.close()
  await busy
  await follower.close()
}

class Follower {
  /** The live file being read, and how far (to the end of its last complete line). */
  private live?: {opened: OpenedFile; offset: number}

  constructor(
    private readonly file: string,
    private readonly filter: RecordFilter,
    private readonly onRecord: (record: AuditRecord) => void,
    private last: number,
  ) {}

  async poll(): Promise<void> {
    if (this.live) {
      await this.readLive()
      const now = await fs.stat(this.file).catch(() => undefined)
      if (now && now.ino === this.live.opened.ino && now.dev === this.live.opened.dev) return
    }
    await this.catchUp()
  }

  async close(): Promise<void> {
    await this.live?.opened.handle.close().catch(() => {})
    this.live = undefined
  }

  /** What was appended to the live file since the last read. */
  private async readLive(): Promise<void> {
    const live = this.live!
    const {size} = await live.opened.handle.stat()
    if (size <= live.offset) return
    const chunks: Buffer[] = []
    for await (const chunk of bytesOf(live.opened, live.offset, size)) chunks.push(chunk)
    const text = Buffer.concat(chunks)
    const end = text.lastIndexOf(0x0a) + 1
    live.offset += end
    for (const line of text.subarray(0, end).toString('utf8').split('\n')) this.take(line)
  }

  /**
   * The live file is not the one being read any more (rotated out, or gone): reads every record
   * after the last one seen from a snapshot of the log, the rotated segments first, and goes on
   * with the snapshot's live file.
   */
  private async catchUp(): Promise<void> {
    await this.close()
    const snapshot = await openChain(this.file)
    try {
      if ((await lastSeqOf(snapshot.files)) < this.last) this.last = 0 // begun anew: follow it from its start
      for (const [i, f] of snapshot.files.entries()) {
        if (f === snapshot.live) break
        // A segment whose successor starts at or before the next number holds nothing new.
        const next = snapshot.files[i + 1]
        if (next && next !== snapshot.live && firstSeqOf(next) <= this.last + 1) continue
        await this.readWhole(f)
      }
      const live = snapshot.keepLive()
      if (live) {
        this.live = {opened: live, offset: 0}
        await this.readLive()
      }
    } finally {
      await snapshot.close()
    }
  }

  private async readWhole(f: OpenedFile): Promise<void> {
    try {
      for await (const line of linesForward(f)) if (line.complete) this.take(line.text)
    } catch (err) {
      if (!isDamagedCompression(err)) throw err
    }
  }

  private take(line: string): void {
    const record = line ? parse(line) : undefined
    if (!record || seqOf(record) <= this.last) return
    this.last = seqOf(record)
    if (matches(record, this.filter)) this.onRecord(record)
  }
}

/** A rotated segment's first sequence number, from its name. */
function firstSeqOf(f: OpenedFile): number {
  const m = /\.(\d{12})(\.gz)?$/.exec(f.file)
  return m ? Number(m[1]) : 0
}

/** The last sequence number in the files (0 when they hold none), read from the end. */
async function lastSeqOf(files: OpenedFile[]): Promise<number> {
  for await (const record of recordsOf(files, {order: 'newest-first'})) return seqOf(record)
  return 0
}
