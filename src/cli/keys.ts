/** Printing of API keys and their records, shared by the keys commands. */
import {type KeyStatus, type KeyView} from '../keys/index.js'
import {formatRate} from '../ratelimit/rate.js'
import {style} from './style.js'
import {renderTable, shortTime} from './table.js'

const STATUS_COLOR: Record<KeyStatus, (s: string) => string> = {
  active: (s) => style.green(s),
  revoked: (s) => style.red(s),
  expired: (s) => style.yellow(s),
  not_yet_valid: (s) => style.cyan(s),
}

/** The same words in text as in JSON: `not_yet_valid` reads "not yet valid". */
export function statusText(status: KeyStatus): string {
  return STATUS_COLOR[status](status.replace(/_/g, ' '))
}

export function keysTable(views: KeyView[]): string {
  return renderTable(
    ['ID', 'NAME', 'START', 'SCOPES', 'STATUS', 'CREATED', 'EXPIRES'],
    views.map((v) => [v.id, v.name, `${v.start}…`, v.scopes.join(' '), statusText(v.status), shortTime(v.created), shortTime(v.expires)]),
  )
}

export function keyDetails(v: KeyView): string {
  const rows: [string, string | undefined][] = [
    ['id', v.id],
    ['name', v.name],
    ['description', v.description],
    ['start', `${v.start}…` + (v.legacy ? ' (imported; rotate it to get a keyward-format key)' : '')],
    ['status', statusText(v.status)],
    ['scopes', v.scopes.join(' ')],
    ['created', v.created],
    ['not before', v.notBefore],
    ['expires', v.expires ?? 'never'],
    ['revoked', v.revoked ? `${v.revoked.at}${v.revoked.reason ? ` (${v.revoked.reason})` : ''}` : undefined],
    ['rate limit', v.rateLimit ? formatRate(v.rateLimit) : undefined],
    ['meta', v.meta ? Object.entries(v.meta).map(([k, val]) => `${k}=${val}`).join(' ') : undefined],
    ['old secrets', v.graceSecrets?.map((s) => `${s.start}… valid until ${s.validUntil}`).join('; ')],
  ]
  return rows
    .filter(([, value]) => value !== undefined)
    .map(([label, value]) => `${style.bold(label.padEnd(12))}${value}`)
    .join('\n')
}

/**
 * What shows a new key once: the key alone on stdout (pipe-clean), or under --json the whole
 * result. The warning goes to stderr first.
 */
export function keyOnce(key: string, json: boolean, result: object): string {
  if (json) return JSON.stringify(result, null, 2) + '\n'
  process.stderr.write(style.yellow('This is the only time this key is shown. Store it now: keyward keeps only its hash.\n'))
  return `${key}\n`
}
