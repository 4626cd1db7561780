/**
 * Keeps an audit index up to date with its log: the whole log is read once (in the background;
 * the index answers meanwhile with what it has), then what was added is read when the log's
 * directory changes, and at least every second (some file systems send no events). Listeners
 * hear about each batch of new rows: the live tail.
 */
import {watch, type FSWatcher} from 'node:fs'
import path from 'node:path'

import {scanRecords, type ScanCursor} from '../../audit/scan.js'
import {AuditIndex} from './audit-index.js'

const POLL_MS = 1000

export class AuditFeed {
  readonly index = new AuditIndex()
  /** True until the log has been read through once. */
  building = true
  private cursor: ScanCursor = {seq: 0}
  private running: Promise<void> = Promise.resolve()
  private readonly listeners = new Set<(from: number, to: number) => void>()
  private timer?: NodeJS.Timeout
  private watcher?: FSWatcher
  private closed = false
  private failure?: string

  constructor(readonly file: string) {}

  /** Starts reading; resolves when the log has been read through once. */
  start(): Promise<void> {
    const first = this.refresh().finally(() => (this.building = false))
    this.timer = setInterval(() => void this.refresh(), POLL_MS)
    this.timer.unref()
    try {
      this.watcher = watch(path.dirname(this.file), () => void this.refresh())
      this.watcher.on('error', () => this.watcher?.close())
    } catch {
      // No directory yet (nothing audited so far): the timer finds the log once it appears.
    }
    return first
  }

  /** Why the log could not be read, if it could not. */
  get error(): string | undefined {
    return this.failure
  }

  /** Reads what was added since the last time; one reading at a time. */
  refresh(): Promise<void> {
    this.running = this.running.then(async () => {
      if (this.closed) return
      const from = this.index.size
      try {
        this.cursor = await scanRecords(this.file, this.cursor, (record) => this.index.add(record))
        this.failure = undefined
      } catch (err) {
        this.failure = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      }
      if (this.index.size > from) for (const listener of this.listeners) listener(from, this.index.size)
    })
    return this.running
  }

  /** Told of every batch of rows added (row numbers `from` to `to`, exclusive); returns the unsubscribe. */
  onRows(listener: (from: number, to: number) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  close(): void {
    this.closed = true
    clearInterval(this.timer)
    this.watcher?.close()
    this.listeners.clear()
  }
}
