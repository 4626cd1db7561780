/** Operations on the key records of an open vault. Plaintext keys leave here once, as return values. */
import {KeywardError} from '../errors/index.js'
import {checkScopeSet, expandScopes} from '../policy/index.js'
import {tableOf, type VaultData} from '../vault/index.js'
import {DEFAULT_PREFIX, displayStart, formatKey, hashSecret, newKeyId, newSecret, PREFIX_PATTERN} from './format.js'
import type {RateLimit} from '../ratelimit/rate.js'
import type {KeyRecord, KeySecret} from './record.js'

export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

export type KeyStatus = 'active' | 'revoked' | 'expired' | 'not_yet_valid'

export interface NewKeyOptions {
  name: string
  scopes: string[]
  description?: string
  expires?: string
  notBefore?: string
  rateLimit?: RateLimit
  meta?: Record<string, string>
  prefix?: string
}

export interface IssuedKey {
  /** The plaintext key: shown once, never stored. */
  key: string
  record: KeyRecord
}

/** The vault table that holds API-key records, by key id. */
export function keysOf(data: VaultData): Map<string, KeyRecord> {
  return tableOf<KeyRecord>(data, 'keys')
}

export function checkKeyName(name: string): void {
  if (!KEY_NAME_PATTERN.test(name)) {
    throw new KeywardError('INVALID_INPUT', `invalid key name ${JSON.stringify(name.slice(0, 80))}: use a letter or digit, then letters, digits, _ . or - (at most 64 characters)`)
  }
}

export function keyStatus(record: KeyRecord, now = Date.now()): KeyStatus {
  if (record.revoked) return 'revoked'
  if (record.expires && Date.parse(record.expires) <= now) return 'expired'
  if (record.notBefore && Date.parse(record.notBefore) > now) return 'not_yet_valid'
  return 'active'
}

function nameTaken(data: VaultData, name: string): boolean {
  for (const record of keysOf(data).values()) if (record.name === name) return true
  return false
}

/** Finds a key by id, then by name. */
export function findKey(data: VaultData, ref: string): KeyRecord {
  const byId = keysOf(data).get(ref)
  if (byId) return byId
  for (const record of keysOf(data).values()) if (record.name === ref) return record
  throw new KeywardError('NOT_FOUND', `no API key with id or name ${JSON.stringify(ref.slice(0, 80))}; see \`keyward keys list --all\``)
}

function issueSecret(prefix: string, id: string, now: string): {key: string; secret: KeySecret} {
  const secret = newSecret()
  return {key: formatKey(prefix, id, secret), secret: {hash: hashSecret(secret), start: displayStart(prefix, id, secret), created: now}}
}

function uniqueId(data: VaultData, alsoTaken: ReadonlySet<string> = new Set()): string {
  for (;;) {
    const id = newKeyId()
    if (!keysOf(data).has(id) && !alsoTaken.has(id)) return id
  }
}

export function createKey(data: VaultData, options: NewKeyOptions, now = new Date()): IssuedKey {
  checkKeyName(options.name)
  if (nameTaken(data, options.name)) {
    throw new KeywardError('ALREADY_EXISTS', `an API key named ${options.name} already exists; choose another name, or rotate that key`)
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new KeywardError('INVALID_INPUT', `invalid key prefix ${JSON.stringify(prefix)}: use a lowercase letter, then up to 15 lowercase letters or digits`)
  }
  const scopes = expandScopes(options.scopes)
  checkScopeSet(scopes)
  if (options.expires && Date.parse(options.expires) <= now.getTime()) {
    throw new KeywardError('INVALID_INPUT', `--expires ${options.expires} is in the past; the key would never work`)
  }
  if (options.expires && options.notBefore && Date.parse(options.notBefore) >= Date.parse(options.expires)) {
    throw new KeywardError('INVALID_INPUT', '--not-before is not before --expires; the key would never work')
  }
  const id = uniqueId(data)
  const created = now.toISOString()
  const {key, secret} = issueSecret(prefix, id, created)
  const record: KeyRecord = {
    id,
    name: options.name,
    description: options.description,
    prefix,
    secret,
    scopes,
    created,
    expires: options.expires,
    notBefore: options.notBefore,
    rateLimit: options.rateLimit,
    meta: options.meta && Object.keys(options.meta).length > 0 ? options.meta : undefined,
  }
  keysOf(data).set(id, record)
  return {key, record}
}

export function revokeKey(data: VaultData, ref: string, reason: string | undefined, now = new Date()): KeyRecord {
  const record = findKey(data, ref)
  if (record.revoked) throw new KeywardError('INVALID_INPUT', `API key ${record.name} (${record.id}) was already revoked at ${record.revoked.at}`)
  record.revoked = {at: now.toISOString(), reason}
  return record
}

/**
 * A new secret for the same key record (same id, name, scopes and limits). The old secret stays
 * valid for `graceMs`, never past the key's own expiry; older grace secrets that ended are dropped.
 */
export function rotateKey(data: VaultData, ref: string, graceMs: number, now = new Date()): IssuedKey & {replaced: Replaced} {
  const record = findKey(data, ref)
  const status = keyStatus(record, now.getTime())
  if (status === 'revoked') throw new KeywardError('INVALID_INPUT', `API key ${record.name} is revoked; generate a new key instead`)
  if (status === 'expired') throw new KeywardError('INVALID_INPUT', `API key ${record.name} has expired; generate a new key instead`)
  const nowMs = now.getTime()
  const stillValid = (record.previous ?? []).filter((s) => s.validUntil && Date.parse(s.validUntil) > nowMs)
  if (graceMs > 0) {
    let until = nowMs + graceMs
    if (record.expires) until = Math.min(until, Date.parse(record.expires))
    stillValid.push({...record.secret, validUntil: new Date(until).toISOString()})
  }
  const replaced: Replaced = structuredClone({prefix: record.prefix, secret: record.secret, ...(record.previous ? {previous: record.previous} : {})})
  const prefix = record.secret.legacy ? DEFAULT_PREFIX : record.prefix
  const issued = issueSecret(prefix, record.id, now.toISOString())
  record.prefix = prefix
  record.secret = issued.secret
  record.previous = stillValid.length > 0 ? stillValid : undefined
  return {key: issued.key, record, replaced}
}

/** What a rotation replaced: enough to undo it (undoRotation). */
export interface Replaced {
  prefix: string
  secret: KeySecret
  previous?: KeySecret[]
}

/**
 * Undoes a rotation whose new key was never delivered: the secret it replaced is current again,
 * with the grace list as it was. Only the secret: whatever else changed on the record since (a
 * revocation, narrower scopes, by another command meanwhile) stays as it is now, and nothing is
 * done when the record no longer holds the secret the rotation issued (rotated again since, or
 * gone). False when nothing was done.
 */
export function undoRotation(data: VaultData, id: string, issued: KeySecret, from: Replaced): boolean {
  const record = keysOf(data).get(id)
  if (!record || record.secret.hash !== issued.hash) return false
  record.prefix = from.prefix
  record.secret = from.secret
  if (from.previous) record.previous = from.previous
  else delete record.previous
  return true
}

export interface ScopeChange {
  add?: string[]
  remove?: string[]
  set?: string[]
}

export function changeScopes(data: VaultData, ref: string, change: ScopeChange): {record: KeyRecord; before: string[]; after: string[]} {
  const record = findKey(data, ref)
  const before = [...record.scopes]
  let after = change.set ? expandScopes(change.set) : [...before]
  for (const p of expandScopes(change.remove ?? [])) {
    if (!after.includes(p)) throw new KeywardError('INVALID_INPUT', `scope ${JSON.stringify(p)} is not on API key ${record.name}; it has: ${after.join(' ') || 'none'}`)
    after = after.filter((q) => q !== p)
  }
  for (const p of expandScopes(change.add ?? [])) if (!after.includes(p)) after.push(p)
  checkScopeSet(after)
  record.scopes = after
  return {record, before, after}
}

/** The seed's config/api_keys.json: {"api_keys": {name: key}, "key_permissions": {name: [patterns]}}. */
export interface SeedKeyFile {
  api_keys?: Record<string, unknown>
  key_permissions?: Record<string, unknown>
}

/** Stores each plaintext key of the seed's file as a hashed legacy key, with its permissions as scopes. */
export function importSeedKeys(data: VaultData, file: SeedKeyFile, now = new Date()): KeyRecord[] {
  const keys = file.api_keys
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new KeywardError('INVALID_INPUT', 'the file has no "api_keys" object; expected {"api_keys": {...}, "key_permissions": {...}}')
  }
  const permissions = (file.key_permissions ?? {}) as Record<string, unknown>
  const created = now.toISOString()
  const staged: KeyRecord[] = []
  const seenHashes = new Set<string>(legacyHashes(data))
  for (const [name, key] of Object.entries(keys)) {
    checkKeyName(name)
    if (typeof key !== 'string' || key.length < 16 || key.length > 512 || /\s/.test(key)) {
      throw new KeywardError('INVALID_INPUT', `api_keys.${name} is not a usable key (16 to 512 characters, no whitespace)`)
    }
    if (nameTaken(data, name) || staged.some((r) => r.name === name)) {
      throw new KeywardError('ALREADY_EXISTS', `an API key named ${name} already exists; nothing was imported`)
    }
    const scopesRaw = permissions[name] ?? []
    if (!Array.isArray(scopesRaw) || !scopesRaw.every((s) => typeof s === 'string')) {
      throw new KeywardError('INVALID_INPUT', `key_permissions.${name} must be a list of patterns`)
    }
    if (scopesRaw.length === 0) throw new KeywardError('INVALID_INPUT', `key_permissions.${name} is missing or empty; the key could do nothing`)
    const scopes = expandScopes(scopesRaw as string[])
    checkScopeSet(scopes)
    const hash = hashSecret(key)
    if (seenHashes.has(hash)) throw new KeywardError('ALREADY_EXISTS', `api_keys.${name} is already in the vault; nothing was imported`)
    const twin = staged.find((r) => r.secret.hash === hash)
    if (twin) throw new KeywardError('INVALID_INPUT', `api_keys.${name} is the same key as api_keys.${twin.name} in this file; give each client its own key. Nothing was imported`)
    staged.push({
      id: uniqueId(data, new Set(staged.map((r) => r.id))),
      name,
      prefix: DEFAULT_PREFIX,
      secret: {hash, start: key.slice(0, 6), created, legacy: true},
      scopes,
      created,
      description: 'imported from a plaintext api_keys.json',
    })
  }
  for (const record of staged) keysOf(data).set(record.id, record)
  return staged
}

function* legacyHashes(data: VaultData): Iterable<string> {
  for (const record of keysOf(data).values()) {
    for (const s of [record.secret, ...(record.previous ?? [])]) if (s.legacy) yield s.hash
  }
}

export function keyCounts(data: VaultData, now = Date.now()): Record<KeyStatus, number> {
  const counts: Record<KeyStatus, number> = {active: 0, revoked: 0, expired: 0, not_yet_valid: 0}
  for (const record of keysOf(data).values()) counts[keyStatus(record, now)]++
  return counts
}

/** What `keys list`/`show` print: the record without any hash. */
export interface KeyView {
  id: string
  name: string
  description?: string
  start: string
  status: KeyStatus
  scopes: string[]
  created: string
  expires?: string
  notBefore?: string
  revoked?: {at: string; reason?: string}
  rateLimit?: RateLimit
  meta?: Record<string, string>
  legacy?: boolean
  graceSecrets?: {start: string; validUntil?: string}[]
}

export function viewKey(record: KeyRecord, now = Date.now()): KeyView {
  const grace = (record.previous ?? []).filter((s) => s.validUntil && Date.parse(s.validUntil) > now)
  return {
    id: record.id,
    name: record.name,
    description: record.description,
    start: record.secret.start,
    status: keyStatus(record, now),
    scopes: record.scopes,
    created: record.created,
    expires: record.expires,
    notBefore: record.notBefore,
    revoked: record.revoked,
    rateLimit: record.rateLimit,
    meta: record.meta,
    legacy: record.secret.legacy,
    graceSecrets: grace.length > 0 ? grace.map((s) => ({start: s.start, validUntil: s.validUntil})) : undefined,
  }
}
