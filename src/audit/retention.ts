/** `audit.keep`: how many rotated segments to keep (`3`), or for how long (`30d`). Unset keeps all. */
export type Retention = {segments: number} | {ageMs: number}

const UNIT_MS: Record<string, number> = {h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000}

/** The retention a value names, or undefined when it names none. */
export function parseRetention(value: string): Retention | undefined {
  const v = value.trim()
  const count = /^(\d{1,6})$/.exec(v)
  if (count) return Number(count[1]) >= 1 ? {segments: Number(count[1])} : undefined
  const age = /^(\d{1,5})([hdw])$/.exec(v)
  if (age && Number(age[1]) >= 1) return {ageMs: Number(age[1]) * UNIT_MS[age[2]]}
  return undefined
}

export const RETENTION_HELP = 'a number of rotated segments to keep (3), or an age (12h, 30d, 8w)'
