/**
 * The names upstream tools and prompts are exposed under. `NAME__tool`, unless the upstream is
 * mounted without a prefix. Every exposed name matches ^[a-zA-Z0-9_-]{1,64}$, which the common
 * model APIs accept (MCP itself allows `.` and 128 characters, and clients that pass names on
 * get bug reports for both). A name that would break that rule keeps what fits and ends in `_`
 * and six characters of a hash of the whole original name: deterministic, and unique.
 */
import {createHash} from 'node:crypto'

export const MAX_EXPOSED = 64
const SAFE = /^[A-Za-z0-9_-]{1,64}$/

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6)
}

export function exposedName(prefix: string | undefined, name: string): string {
  const full = prefix ? `${prefix}__${name}` : name
  if (SAFE.test(full)) return full
  const cleaned = full.replace(/[^A-Za-z0-9_-]/g, '_')
  return `${cleaned.slice(0, MAX_EXPOSED - 7)}_${shortHash(full)}`
}
