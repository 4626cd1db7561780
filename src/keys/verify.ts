/**
 * Key verification, the function the server calls on every request. Its cost does not depend
 * on how many keys exist: parse, checksum, one map lookup by id, a constant-time compare of
 * the hash, then the status checks.
 */
import {hash as oneShotHash, timingSafeEqual} from 'node:crypto'

import type {ErrorCode} from '../errors/index.js'
import type {VaultData} from '../vault/index.js'
import {keysOf} from './store.js'
import {KEY_START, parseKey} from './format.js'
import type {KeyRecord, KeySecret} from './record.js'

export type VerifyCode = 'valid' | 'malformed' | 'not_found' | 'revoked' | 'expired' | 'not_yet_valid'

/** The exit code class of each refusal: what `keys verify` and `serve --transport stdio` exit with. */
export const VERIFY_ERROR: Readonly<Record<Exclude<VerifyCode, 'valid'>, ErrorCode>> = {
  malformed: 'KEY_MALFORMED',
  not_found: 'KEY_NOT_FOUND',
  revoked: 'KEY_REVOKED',
  expired: 'KEY_EXPIRED',
  not_yet_valid: 'KEY_NOT_YET_VALID',
}

export interface VerifyResult {
  code: VerifyCode
  /** Present for every code but malformed and not_found. */
  key?: KeyRecord
  /** With key: the secret that matched, the current one or an older one in its grace period. */
  secret?: KeySecret
}

interface IndexedKey {
  record: KeyRecord
  hashes: {hash: Buffer; until: number; secret?: KeySecret}[]
  expires: number
  notBefore: number
}

const MAX_KEY_LENGTH = 512
const LEGACY_SHAPE = /^[\x21-\x7e]{16,512}$/
/** Compared against when no key matches, so a miss costs what a hit costs. */
const DUMMY_HASH = sha256('keyward: no such key')

/** One-shot hashing: several times faster than a createHash() object per call. */
function sha256(value: string): Buffer {
  return oneShotHash('sha256', value, 'buffer')
}

/** An immutable lookup structure built once per vault load; a reload swaps in a new one. */
export class KeyIndex {
  private readonly byId = new Map<string, IndexedKey>()
  private readonly byLegacyHash = new Map<string, IndexedKey>()

  constructor(records: Iterable<KeyRecord>) {
    for (const record of records) {
      const entry: IndexedKey = {
        record,
        hashes: [record.secret, ...(record.previous ?? [])].map((s) => ({
          hash: Buffer.from(s.hash, 'hex'),
          until: s.validUntil ? Date.parse(s.validUntil) : Number.POSITIVE_INFINITY,
          secret: s,
        })),
        expires: record.expires ? Date.parse(record.expires) : Number.POSITIVE_INFINITY,
        notBefore: record.notBefore ? Date.parse(record.notBefore) : Number.NEGATIVE_INFINITY,
      }
      this.byId.set(record.id, entry)
      for (const s of [record.secret, ...(record.previous ?? [])]) if (s.legacy) this.byLegacyHash.set(s.hash, entry)
    }
  }

  static fromVault(data: VaultData): KeyIndex {
    return new KeyIndex(keysOf(data).values())
  }

  get size(): number {
    return this.byId.size
  }

  /** True when `value` is an imported (legacy) key of this vault, valid or not: one hash and one lookup. */
  isLegacyKey(value: string): boolean {
    if (this.byLegacyHash.size === 0 || !LEGACY_SHAPE.test(value) || KEY_START.test(value)) return false
    return this.byLegacyHash.has(sha256(value).toString('hex'))
  }

  verify(presented: unknown, now = Date.now()): VerifyResult {
    if (typeof presented !== 'string' || presented.length > MAX_KEY_LENGTH) return {code: 'malformed'}
    const parsed = parseKey(presented)
    let entry: IndexedKey | undefined
    let hash: Buffer
    if (parsed) {
      hash = sha256(parsed.secret)
      entry = this.byId.get(parsed.id)
      if (entry && (entry.record.prefix !== parsed.prefix || entry.record.secret.legacy)) entry = undefined
    } else {
      // A keyward-shaped string with a bad checksum is a typo, never a legacy key.
      if (this.byLegacyHash.size === 0 || KEY_START.test(presented) || !LEGACY_SHAPE.test(presented)) return {code: 'malformed'}
      hash = sha256(presented)
      entry = this.byLegacyHash.get(hash.toString('hex'))
    }
    let secret: KeySecret | undefined
    for (const h of entry?.hashes ?? [{hash: DUMMY_HASH, until: 0}]) {
      // No early exit: every candidate is compared.
      if (timingSafeEqual(h.hash, hash) && h.until > now) secret = h.secret
    }
    if (!entry || !secret) return {code: 'not_found'}
    const record = entry.record
    if (record.revoked) return {code: 'revoked', key: record, secret}
    if (now >= entry.expires) return {code: 'expired', key: record, secret}
    if (now < entry.notBefore) return {code: 'not_yet_valid', key: record, secret}
    return {code: 'valid', key: record, secret}
  }
}
