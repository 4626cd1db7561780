/**
 * Appending to the audit log. Records are queued and written in batches: one lock, one append
 * and one head update for every record that arrived while the previous batch was being written,
 * so throughput holds under load. The lock is the same cross-process lock the vault uses, so a
 * server and the CLI can share one log and still make one chain.
 *
 * What is in the log decides where the chain goes on, never the head file alone: a writer killed
 * between its append and its head update leaves a head that lags, and chaining on it would reuse
 * sequence numbers. So a writer that did not write the live file's last bytes itself reads the
 * file's last record, and goes on from the furthest of that, the head file and its own last record
 * (anything further than the log names records that were cut off: the gap stays visible).
 *
 * A batch is appended whole or not at all: a failed append (a full disk) is cut back to where it
 * started. A batch that cannot be written stays queued (up to MAX_QUEUED records) and is retried,
 * and a retry first looks for its own records at the log's end, so none is ever written twice.
 * The promise of each record of a failed batch rejects, so a fail-closed caller can refuse.
 *
 * The order of a batch's writes is what keeps a crash or a power cut from looking like tampering:
 * a log without a head file gets one (at the chain's current end) before anything is appended,
 * unless a notice in the batch reports that head as missing (the notice must survive a failed append);
 * the append is synced before the head that names it is written; the started-marker is made only
 * once a record is on disk.
 */
import {constants, promises as fs, type Stats} from 'node:fs'
import path from 'node:path'
import {performance} from 'node:perf_hooks'

import {acquireWriteLock, fsyncDir, replaceOtherFile} from '../vault/index.js'
import {checkpointPath, headPath, listSegments, markStarted, segmentPath, seqOf, wasStarted} from './files.js'
import {firstLine, lastCompleteLine} from './lines.js'
import {applyRetention, compressSegments} from './maintenance.js'
import {GENESIS, openCheckpoint, openHead, peekHead, peekRecord, sealHead, sealRecord, type AuditEvent, type ChainHead} from './record.js'
import type {Retention} from './retention.js'

export interface AuditLogOptions {
  file: string
  key: Buffer
  /** Past this size the live file is rotated out before the next batch. */
  maxSize: number
  /** `audit.keep`: rotated segments past it are dropped, after a checkpoint. Unset keeps all. */
  keep?: Retention
  /** Told when writing starts failing, and when it works again. */
  onHealth?: (healthy: boolean, why?: string) => void
  /** Told of trouble that does not stop records being written (the head file, compression, retention). */
  onWarning?: (message: string) => void
  /**
   * The least time between two batches (default 0). Each batch costs a lock, an append and a
   * head update whatever its size, so a server under load waits a few milliseconds and writes
   * more records at once.
   */
  batchMs?: () => number
  /** Where the state directory is (the marker that says this log was started): the process's by default. */
  env?: NodeJS.ProcessEnv
}

interface Pending {
  event: AuditEvent
  ts: Date
  resolve(): void
  reject(err: Error): void
  /** Its place in the chain when last sealed: a retry finds whether it landed after all. */
  sealed?: ChainHead
  /** Found in the log by a retry: written, not to be written again. */
  landed?: boolean
  /** Made by the writer about the log itself; made again if still true, so never retried. */
  internal?: boolean
}

/**
 * The live file as this process left it: while it is still so, nobody else has written. Its
 * change time is part of it: a file another writer appended to and someone then cut back to this
 * size has this writer's inode and size again, but never its ctime (which no user can set).
 */
interface LiveFile {
  dev: number
  ino: number
  size: number
  ctimeMs: number
}

/** Records kept while the log cannot be written; past this, new ones are counted and dropped. */
const MAX_QUEUED = 10_000
/** While failing, a new attempt is made at most this often. */
const RETRY_MS = 250
/** How long close() lets compression and retention finish before abandoning them. */
const CLOSE_MAINTENANCE_MS = 1000

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
  /** The chain's end as this process last wrote it: a head file or a log moved back does not move us back. */
  private last?: ChainHead
  private live?: LiveFile
  /** Times on the monotonic clock (performance.now()): a wall clock stepped back (NTP) must not hold batches back. */
  private failedAt = 0
  private dropped = 0
  private lastBatchAt = 0
  /** The head file could not be written with the last batch; it is written again with the next. */
  private headBehind = false
  /** No head file was found: one is written at the chain's end before anything is appended. */
  private headMissing = false
  /** The started-marker is known to exist (it is made after the first record is on disk). */
  private marked = false
  private maintenance?: Promise<void>
  private maintainAgain = false
  private maintenanceAbort?: AbortController
  private maintainedOnce = false
  /** The live file as last appended to, held open (pinLive). */
  private pinned?: {handle: fs.FileHandle; ino: number; dev: number}
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
    if (performance.now() - this.failedAt >= RETRY_MS) await this.flush(true)
    return this.healthy
  }

  /**
   * Writes what is queued; resolves when done, whatever the outcome. Compression still under way
   * after a second is abandoned, so that a shutdown stays quick (the next writer redoes it).
   */
  async close(): Promise<void> {
    clearTimeout(this.retryTimer)
    await this.flush(false, true)
    await this.pinned?.handle.close().catch(() => {})
    this.pinned = undefined
    // Unpinned, the live file is no longer known to be this writer's: a record after close reads it again.
    this.live = undefined
    if (!this.maintenance) return
    const timer = setTimeout(() => this.maintenanceAbort?.abort(), CLOSE_MAINTENANCE_MS)
    await this.maintenance
    clearTimeout(timer)
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
    const wait = this.lastBatchAt + (this.options.batchMs?.() ?? 0) - performance.now()
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

  /** Writes one batch (with `all`, until nothing is queued); a probe writes even an empty one. */
  private flush(probe = false, all = false): Promise<void> {
    if (this.flushing) return all ? this.flushing.then(() => this.flush(false, true)) : this.flushing
    this.flushing = (async () => {
      let first = true
      while ((first || all) && (this.queue.length > 0 || probe)) {
        first = false
        probe = false
        this.lastBatchAt = performance.now()
        const batch = this.queue.splice(0, this.queue.length)
        if (this.dropped > 0 && batch.length < MAX_QUEUED) {
          batch.unshift({event: {event: 'audit.dropped', count: this.dropped}, ts: new Date(), resolve() {}, reject() {}})
          this.dropped = 0
        }
        let rotated: boolean
        try {
          rotated = await this.write(batch)
        } catch (err) {
          // What is on disk is read again before the next attempt.
          this.live = undefined
          const retry = batch.filter((p) => !p.internal && !p.landed)
          this.queue.unshift(...retry)
          this.failed(err)
          for (const p of retry) p.reject(new AuditWriteError(describe(err)))
          this.schedule()
          return
        }
        if (!this.healthy) {
          this.healthy = true
          this.options.onHealth?.(true)
        }
        for (const p of batch) p.resolve()
        if (rotated || !this.maintainedOnce) this.maintain()
      }
    })().finally(() => {
      this.flushing = undefined
      if (this.queue.length > 0 && this.healthy) this.schedule()
    })
    return this.flushing
  }

  private failed(err: unknown): void {
    this.failedAt = performance.now()
    if (this.healthy) {
      this.healthy = false
      this.options.onHealth?.(false, describe(err))
    }
  }

  /** One batch under the lock; true when the live file was rotated out first. */
  private async write(batch: Pending[]): Promise<boolean> {
    const {file, key} = this.options
    // The lock makes the directory (0700) and checks who can write to it.
    const lock = await acquireWriteLock(file, 'audit log')
    try {
      const start = await this.chainEnd(batch)
      let head = start
      const lines: string[] = []
      for (const p of batch) {
        if (p.landed) continue
        const sealed = sealRecord(key, head, p.event, p.ts)
        p.sealed = sealed.head
        lines.push(sealed.line)
        head = sealed.head
      }
      let rotated = false
      if (lines.length > 0) {
        const text = Buffer.from(`${lines.join('\n')}\n`, 'utf8')
        rotated = await this.rotateIfFull(text.length)
        lock.assertHeld()
        // A head before the first record: the log never has records without one, even if the head
        // write after the append fails (a full disk) or the process is killed in between. If this
        // one fails, nothing is appended.
        if (this.headMissing) await replaceOtherFile(headPath(file), Buffer.from(sealHead(key, start)), 'audit head')
        this.headMissing = false
        this.live = await appendWhole(file, text)
        await this.pinLive()
        await this.markStarted()
      }
      this.last = head
      await this.writeHead(head)
      return rotated
    } finally {
      await lock.release()
    }
  }

  /**
   * Holds the live file open, read-only, until it is another: its inode then cannot be freed and
   * given to a new file. Without this, a file another writer rotated out and compressed could be
   * followed by a new live file with the same inode number and, once as long, the same size: this
   * writer took it for its own and forked the chain (a false "reordered", and rotation stuck).
   * Called under the lock, which every rotation takes: the live file is still the one appended to.
   */
  private async pinLive(): Promise<void> {
    const live = this.live!
    if (this.pinned && this.pinned.ino === live.ino && this.pinned.dev === live.dev) return
    try {
      const handle = await fs.open(this.options.file, constants.O_RDONLY | constants.O_NOFOLLOW)
      await this.pinned?.handle.close().catch(() => {})
      this.pinned = {handle, ino: live.ino, dev: live.dev}
    } catch {
      // Not pinned (out of descriptors): the batch is written all the same; the next one reads the file again.
      this.live = undefined
    }
  }

  /** The head file is the tail's witness, not where records go: failing to write it loses no record. */
  private async writeHead(head: ChainHead): Promise<void> {
    const {file, key} = this.options
    try {
      await replaceOtherFile(headPath(file), Buffer.from(sealHead(key, head)), 'audit head')
      this.headBehind = false
    } catch (err) {
      if (!this.headBehind) this.options.onWarning?.(`the audit head file ${headPath(file)} cannot be written (${describe(err)}); records are still written, and the head is written again with the next batch`)
      this.headBehind = true
      const retry = setTimeout(() => void this.flush(true), RETRY_MS)
      retry.unref()
    }
  }

  /**
   * Where the chain goes on. While the live file is as this process left it, from its own last
   * record. Otherwise from the furthest of: the log's last record (cutting off a torn last line
   * first), the head file, the checkpoint, and its own last record. Records of `batch` that an
   * earlier, failed attempt did write are marked landed.
   */
  private async chainEnd(batch: Pending[]): Promise<ChainHead> {
    const {file} = this.options
    const stat = await lstatOrNone(file)
    if (this.last && this.live && stat && sameLive(stat, this.live)) return this.last
    this.live = undefined
    const fromLog = await this.logEnd(batch, stat)
    if (fromLog) markLanded(batch, fromLog)
    const headText = await readOrNone(headPath(file))
    this.headMissing = headText === undefined
    // Opened with the key, not just read: a head forged without it (naming record 0, say, after
    // the log's tail was cut) would otherwise be overwritten with a good one, and the cut never seen.
    const fromHead = headText === undefined ? undefined : openHead(this.options.key, headText)
    const checkpointText = await readOrNone(checkpointPath(file))
    const fromCheckpoint = checkpointText === undefined ? undefined : openCheckpoint(this.options.key, checkpointText)
    // A head that went bad while this writer was away (deleted, garbled, forged: no writer does
    // that) is reported whenever it is found, not only at the first batch: a long-running writer
    // chaining on from its own last record would otherwise launder a tail cut under it.
    const trouble = this.last && fromLog !== undefined ? headTrouble(headText, fromHead) : undefined
    if (trouble) {
      batch.unshift(internal(trouble))
      this.headMissing = false
    }
    if (!this.last) {
      const started = fromCheckpoint !== undefined || (await wasStarted(file, this.options.env))
      const why = noticeFor(fromLog !== undefined, headText, fromHead, started)
      if (why) batch.unshift(internal(why))
      // The head written before the append would erase what the notice reports: were the append
      // then to fail (a full disk) or the process be killed, the next attempt would find a head
      // and no reason to say anything. With the notice in the chain, records before a head are no false alarm.
      if (why) this.headMissing = false
    }
    let end: ChainHead = {seq: 0, mac: GENESIS}
    for (const candidate of [fromLog, fromHead, fromCheckpoint, this.last]) if (candidate && candidate.seq > end.seq) end = candidate
    return end
  }

  /**
   * The marker that says this log was started (so that deleting all of it is seen), made once a
   * record is on disk, never before: a first write that fails (a full disk) leaves no marker, so
   * no alarm about a log that never held a record. Not made yet (the disk is full there too):
   * tried again after the next append.
   */
  private async markStarted(): Promise<void> {
    if (!this.marked) this.marked = await markStarted(this.options.file, this.options.env)
  }

  /**
   * The last record in the log: in the live file, or, when there is none (a rotation stopped
   * between moving the file and the next append), in the newest segment. A live file that is
   * still linked as the newest segment (a rotation stopped between link and unlink) is unlinked
   * now, finishing it. A torn last line is cut off, and a record says so.
   */
  private async logEnd(batch: Pending[], stat: Stats | undefined): Promise<ChainHead | undefined> {
    const {file} = this.options
    const segments = await listSegments(file)
    const newest = segments.at(-1)
    if (stat && newest && !newest.compressed) {
      const seg = await lstatOrNone(newest.file)
      if (seg && seg.ino === stat.ino && seg.dev === stat.dev) {
        await fs.unlink(file)
        stat = undefined
      }
    }
    if (stat && stat.size > 0) {
      const cut = await cutTornTail(file, stat.size)
      if (cut > 0) batch.unshift(internal({event: 'audit.repaired', why: 'the log ended in an incomplete record (a writer stopped mid-write); it was cut off', dropped_bytes: cut}))
      const line = await lastCompleteLine(file)
      if (line !== undefined) return peekRecord(line)
    }
    const line = newest ? await lastCompleteLine(newest.file).catch(() => undefined) : undefined
    return line === undefined ? undefined : peekRecord(line)
  }

  private async rotateIfFull(adding: number): Promise<boolean> {
    const {file, maxSize} = this.options
    // Known without a look while the live file is as this process left it.
    const size = this.live ? this.live.size : ((await lstatOrNone(file))?.size ?? 0)
    if (size === 0 || size + adding <= maxSize) return false
    const seq = seqOf((await firstLine(file)) ?? '')
    if (seq === undefined) {
      this.options.onWarning?.(`the audit log ${file} does not start with a record, so it is not rotated (see keyward audit verify)`)
      return false
    }
    const target = segmentPath(file, seq)
    if (await lstatOrNone(`${target}.gz`)) {
      this.options.onWarning?.(`the audit log ${file} is not rotated: a segment for record ${seq} exists already (see keyward audit verify)`)
      return false
    }
    // A link, then an unlink: an existing segment is never replaced. A link left by a rotation
    // that stopped halfway is the same file, and the rotation is finished.
    try {
      await fs.link(file, target)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const [a, b] = await Promise.all([lstatOrNone(file), lstatOrNone(target)])
      if (!a || !b || a.ino !== b.ino || a.dev !== b.dev) {
        this.options.onWarning?.(`the audit log ${file} is not rotated: ${target} exists already and is another file (see keyward audit verify)`)
        return false
      }
    }
    await fs.unlink(file)
    return true
  }

  /** Compresses rotated segments and applies `audit.keep`, in the background: never on a request's path. */
  private maintain(): void {
    this.maintainedOnce = true
    if (this.maintenance) {
      this.maintainAgain = true
      return
    }
    const {file, key, keep} = this.options
    const abort = (this.maintenanceAbort = new AbortController())
    this.maintenance = (async () => {
      do {
        this.maintainAgain = false
        await compressSegments(file, abort.signal)
        if (keep && !abort.signal.aborted) await applyRetention(file, key, keep, Date.now(), abort.signal)
      } while (this.maintainAgain && !abort.signal.aborted)
    })()
      .catch((err) => this.options.onWarning?.(`audit log ${file}: rotated segments could not be compressed or dropped (${describe(err)})`))
      .finally(() => {
        this.maintenance = undefined
      })
  }
}

/** What the chain's start says about the log when this process first writes it, if anything. */
function noticeFor(hasRecords: boolean, headText: string | undefined, fromHead: ChainHead | undefined, started: boolean): AuditEvent | undefined {
  if (hasRecords) {
    const trouble = headTrouble(headText, fromHead)
    if (trouble) return trouble
  }
  // Nothing in the log, but it was started before: the whole log went. A head that names no record
  // (gone, unreadable, or at record 0 as a writer leaves it before an append that then failed)
  // says nothing against that: without this, the next chain would look like a fresh log.
  if (!hasRecords && started && !(fromHead && fromHead.seq > 0)) return {event: 'audit.recovered', why: 'the log was missing', lost: 'log'}
  return undefined
}

/** What is wrong with the head of a log that has records, if anything: missing, unreadable, or edited (its MAC fails). */
function headTrouble(headText: string | undefined, fromHead: ChainHead | undefined): AuditEvent | undefined {
  if (headText === undefined) return {event: 'audit.recovered', why: 'the head file was missing'}
  if (fromHead) return undefined
  return {event: 'audit.recovered', why: peekHead(headText) ? 'the head file was edited (its MAC does not match)' : 'the head file was unreadable'}
}

function internal(event: AuditEvent): Pending {
  return {event, ts: new Date(), resolve() {}, reject() {}, internal: true}
}

/** Marks the records of a failed attempt that are in the log after all: those up to the log's end. */
function markLanded(batch: Pending[], end: ChainHead): void {
  const at = batch.findIndex((p) => p.sealed && p.sealed.seq === end.seq && p.sealed.mac === end.mac)
  for (let i = 0; i <= at; i++) if (batch[i].sealed) batch[i].landed = true
}

function sameLive(stat: Stats, live: LiveFile): boolean {
  return stat.ino === live.ino && stat.dev === live.dev && stat.size === live.size && stat.ctimeMs === live.ctimeMs
}

/** Cuts the file back to its last newline; returns how many bytes went. Called under the lock. */
async function cutTornTail(file: string, size: number): Promise<number> {
  const handle = await fs.open(file, constants.O_RDWR | constants.O_NOFOLLOW)
  try {
    const probe = Buffer.alloc(1)
    await handle.read(probe, 0, 1, size - 1)
    if (probe[0] === 0x0a) return 0
    // Back to the last newline, in chunks.
    let end = size
    while (end > 0) {
      const start = Math.max(0, end - 64 * 1024)
      const buf = Buffer.alloc(end - start)
      await handle.read(buf, 0, buf.length, start)
      const nl = buf.lastIndexOf(0x0a)
      if (nl !== -1) {
        await handle.truncate(start + nl + 1)
        return size - (start + nl + 1)
      }
      end = start
    }
    await handle.truncate(0)
    return size
  } finally {
    await handle.close()
  }
}

/**
 * Appends to the log, all of `data` or none of it: created 0600, never through a symbolic link.
 * A write that fails part-way (a full disk) is cut back, so a retry cannot leave a record twice.
 *
 * Synced before it returns (and, for a file just started, its directory entry too), because the
 * head file written next is synced: a power cut must never leave a head that names records the
 * log lost with the page cache, which `verify` would rightly call a cut-off tail.
 */
async function appendWhole(file: string, data: Buffer): Promise<LiveFile> {
  const handle = await fs.open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600)
  try {
    const stat = await handle.stat()
    if ((stat.mode & 0o077) !== 0) await handle.chmod(0o600)
    try {
      // writeFile loops until every byte is written (a single write may be short); O_APPEND keeps it at the end.
      await handle.writeFile(data)
      await handle.datasync()
    } catch (err) {
      await handle.truncate(stat.size).catch(() => {})
      throw err
    }
    if (stat.size === 0) await fsyncDir(path.dirname(file))
    const after = await handle.stat()
    return {dev: after.dev, ino: after.ino, size: after.size, ctimeMs: after.ctimeMs}
  } finally {
    await handle.close()
  }
}

async function lstatOrNone(file: string): Promise<Stats | undefined> {
  return fs.lstat(file).catch(() => undefined)
}

async function readOrNone(file: string): Promise<string | undefined> {
  return fs.readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
}

/** The system's reason (ENOSPC, EACCES…), also when a file helper wrapped it in a KeywardError. */
function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  const cause = e?.cause as NodeJS.ErrnoException | undefined
  return cause?.code ?? e?.code ?? e?.message ?? String(err)
}
