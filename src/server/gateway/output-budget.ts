/**
 * How many lines about an upstream's output reach keyward's log: its stderr lines, the warnings
 * about lines on its stdout that are not the protocol (not JSON, not JSON-RPC, over the line
 * limit), and the listings that failed after it said a list changed. Each line is bounded
 * (16 KiB, child-transport.ts, and 500 characters once cleaned, link.ts cleanText), but an
 * upstream chooses how many it writes, and a chatty or hostile one would fill the operator's log
 * and spend keyward's time redacting. So each upstream has a token bucket for each kind: a burst
 * of STDERR_BURST lines, then STDERR_PER_SECOND a second; what is over is counted, not logged
 * (nor redacted), and one line says how many: `upstream NAME: N stderr lines not logged (too
 * many)`, before the next line logged, or within a second of the last one skipped when the
 * upstream falls quiet.
 */
import type {Logger, LogLevel} from '../log.js'

export const STDERR_BURST = 100
export const STDERR_PER_SECOND = 10

/** What a budget counts: the level its lines are logged at, and what its summary calls them (one, many). */
export interface OutputKind {
  level: LogLevel
  noun: readonly [string, string]
}

export const STDERR: OutputKind = {level: 'info', noun: ['stderr line', 'stderr lines']}
export const STDOUT_GARBAGE: OutputKind = {level: 'warn', noun: ['warning about its stdout', 'warnings about its stdout']}
/** A listing that failed after the upstream said a list changed: it chooses how often it says so. */
export const FAILED_LISTINGS: OutputKind = {level: 'warn', noun: ['failed listing', 'failed listings']}

export class OutputBudget {
  private tokens = STDERR_BURST
  private last: number
  private skipped = 0
  private timer?: NodeJS.Timeout

  constructor(
    private readonly upstream: string,
    private readonly log: Logger,
    private readonly kind: OutputKind = STDERR,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now()
  }

  /** One line, made (cleaned, redacted) only when it is logged. */
  line(text: () => string): void {
    const now = this.now()
    this.tokens = Math.min(STDERR_BURST, this.tokens + ((now - this.last) * STDERR_PER_SECOND) / 1000)
    this.last = now
    if (this.tokens < 1) return this.skip()
    this.tokens--
    this.tell()
    this.log(this.kind.level, `upstream ${this.upstream}: ${text()}`)
  }

  private skip(): void {
    this.skipped++
    if (this.timer) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.tell()
    }, 1000)
    this.timer.unref()
  }

  /** The lines skipped since the last word, if any, in one line. */
  private tell(): void {
    if (this.skipped === 0) return
    const n = this.skipped
    this.skipped = 0
    this.log('warn', `upstream ${this.upstream}: ${n} ${this.kind.noun[n === 1 ? 0 : 1]} not logged (too many)`)
  }
}

/** The budgets of one upstream's output: one for its stderr, one for the warnings about its stdout. */
export function upstreamOutput(upstream: string, log: Logger): {stderr: OutputBudget; stdout: OutputBudget} {
  return {stderr: new OutputBudget(upstream, log), stdout: new OutputBudget(upstream, log, STDOUT_GARBAGE)}
}
