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

/** `1000/min`, `10/s`, `5000/hour`, `100000/day`, or a multiple of a unit: `100/10s`, `500/15min`. */
export function parseRate(input: string): RateLimit {
  const match = /^(\d{1,9})\s*\/\s*(\d{1,6})?\s*([a-z]+)$/.exec(input.trim())
  const unit = match ? RATE_UNITS[match[3]] : undefined
  const windowSeconds = unit && match ? unit * Number(match[2] ?? 1) : undefined
  if (!match || !windowSeconds || windowSeconds > LONGEST_WINDOW_SECONDS || Number(match[1]) === 0) {
    throw new KeywardError('INVALID_INPUT', `--rate ${JSON.stringify(input.slice(0, 40))} is not a rate; ${RATE_HELP}`)
  }
  return {limit: Number(match[1]), windowSeconds}
}

export function formatRate(rate: RateLimit | undefined): string {
  if (!rate) return '-'
  const unit = {1: 's', 60: 'min', 3600: 'hour', 86_400: 'day'}[rate.windowSeconds] ?? `${rate.windowSeconds}s`
  return `${rate.limit}/${unit}`
}
