/**
 * Server logs go to stderr only: over stdio, stdout carries the protocol. Callers pass facts
 * (ids, codes, counts), never credentials or secret values.
 *
 * Two protections, because a misbehaving client can make the server refuse thousands of
 * requests a second: a line repeated within a window is printed once, then summed up when the
 * window ends; and stderr is written without ever blocking the server (Node writes to a pipe
 * synchronously), through one write at a time off the main thread, into a bounded queue whose
 * overflow is counted and reported instead of stalling.
 */
import {write} from 'node:fs'

import {escapeText} from '../text/visible.js'

export type LogLevel = 'info' | 'warn' | 'error'

export interface Logger {
  (level: LogLevel, message: string): void
  /** Waits (up to `ms`) until the queued lines are written. */
  flush?(ms?: number): Promise<void>
}

const WINDOW_MS = 10_000
const MAX_TRACKED = 1000
const MAX_QUEUED_BYTES = 256 * 1024
/** A longer message is cut (with a mark): one line of the log is not where a whole upstream answer goes. */
const MAX_LINE = 8 * 1024

/** Writes lines to a file descriptor, one write in flight at a time, never blocking the caller. */
class LineWriter {
  private queue: string[] = []
  private queued = 0
  private dropped = 0
  private busy = false
  private idle: (() => void)[] = []

  constructor(private readonly fd: number) {}

  push(line: string): void {
    if (this.queued + line.length > MAX_QUEUED_BYTES) {
      this.dropped++
      return
    }
    if (this.dropped > 0 && this.queued + line.length < MAX_QUEUED_BYTES / 2) {
      const note = `keyward serve: warn: ${this.dropped} log lines dropped: stderr was not being read\n`
      this.dropped = 0
      this.queue.push(note)
      this.queued += note.length
    }
    this.queue.push(line)
    this.queued += line.length
    this.pump()
  }

  private pump(): void {
    if (this.busy) return
    const chunk = this.queue.join('')
    if (chunk === '') {
      for (const resolve of this.idle.splice(0)) resolve()
      return
    }
    this.queue = []
    this.queued = 0
    this.busy = true
    write(this.fd, chunk, () => {
      // A write error (stderr closed) drops the lines: logging must never take the server down.
      this.busy = false
      this.pump()
    })
  }

  flush(ms: number): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      timer.unref()
      this.idle.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}

export function stderrLogger(quiet = false, fd = 2, name = 'keyward serve'): Logger {
  const writer = new LineWriter(fd)
  const repeats = new Map<string, {count: number; since: number; timer: NodeJS.Timeout}>()
  // A message may quote an upstream or a client (an error, a name): on a terminal, their control sequences would act.
  const emit = (level: LogLevel, message: string) => writer.push(`${name}: ${level === 'info' ? '' : `${level}: `}${escapeText(message, MAX_LINE)}\n`)
  const log: Logger = (level, message) => {
    if (quiet && level === 'info') return
    const seen = repeats.get(message)
    if (seen) {
      seen.count++
      return
    }
    emit(level, message)
    if (repeats.size >= MAX_TRACKED) return
    const entry = {
      count: 0,
      since: Date.now(),
      timer: setTimeout(() => {
        repeats.delete(message)
        if (entry.count > 0) emit(level, `${message} (and ${entry.count} more times in the last ${Math.round((Date.now() - entry.since) / 1000)}s)`)
      }, WINDOW_MS),
    }
    entry.timer.unref()
    repeats.set(message, entry)
  }
  log.flush = async (ms = 1000) => {
    for (const [message, entry] of repeats) {
      clearTimeout(entry.timer)
      if (entry.count > 0) writer.push(`${name}: ${escapeText(message, MAX_LINE)} (and ${entry.count} more times)\n`)
    }
    repeats.clear()
    await writer.flush(ms)
  }
  return log
}
