/** A rate: so many requests per window, and its human form (1000/min), as flags and settings give it. */
import {KeywardError} from '../errors/index.js'

export interface RateLimit {
  limit: number
  windowSeconds: number
}

const RATE_UNITS: Record<string, number> = {s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600, d: 86_400, day: 86_400}

/**
 * The longest window: the memory store ends a window on a timer, and Node fires a timer of more
 * than 2^31-1 ms (24.8 days) after 1 ms, so a longer window would count nothing.
 */
export const LONGEST_WINDOW_SECONDS = 24 * 86_400

export const RATE_HELP = 'use requests per unit, such as 1000/min, 10/s, 100/10s, 5000/hour or 100000/day, with a window of at most 24 days'

/**
 * A rate's text, its window unbounded; undefined when it is not a rate. A multiple of a unit has
 * up to 8 digits: formatRate writes a window that is no whole unit in seconds (24 days is 7 digits,
 * the 366 days accepted before windows were bounded 8).
 */
function readRate(input: string): RateLimit | undefined {
  const match = /^(\d{1,9})\s*\/\s*(\d{1,8})?\s*([a-z]+)$/.exec(input.trim())
  const unit = match ? RATE_UNITS[match[3]] : undefined
  const windowSeconds = unit && match ? unit * Number(match[2] ?? 1) : undefined
  if (!match || !windowSeconds || Number(match[1]) === 0) return undefined
  return {limit: Number(match[1]), windowSeconds}
}

function notARate(input: string): KeywardError {
  return new KeywardError('INVALID_INPUT', `--rate ${JSON.stringify(input.slice(0, 40))} is not a rate; ${RATE_HELP}`)
}

/** `1000/min`, `10/s`, `5000/hour`, `100000/day`, or a multiple of a unit: `100/10s`, `500/15min`. */
export function parseRate(input: string): RateLimit {
  const rate = readRate(input)
  if (!rate || rate.windowSeconds > LONGEST_WINDOW_SECONDS) throw notARate(input)
  return rate
}

/**
 * A rate setting as the vault holds it (checked by parseRate when it was set, and written by
 * formatRate): one set before windows were bounded keeps its limit over the longest window, as a
 * key's stored rate does (memoryLimiter), rather than stopping serve from starting.
 */
export function storedRate(input: string): RateLimit {
  const rate = readRate(input)
  if (!rate) throw notARate(input)
  return {limit: rate.limit, windowSeconds: Math.min(rate.windowSeconds, LONGEST_WINDOW_SECONDS)}
}

export function formatRate(rate: RateLimit | undefined): string {
  if (!rate) return '-'
  const unit = {1: 's', 60: 'min', 3600: 'hour', 86_400: 'day'}[rate.windowSeconds] ?? `${rate.windowSeconds}s`
  return `${rate.limit}/${unit}`
}
