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
  const whole: Record<string, unknown> = {}
  for (const key of Object.keys(fields)) whole[key] = fields[key]
  whole.resultType = 'complete'
  if (stamp) whole._meta = Object.assign({}, meta, {[META.serverInfo]: identity})
  return whole as T
}
