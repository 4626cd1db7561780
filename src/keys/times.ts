/** Parsing of the human forms of time users type: durations (30d) and points in time (expiry dates). */
import {KeywardError} from '../errors/index.js'

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
