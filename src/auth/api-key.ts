/** keyward's own API keys: verified against the vault's key index on every request. */
import {KEY_START, type KeyIndex, type KeyRecord, keysOf, keyStatus, type VerifyCode} from '../keys/index.js'
import {ScopeSet} from '../policy/index.js'
import type {VaultData} from '../vault/index.js'
import {AuthFailure, type Authenticator, type Credential} from './authenticator.js'
import {errorParams, type Challenge} from './challenge.js'
import type {Principal} from './principal.js'

const REASONS: Record<Exclude<VerifyCode, 'valid'>, string> = {
  malformed: 'API key is malformed (not a keyward key, or mistyped)',
  not_found: 'API key is not recognised',
  revoked: 'API key has been revoked',
  expired: 'API key has expired',
  not_yet_valid: 'API key is not valid yet',
}

export function keyFailure(code: Exclude<VerifyCode, 'valid'>): AuthFailure {
  return new AuthFailure(code, `Unauthorized: ${REASONS[code]}`, 'invalid_token')
}

/**
 * Principals are cached per key record object: a reload creates new records, so a changed
 * scope list is picked up, and unchanged keys do not recompile their patterns per request.
 */
const principals = new WeakMap<KeyRecord, Principal>()

export function principalForKey(record: KeyRecord): Principal {
  let principal = principals.get(record)
  if (!principal) {
    principal = {
      id: `key:${record.id}`,
      authType: 'api_key',
      keyId: record.id,
      name: record.name,
      scopes: new ScopeSet(record.scopes),
      expiresAt: record.expires ? Date.parse(record.expires) : undefined,
      rate: record.rateLimit,
    }
    principals.set(record, principal)
  }
  return principal
}

export interface VaultView {
  keys(): KeyIndex
  data(): VaultData
  /** Key ids revoked by a notice from another replica, ahead of the vault that revokes them. */
  revoked?(): ReadonlySet<string>
}

export class ApiKeyAuthenticator implements Authenticator {
  readonly type = 'api_key' as const

  constructor(private readonly vault: VaultView) {}

  claims(credential: Credential | undefined): boolean {
    if (!credential) return false
    return KEY_START.test(credential.value) || this.vault.keys().isLegacyKey(credential.value)
  }

  authenticate(credential: Credential | undefined): Principal {
    const result = this.vault.keys().verify(credential?.value)
    if (result.code !== 'valid') throw keyFailure(result.code)
    if (this.vault.revoked?.().has(result.key!.id)) throw keyFailure('revoked')
    return principalForKey(result.key!)
  }

  challenge(failure?: AuthFailure): Challenge {
    return {scheme: 'Bearer', params: {realm: 'keyward', ...errorParams(failure)}}
  }

  stillValid(principal: Principal): boolean {
    if (!principal.keyId) return false
    const record = keysOf(this.vault.data()).get(principal.keyId)
    return record !== undefined && keyStatus(record) === 'active' && !this.vault.revoked?.().has(principal.keyId)
  }

  /** The key's principal as the vault has it now: its scopes, name, expiry and rate after a `keys scope` (one lookup; compiled once per record). */
  current(principal: Principal): Principal {
    const record = principal.keyId === undefined ? undefined : keysOf(this.vault.data()).get(principal.keyId)
    return record ? principalForKey(record) : principal
  }
}
