/**
 * How many of an upstream's stderr lines reach keyward's log. Each line is bounded (16 KiB,
 * child-transport.ts, and 500 characters once cleaned, link.ts), but an upstream chooses how many
 * it writes, and a chatty or hostile one would fill the operator's log and spend keyward's time
 * redacting. So each upstream has a token bucket: a burst of STDERR_BURST lines, then
 * STDERR_PER_SECOND a second; what is over is counted, not logged (nor redacted), and one line
 * says how many: `upstream NAME: N stderr lines not logged (too many)`, before the next line
 * logged, or within a second of the last one skipped when the upstream falls quiet.
 */
import type {Logger} from '../log.js'

export const STDERR_BURST = 100
export const STDERR_PER_SECOND = 10

export class StderrBudget {
  private tokens = STDERR_BURST
  private last: number
  private skipped = 0
  private timer?: NodeJS.Timeout

  constructor(
    private readonly upstream: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now()
  }

  /** One stderr line, made (cleaned, redacted) only when it is logged. */
  line(text: () => string): void {
    const now = this.now()
    this.tokens = Math.min(STDERR_BURST, this.tokens + ((now - this.last) * STDERR_PER_SECOND) / 1000)
    this.last = now
    if (this.tokens < 1) return this.skip()
    this.tokens--
    this.tell()
    this.log('info', `upstream ${this.upstream}: ${text()}`)
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
    this.log('warn', `upstream ${this.upstream}: ${n} stderr line${n === 1 ? '' : 's'} not logged (too many)`)
  }
}
