/** Parsing of the human forms users type: durations (30d), expiry dates and rates (1000/min). */
import {KeywardError} from '../errors/index.js'
import type {RateLimit} from './record.js'

const UNIT_MS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** `90s`, `15m`, `12h`, `30d`, `2w`, or `0`. */
export function parseDuration(input: string, flag: string): number {
  const match = /^(\d{1,6})([smhdw])?$/.exec(input.trim())
  if (!match || (match[2] === undefined && match[1] !== '0')) {
    throw new KeywardError('INVALID_INPUT', `${flag} ${JSON.stringify(input)} is not a duration; use a number and a unit: 90s, 15m, 12h, 30d or 2w`)
  }
  return Number(match[1]) * (match[2] ? UNIT_MS[match[2]] : 0)
}

/** A point in time: a duration from now (`30d`) or an ISO 8601 date or date-time. */
export function parseTime(input: string, flag: string, now = Date.now()): string {
  const trimmed = input.trim()
  if (/^\d+[smhdw]$/.test(trimmed)) return new Date(now + parseDuration(trimmed, flag)).toISOString()
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(trimmed)
  const ms = iso ? Date.parse(trimmed.length === 10 ? `${trimmed}T00:00:00Z` : trimmed) : Number.NaN
  if (Number.isNaN(ms)) {
    throw new KeywardError('INVALID_INPUT', `${flag} ${JSON.stringify(input)} is not a time; use a duration from now (30d, 12h) or an ISO date (2027-01-31, 2027-01-31T12:00Z)`)
  }
  return new Date(ms).toISOString()
}

const RATE_UNITS: Record<string, number> = {s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600, d: 86_400, day: 86_400}

/** `1000/min`, `10/s`, `5000/hour`, `100000/day`, or a multiple of a unit: `100/10s`, `500/15min`. */
export function parseRate(input: string): RateLimit {
  const match = /^(\d{1,9})\s*\/\s*(\d{1,6})?\s*([a-z]+)$/.exec(input.trim())
  const unit = match ? RATE_UNITS[match[3]] : undefined
  const windowSeconds = unit && match ? unit * Number(match[2] ?? 1) : undefined
  if (!match || !windowSeconds || windowSeconds > 86_400 * 366 || Number(match[1]) === 0) {
    throw new KeywardError('INVALID_INPUT', `--rate ${JSON.stringify(input)} is not a rate; use requests per unit, such as 1000/min, 10/s, 100/10s, 5000/hour or 100000/day`)
  }
  return {limit: Number(match[1]), windowSeconds}
}

export function formatRate(rate: RateLimit | undefined): string {
  if (!rate) return '-'
  const unit = {1: 's', 60: 'min', 3600: 'hour', 86_400: 'day'}[rate.windowSeconds] ?? `${rate.windowSeconds}s`
  return `${rate.limit}/${unit}`
}
