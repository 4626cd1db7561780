import {createCipheriv, createDecipheriv, hkdfSync, randomBytes} from 'node:crypto'

export const KEY_BYTES = 32
export const NONCE_BYTES = 12
export const TAG_BYTES = 16

export interface Sealed {
  nonce: Buffer
  ciphertext: Buffer
  tag: Buffer
}

/** AES-256-GCM with a fresh random 96-bit nonce on every call. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(aad)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return {nonce, ciphertext, tag: cipher.getAuthTag()}
}

/** Returns undefined when authentication fails: the caller decides what that failure means. */
export function open(key: Buffer, sealed: Sealed, aad: Buffer): Buffer | undefined {
  if (sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== TAG_BYTES) return undefined
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce)
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.tag)
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()])
  } catch {
    return undefined
  }
}

/** Splits one root secret into independent subkeys, so no key is used for two purposes. */
export function deriveSubkey(root: Buffer, salt: Buffer, info: string, length = KEY_BYTES): Buffer {
  return Buffer.from(hkdfSync('sha256', root, salt, info, length))
}

export function randomKey(): Buffer {
  return randomBytes(KEY_BYTES)
}

/**
 * Strict base64. Buffer.from() silently skips characters outside the alphabet and stops at a
 * stray '=', which would let a damaged file decode to something; any of those makes the
 * decoded length fall short of what the string's length promises, so that is the check
 * (re-encoding to compare would copy a multi-megabyte payload once more).
 */
export function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || value.length % 4 !== 0) return undefined
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0
  const bytes = Buffer.from(value, 'base64')
  return bytes.length === (value.length / 4) * 3 - padding ? bytes : undefined
}
