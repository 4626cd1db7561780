/**
 * The key string: `<prefix>_<id>_<secret><checksum>`, all [A-Za-z0-9] but the two underscores,
 * so a double-click selects the whole key.
 *   id        12 base62 characters, public, used for lookup;
 *   secret    33 base62 characters, 196 bits from the CSPRNG;
 *   checksum  CRC32 of everything before it, as 6 base62 characters (as GitHub's tokens do),
 *             so a mistyped or random string is rejected without any lookup.
 */
import {hash, randomBytes} from 'node:crypto'
import {crc32} from 'node:zlib'

export const DEFAULT_PREFIX = 'kw'
export const ID_LENGTH = 12
export const SECRET_LENGTH = 33
export const CHECKSUM_LENGTH = 6
/** Room for one key and its newline in a file reserved before the key is made (keys are far shorter). */
export const KEY_LINE_ROOM = 256

/** The one definition of a key's shape; every other pattern for keys is built from these. */
const PREFIX = '[a-z][a-z0-9]{0,15}'
const BASE62 = '[0-9A-Za-z]'
const ID = `${BASE62}{${ID_LENGTH}}`
/** The secret and its checksum, as they appear after the id. */
const TAIL = `${BASE62}{${SECRET_LENGTH + CHECKSUM_LENGTH}}`

export const PREFIX_PATTERN = new RegExp(`^${PREFIX}$`)
/** The start of any keyward key, prefix and id (a RegExp source, unanchored). */
export const KEY_START_TEXT = `${PREFIX}_${ID}_`
/** The start of any keyward key, its checksum not yet checked: enough to tell a keyward key from any other credential. */
export const KEY_START = new RegExp(`^${KEY_START_TEXT}`)
/** A whole keyward key, whatever its prefix, as a RegExp source for finding keys inside text (the redactor). */
export const KEY_IN_TEXT = String.raw`\b${PREFIX}_${ID}_${TAIL}\b`
/** The part after the prefix, which holds a literal `_` to look for first. */
export const KEY_TAIL = new RegExp(String.raw`_${ID}_${TAIL}\b`)

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const KEY_PATTERN = new RegExp(`^(${PREFIX})_(${ID})_(${BASE62}{${SECRET_LENGTH}})(${BASE62}{${CHECKSUM_LENGTH}})$`)

/** For secret scanners (docs/keys.md): matches any keyward key with the default prefix. */
export const SCANNER_REGEX = String.raw`\b${DEFAULT_PREFIX}_${ID}_${TAIL}\b`

/** Uniform base62 by rejection sampling: bytes >= 248 would bias the first 8 symbols. */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62]
      if (out.length === length) break
    }
  }
  return out
}

function checksum(body: string): string {
  let n = crc32(body)
  let out = ''
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out
    n = Math.floor(n / 62)
  }
  return out
}

export interface ParsedKey {
  prefix: string
  id: string
  secret: string
}

/** Returns undefined for anything that is not a well-formed key with a valid checksum. */
export function parseKey(key: string): ParsedKey | undefined {
  const match = KEY_PATTERN.exec(key)
  if (!match) return undefined
  const [, prefix, id, secret, sum] = match
  if (checksum(`${prefix}_${id}_${secret}`) !== sum) return undefined
  return {prefix, id, secret}
}

export function formatKey(prefix: string, id: string, secret: string): string {
  const body = `${prefix}_${id}_${secret}`
  return body + checksum(body)
}

export function newKeyId(): string {
  return randomBase62(ID_LENGTH)
}

export function newSecret(): string {
  return randomBase62(SECRET_LENGTH)
}

/** Hex SHA-256: what the vault stores in place of a key's secret. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex')
}

export function displayStart(prefix: string, id: string, secret: string): string {
  return `${prefix}_${id}_${secret.slice(0, 4)}`
}
