/** The authenticate stage: an API key (or, with --auth none, nobody) becomes a Principal. */
import {KeyIndex, type KeyRecord, type VerifyCode} from '../keys/index.js'
import {PRESETS, ScopeSet} from '../policy/index.js'
import {Rejection, type RequestContext, type Stage} from './chain.js'
import type {Principal} from './principal.js'

const REASONS: Record<Exclude<VerifyCode, 'valid'>, string> = {
  malformed: 'API key is malformed (not a keyward key, or mistyped)',
  not_found: 'API key is not recognised',
  revoked: 'API key has been revoked',
  expired: 'API key has expired',
  not_yet_valid: 'API key is not valid yet',
}

export function rejectionFor(code: Exclude<VerifyCode, 'valid'>): Rejection {
  return new Rejection(401, code, `Unauthorized: ${REASONS[code]}`)
}

/**
 * Principals are cached per key record object: a reload creates new records, so a changed
 * scope list is picked up, and unchanged keys do not recompile their patterns per request.
 */
const principals = new WeakMap<KeyRecord, Principal>()

export function principalFor(record: KeyRecord): Principal {
  let principal = principals.get(record)
  if (!principal) {
    principal = {id: `key:${record.id}`, authType: 'api_key', keyId: record.id, name: record.name, scopes: new ScopeSet(record.scopes)}
    principals.set(record, principal)
  }
  return principal
}

export function authenticateApiKey(keys: () => KeyIndex): Stage<RequestContext> {
  return (ctx, next) => {
    if (ctx.credential === undefined) {
      throw new Rejection(401, 'missing', 'Unauthorized: an API key is required (Authorization: Bearer <key> or X-API-Key: <key>)')
    }
    const result = keys().verify(ctx.credential)
    if (result.code !== 'valid') throw rejectionFor(result.code)
    ctx.principal = principalFor(result.key!)
    return next()
  }
}

export const ANONYMOUS: Principal = {id: 'anonymous', authType: 'none', name: 'anonymous', scopes: new ScopeSet(PRESETS.full)}

/** --auth none: everyone is the anonymous principal with full scopes (loopback only; see serve). */
export function authenticateNobody(): Stage<RequestContext> {
  return (ctx, next) => {
    ctx.principal = ANONYMOUS
    return next()
  }
}
