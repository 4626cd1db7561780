/**
 * The vault file: a JSON envelope. Everything but `payload` is the header, and the header's
 * canonical JSON is the associated data of the payload's AES-256-GCM seal, so no header field
 * can change unnoticed. This module is bytes and shapes only: it knows nothing of secrets,
 * keys or unlocking. docs/vault-format.md is the prose version of this file.
 *
 * Version 2 adds `generation`, a counter raised by every save, so that an older genuine copy
 * put back in place (a rollback) can be recognised. Version 1 files are read as generation 0
 * and written back as version 2.
 */
import {KeywardError} from '../errors/index.js'
import {decodeBase64, type Sealed} from './crypto.js'
import {damaged, restoreHint} from './damage.js'
import type {Argon2idParams} from './kdf.js'

export {damaged, restoreHint} from './damage.js'

export const FORMAT_NAME = 'keyward-vault'
export const FORMAT_VERSION = 2
/** Versions this keyward reads; it always writes FORMAT_VERSION. */
export const READABLE_VERSIONS: readonly number[] = [1, 2]
export const CIPHER = 'aes-256-gcm'

export interface SealedJson {
  nonce: string
  ciphertext: string
  tag: string
}

export interface PassphraseSlot {
  type: 'passphrase'
  id: string
  created: string
  kdf: Argon2idParams
  salt: string
  check: string
  wrapped_key: SealedJson
}

export interface KeyFileSlot {
  type: 'keyfile'
  id: string
  created: string
  salt: string
  check: string
  wrapped_key: SealedJson
}

export type Slot = KeyFileSlot | PassphraseSlot

export interface Header {
  format: typeof FORMAT_NAME
  version: number
  cipher: typeof CIPHER
  vault_id: string
  created: string
  /** Raised by one on every save; absent (0) in version 1. */
  generation?: number
  slots: Slot[]
}

export interface Envelope extends Header {
  payload: SealedJson
}

/** JSON with object keys sorted at every level: one byte string per header, whatever the key order on disk. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    return `{${entries.join(',')}}`
  }
  return JSON.stringify(value)
}

export function headerOf(envelope: Envelope): Header {
  const {payload: _payload, ...header} = envelope
  return header
}

export function generationOf(header: Header): number {
  return header.generation ?? 0
}

export function headerAad(header: Header): Buffer {
  return Buffer.from(canonicalJson(header), 'utf8')
}

export function sealedToJson(sealed: Sealed): SealedJson {
  return {
    nonce: sealed.nonce.toString('base64'),
    ciphertext: sealed.ciphertext.toString('base64'),
    tag: sealed.tag.toString('base64'),
  }
}

/** Undefined when the ciphertext is not canonical base64: the caller reports the file damaged. */
export function sealedFromJson(json: SealedJson): Sealed | undefined {
  const ciphertext = decodeBase64(json.ciphertext)
  if (!ciphertext) return undefined
  return {nonce: decodeBase64(json.nonce)!, ciphertext, tag: decodeBase64(json.tag)!}
}

export function serializeEnvelope(envelope: Envelope): Buffer {
  return Buffer.from(JSON.stringify(envelope, null, 2) + '\n', 'utf8')
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isString = (v: unknown): v is string => typeof v === 'string'

/** True when `v` has exactly these keys (some optional): an unknown field is a sign of tampering, and never reaches canonicalJson. */
function hasOnlyKeys(v: Record<string, unknown>, required: readonly string[], optional: readonly string[] = []): boolean {
  for (const key of required) if (!(key in v)) return false
  for (const key of Object.keys(v)) if (!required.includes(key) && !optional.includes(key)) return false
  return true
}

/** Checks shape and the small fields; the ciphertext is decoded (strictly) once, in sealedFromJson. */
function isSealed(v: unknown, nonceBytes: number): v is SealedJson {
  if (!isObject(v) || !hasOnlyKeys(v, ['nonce', 'ciphertext', 'tag'])) return false
  const nonce = decodeBase64(v.nonce)
  const tag = decodeBase64(v.tag)
  return nonce?.length === nonceBytes && tag?.length === 16 && typeof v.ciphertext === 'string'
}

const SLOT_FIELDS = ['type', 'id', 'created', 'salt', 'check', 'wrapped_key']

function isSlot(v: unknown): v is Slot {
  if (!isObject(v) || !isString(v.id) || !isString(v.created)) return false
  if (decodeBase64(v.salt)?.length !== 16 || decodeBase64(v.check)?.length !== 16) return false
  if (!isSealed(v.wrapped_key, 12)) return false
  if (v.type === 'keyfile') return hasOnlyKeys(v, SLOT_FIELDS)
  if (v.type !== 'passphrase' || !isObject(v.kdf) || !hasOnlyKeys(v, [...SLOT_FIELDS, 'kdf'])) return false
  const kdf = v.kdf
  return hasOnlyKeys(kdf, ['name', 'memory_kib', 'iterations', 'parallelism']) && kdf.name === 'argon2id' && [kdf.memory_kib, kdf.iterations, kdf.parallelism].every((n) => Number.isInteger(n))
}

const HEADER_FIELDS = ['format', 'version', 'cipher', 'vault_id', 'created', 'slots', 'payload']

/** Parses and validates the envelope; classifies every failure as damaged or unsupported. */
export function parseEnvelope(bytes: Buffer, file: string): Envelope {
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw damaged(file, 'not valid JSON')
  }
  if (!isObject(parsed) || parsed.format !== FORMAT_NAME) {
    throw new KeywardError('VAULT_DAMAGED', `${file} is not a keyward vault, or its header is damaged; ${restoreHint(file)}`)
  }
  if (typeof parsed.version !== 'number' || !READABLE_VERSIONS.includes(parsed.version)) {
    const seen = typeof parsed.version === 'number' ? String(parsed.version) : JSON.stringify(parsed.version)?.slice(0, 40)
    throw new KeywardError(
      'UNSUPPORTED_VERSION',
      `vault ${file} has format version ${seen}; this keyward reads versions ${READABLE_VERSIONS.join(' and ')}: upgrade keyward, or ${restoreHint(file)}`,
    )
  }
  const v2 = parsed.version >= 2
  if (!hasOnlyKeys(parsed, v2 ? [...HEADER_FIELDS, 'generation'] : HEADER_FIELDS)) throw damaged(file, 'unexpected or missing header fields')
  if (parsed.cipher !== CIPHER) throw damaged(file, `unknown cipher ${JSON.stringify(parsed.cipher).slice(0, 40)}`)
  if (!isString(parsed.vault_id) || !isString(parsed.created)) throw damaged(file, 'header fields missing')
  if (v2 && !(Number.isSafeInteger(parsed.generation) && (parsed.generation as number) >= 1)) throw damaged(file, 'generation is not a positive integer')
  if (!Array.isArray(parsed.slots) || parsed.slots.length === 0) throw damaged(file, 'no unlock slots')
  if (parsed.slots.length > 64) throw damaged(file, 'too many unlock slots')
  parsed.slots.forEach((slot, i) => {
    if (!isSlot(slot)) throw damaged(file, `unlock slot ${i + 1} is malformed`)
  })
  if (!isSealed(parsed.payload, 12)) throw damaged(file, 'payload is malformed')
  return parsed as unknown as Envelope
}
