/**
 * Reading the audit log (`keyward audit tail`, the console): records as written, across every
 * rotated segment (plain or compressed) and the live file, without checking MACs (that is
 * `verifyAudit`'s job). Lines that are not records (a torn last line) are skipped.
 *
 * - `auditRecords(file, {order, filter})`: an async iterator over the whole log, oldest first or
 *   newest first, streaming (a plain file is read from its end in chunks; a compressed segment
 *   is decompressed whole when read newest first).
 * - `lastRecords(file, filter, n)`: the newest n matching, oldest first.
 * - `followRecords(...)`: records as they are appended, following rotation.
 */
import {promises as fs, watch} from 'node:fs'
import path from 'node:path'

import {chainFiles} from './files.js'
import {isDamagedCompression, linesBackward, linesForward} from './lines.js'
import type {AuditRecord} from './record.js'

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
  const files = await chainFiles(file)
  const newestFirst = options.order === 'newest-first'
  if (newestFirst) files.reverse()
  for (const f of files) {
    const lines = newestFirst ? linesBackward(f) : linesForward(f)
    try {
      for await (const line of lines) {
        const record = line.complete && line.text ? parse(line.text) : undefined
        if (record && (!options.filter || matches(record, options.filter))) yield record
      }
    } catch (err) {
      // A segment dropped by retention since it was listed, or a damaged compressed one (verify
      // reports that): its records are not readable, the rest are.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !isDamagedCompression(err)) throw err
    }
  }
}

/** The last `limit` matching records, oldest first, reading the log from its end until there are enough. */
export async function lastRecords(file: string, filter: RecordFilter, limit: number): Promise<AuditRecord[]> {
  const out: AuditRecord[] = []
  if (limit <= 0) return out
  for await (const record of auditRecords(file, {order: 'newest-first', filter})) {
    out.push(record)
    if (out.length >= limit) break
  }
  return out.reverse()
}

/**
 * Calls `onRecord` for each record appended from now on, following rotation (the live file is
 * replaced by a new one). Stops when `signal` aborts.
 */
export async function followRecords(file: string, filter: RecordFilter, onRecord: (record: AuditRecord) => void, signal: AbortSignal): Promise<void> {
  let offset = await fs.stat(file).then((s) => s.size, () => 0)
  let ino = await fs.stat(file).then((s) => s.ino, () => 0)
  let partial = ''
  const readMore = async () => {
    const stat = await fs.stat(file).catch(() => undefined)
    if (!stat) return
    if (stat.ino !== ino || stat.size < offset) {
      ino = stat.ino
      offset = 0
      partial = ''
    }
    if (stat.size === offset) return
    const handle = await fs.open(file, 'r')
    try {
      const buf = Buffer.alloc(stat.size - offset)
      await handle.read(buf, 0, buf.length, offset)
      offset = stat.size
      const text = partial + buf.toString('utf8')
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const record = parse(line)
        if (record && matches(record, filter)) onRecord(record)
      }
    } finally {
      await handle.close()
    }
  }
  let busy = Promise.resolve()
  const poke = () => (busy = busy.then(readMore).catch(() => {}))
  const watcher = watch(path.dirname(file), () => poke())
  // Some file systems send no events: poll too, slowly.
  const timer = setInterval(poke, 1000)
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    signal.addEventListener('abort', () => resolve(), {once: true})
  })
  clearInterval(timer)
  watcher.close()
  await busy
}
