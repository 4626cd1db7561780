/** keyward's own API keys: verified against the vault's key index on every request. */
import {KEY_START, type KeyIndex, type KeyRecord, type KeySecret, keysOf, keyStatus, type VerifyCode} from '../keys/index.js'
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
 * Principals are cached per secret object of a key record: a reload creates new records, so a
 * changed scope list is picked up, and unchanged keys do not recompile their patterns per request.
 * The secret is part of the principal: one authenticated with a secret that `keys rotate` replaced
 * ends with that secret's grace period, not with the key.
 */
const principals = new WeakMap<KeySecret, Principal>()

export function principalForKey(record: KeyRecord, secret: KeySecret): Principal {
  let principal = principals.get(secret)
  if (!principal) {
    const ends = [record.expires, secret.validUntil].filter((t): t is string => t !== undefined).map((t) => Date.parse(t))
    principal = {
      id: `key:${record.id}`,
      authType: 'api_key',
      keyId: record.id,
      keySecret: secret.hash,
      name: record.name,
      scopes: new ScopeSet(record.scopes),
      expiresAt: ends.length > 0 ? Math.min(...ends) : undefined,
      rate: record.rateLimit,
    }
    principals.set(secret, principal)
  }
  return principal
}

/** The record's secret with this hash, while it still opens the key: the current one, or an older one in its grace period. */
function liveSecret(record: KeyRecord, hash: string | undefined): KeySecret | undefined {
  const now = Date.now()
  return [record.secret, ...(record.previous ?? [])].find((s) => s.hash === hash && (s.validUntil === undefined || Date.parse(s.validUntil) > now))
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
    return principalForKey(result.key!, result.secret!)
  }

  challenge(failure?: AuthFailure): Challenge {
    return {scheme: 'Bearer', params: {realm: 'keyward', ...errorParams(failure)}}
  }

  stillValid(principal: Principal): boolean {
    if (!principal.keyId) return false
    const record = keysOf(this.vault.data()).get(principal.keyId)
    return record !== undefined && keyStatus(record) === 'active' && liveSecret(record, principal.keySecret) !== undefined && !this.vault.revoked?.().has(principal.keyId)
  }

  /** The key's principal as the vault has it now: its scopes, name, expiry and rate after a `keys scope` (one lookup; compiled once per record). */
  current(principal: Principal): Principal {
    const record = principal.keyId === undefined ? undefined : keysOf(this.vault.data()).get(principal.keyId)
    const secret = record && liveSecret(record, principal.keySecret)
    return record && secret ? principalForKey(record, secret) : principal
  }
}
