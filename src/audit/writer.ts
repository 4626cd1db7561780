/**
 * Appending to the audit log. Records are queued and written in batches: one lock, one append
 * and one head update for every record that arrived while the previous batch was being written,
 * so throughput holds under load. The lock is the same cross-process lock the vault uses, so a
 * server and the CLI can share one log and still make one chain.
 *
 * A batch that cannot be written stays queued (up to MAX_QUEUED records) and is retried; the
 * promise of each of its records rejects, so a fail-closed caller can refuse its request.
 */
import {constants, promises as fs} from 'node:fs'

import {acquireWriteLock, replaceOtherFile} from '../vault/index.js'
import {chainFiles, firstLine, headPath, lastLine, segmentPath} from './files.js'
import {GENESIS, peekHead, sealHead, sealRecord, type AuditEvent, type ChainHead} from './record.js'

export interface AuditLogOptions {
  file: string
  key: Buffer
  /** Past this size the live file is rotated out before the next batch. */
  maxSize: number
  /** Told when writing starts failing, and when it works again. */
  onHealth?: (healthy: boolean, why?: string) => void
  /**
   * The least time between two batches (default 0). Each batch costs a lock, an append and a
   * head update whatever its size, so a server under load waits a few milliseconds and writes
   * more records at once.
   */
  batchMs?: () => number
}

interface Pending {
  event: AuditEvent
  ts: Date
  resolve(): void
  reject(err: Error): void
}

/** Records kept while the log cannot be written; past this, new ones are counted and dropped. */
const MAX_QUEUED = 10_000
/** While failing, a new attempt is made at most this often. */
const RETRY_MS = 250

export class AuditWriteError extends Error {
  constructor(readonly why: string) {
    super(`the audit log cannot be written (${why})`)
    this.name = 'AuditWriteError'
  }
}

export class AuditLog {
  private queue: Pending[] = []
  private flushing?: Promise<void>
  private scheduled = false
  private retryTimer?: NodeJS.Timeout
  /** The chain's end as this process last wrote it: a head file moved back does not move us back. */
  private last?: ChainHead
  private failedAt = 0
  private dropped = 0
  healthy = true

  constructor(private readonly options: AuditLogOptions) {}

  get file(): string {
    return this.options.file
  }

  /** Queues a record; the promise settles when its batch is written (or fails). */
  record(event: AuditEvent): Promise<void> {
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped++
      return Promise.reject(new AuditWriteError('too many records are waiting'))
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({event, ts: new Date(), resolve, reject})
      this.schedule()
    })
  }

  /** True when the log can be written: while failing, tries again (at most every 250 ms). */
  async ready(): Promise<boolean> {
    if (this.healthy) return true
    if (Date.now() - this.failedAt >= RETRY_MS) await this.flush(true)
    return this.healthy
  }

  /** Writes what is queued; resolves when done, whatever the outcome. */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer)
    await this.flush(false, true)
  }

  private schedule(): void {
    if (this.scheduled) return
    if (!this.healthy) {
      // Failing: retry on a timer, not once per record.
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined
        void this.flush()
      }, RETRY_MS)
      this.retryTimer.unref()
      return
    }
    this.scheduled = true
    const wait = this.lastBatchAt + (this.options.batchMs?.() ?? 0) - Date.now()
    const run = () => {
      this.scheduled = false
      void this.flush()
    }
    // Not unref'd: a queued record keeps the process alive until it is written (at most batchMs).
    // An unref'd timer let Node exit mid-shutdown with records still queued (exit code 13 when a
    // top-level await was waiting on them).
    if (wait > 0) setTimeout(run, wait)
    else setImmediate(run)
  }

  private lastBatchAt = 0

  /** Writes one batch (with `all`, until nothing is queued); a probe writes even an empty one. */
  private flush(probe = false, all = false): Promise<void> {
    if (this.flushing) return all ? this.flushing.then(() => this.flush(false, true)) : this.flushing
    this.flushing = (async () => {
      let first = true
      while ((first || all) && (this.queue.length > 0 || probe)) {
        first = false
        probe = false
        this.lastBatchAt = Date.now()
        const batch = this.queue.splice(0, this.queue.length)
        if (this.dropped > 0 && batch.length < MAX_QUEUED) {
          batch.unshift({event: {event: 'audit.dropped', count: this.dropped}, ts: new Date(), resolve() {}, reject() {}})
          this.dropped = 0
        }
        try {
          await this.write(batch)
        } catch (err) {
          this.queue.unshift(...batch.filter((p) => p.event.event !== 'audit.recovered'))
          this.failed(err)
          for (const p of batch) p.reject(new AuditWriteError(describe(err)))
          this.schedule()
          return
        }
        if (!this.healthy) {
          this.healthy = true
          this.options.onHealth?.(true)
        }
        for (const p of batch) p.resolve()
      }
    })().finally(() => {
      this.flushing = undefined
      if (this.queue.length > 0 && this.healthy) this.schedule()
    })
    return this.flushing
  }

  private failed(err: unknown): void {
    this.failedAt = Date.now()
    if (this.healthy) {
      this.healthy = false
      this.options.onHealth?.(false, describe(err))
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    const {file, key} = this.options
    // The lock makes the directory (0700) and checks who can write to it.
    const lock = await acquireWriteLock(file, 'audit log')
    try {
      let head = await this.chainHead(batch)
      const lines: string[] = []
      for (const p of batch) {
        const sealed = sealRecord(key, head, p.event, p.ts)
        lines.push(sealed.line)
        head = sealed.head
      }
      if (lines.length > 0) {
        const text = Buffer.from(`${lines.join('\n')}\n`, 'utf8')
        await this.rotateIfFull(text.length)
        await appendPrivate(file, text)
      }
      lock.assertHeld()
      await replaceOtherFile(headPath(file), Buffer.from(sealHead(key, head)), 'audit head')
      this.last = head
    } finally {
      await lock.release()
    }
  }

  /**
   * Where to chain on: the head file (another process may have written since), unless it is
   * behind what this process wrote. Without a head file, the last record found; that fact is
   * itself recorded, since a cut-off tail can then no longer be ruled out.
   */
  private async chainHead(batch: Pending[]): Promise<ChainHead> {
    const {file} = this.options
    const text = await fs.readFile(headPath(file), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    })
    const fromFile = text === undefined ? undefined : peekHead(text)
    if (fromFile) return this.last && fromFile.seq < this.last.seq ? this.last : fromFile
    if (this.last) return this.last
    const files = await chainFiles(file)
    if (files.length === 0) return {seq: 0, mac: GENESIS}
    const line = await lastLine(files.at(-1)!)
    const found = line ? lastRecordHead(line) : undefined
    batch.unshift({
      event: {event: 'audit.recovered', why: text === undefined ? 'the head file was missing' : 'the head file was unreadable'},
      ts: new Date(),
      resolve() {},
      reject() {},
    })
    return found ?? {seq: 0, mac: GENESIS}
  }

  private async rotateIfFull(adding: number): Promise<void> {
    const {file, maxSize} = this.options
    const size = await fs
      .lstat(file)
      .then((s) => s.size)
      .catch(() => 0)
    if (size === 0 || size + adding <= maxSize) return
    const first = await firstLine(file)
    const seq = first ? /^\{"seq":(\d{1,15}),/.exec(first)?.[1] : undefined
    if (!seq) return
    // A link, then an unlink: an existing segment is never replaced.
    await fs.link(file, segmentPath(file, Number(seq)))
    await fs.unlink(file)
  }
}

function lastRecordHead(line: string): ChainHead | undefined {
  const seq = /^\{"seq":(\d{1,15}),/.exec(line)?.[1]
  const mac = /,"mac":"([0-9a-f]{64})"\}$/.exec(line)?.[1]
  return seq && mac ? {seq: Number(seq), mac} : undefined
}

/** Appends to the log: created 0600, never through a symbolic link. */
async function appendPrivate(file: string, data: Buffer): Promise<void> {
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
  try {
    const {mode} = await handle.stat()
    if ((mode & 0o077) !== 0) await handle.chmod(0o600)
    // writeFile loops until every byte is written (a single write may be short); O_APPEND keeps it at the end.
    await handle.writeFile(data)
  } finally {
    await handle.close()
  }
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  return e?.code ?? e?.message ?? String(err)
}
