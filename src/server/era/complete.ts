/**
 * A 2026-07-28 answer made whole where it is built: `resultType: 'complete'` and the server's
 * identity in `_meta`, which the SDK otherwise adds to what a handler returns. The SDK adds each
 * by spreading the result into a new object with one more field, and on Node 20 an object made
 * that way leaves V8's fast JSON path: serializing the answer took three times as long, the
 * largest single part of what a 2026-07-28 call cost over a 2025 one (`npm run bench`, the era
 * rows). Copied here field by field, the answer serializes as fast as a 2025 one, and the SDK
 * leaves a result that carries both as it is. Its rules are kept: another `resultType`
 * (input_required) is the SDK's to check, and a `_meta` that already names a server, or is not
 * an object, is left alone.
 *
 * The server a client talks to is keyward, whatever stands behind it: a 2026-07-28 upstream names
 * itself in every result, and that name is taken out where its answer enters keyward
 * (`withoutServerIdentity`), for clients of either era. Which servers keyward fronts, and their
 * versions, are not a client's to learn from its answers.
 */
import {isPlainObject, META} from './protocol.js'

/** What a server is called on the wire: the identity its SDK server was built with. */
export interface Identity {
  name: string
  version: string
}

export function completeResult<T extends object>(result: T, identity: Identity): T {
  const fields = result as Record<string, unknown>
  if (fields.resultType !== undefined && fields.resultType !== 'complete') return result
  const meta = fields._meta
  const stamp = meta === undefined || (isPlainObject(meta) && meta[META.serverInfo] === undefined)
  if (fields.resultType === 'complete' && !stamp) return result
  const whole = copyOf(fields)
  whole.resultType = 'complete'
  if (stamp) {
    const named = meta === undefined ? {} : copyOf(meta as Record<string, unknown>)
    named[META.serverInfo] = identity
    whole._meta = named
  }
  return whole as T
}

/** A result without the identity of the server that produced it (`_meta` dropped when nothing else is in it); copied field by field, as above. */
export function withoutServerIdentity<T>(result: T): T {
  if (!isPlainObject(result)) return result
  const meta = result._meta
  if (!isPlainObject(meta) || !(META.serverInfo in meta)) return result
  const rest = copyOf(meta, (key) => key !== META.serverInfo)
  const kept = copyOf(result, (key) => key !== '_meta')
  if (Object.keys(rest).length > 0) kept._meta = rest
  return kept as T
}

/**
 * The own fields of `record` that `keep` keeps, copied one by one (not spread: the module comment
 * says why). A field named `__proto__` (JSON has it as a key, and an upstream chooses its bytes)
 * is defined as data and stays a field, as the redactor keeps it; assigned, it would become the
 * copy's prototype, its value lost on the wire yet read as the result's own fields (the audit
 * reads `isError`). The SDK's client drops such a field from an upstream's answer today; these
 * copies do not rely on it.
 */
function copyOf(record: Record<string, unknown>, keep: (key: string) => boolean = () => true): Record<string, unknown> {
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(record)) {
    if (!keep(key)) continue
    if (key === '__proto__') Object.defineProperty(copy, key, {value: record[key], enumerable: true, writable: true, configurable: true})
    else copy[key] = record[key]
  }
  return copy
}
