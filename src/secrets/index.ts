/** Secrets: named values that MCP tools need, stored in the vault. Never printed but by `secrets get`. */
import {KeywardError} from '../errors/index.js'
import type {SecretRecord, VaultData} from '../vault/index.js'

/** Documented in the README: a letter, then letters, digits, `_`, `.` or `-`; at most 128 characters. */
export const SECRET_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/
export const MAX_SECRET_BYTES = 1024 * 1024

export interface SecretInfo {
  name: string
  description?: string
  created: string
  updated: string
}

export function checkSecretName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) {
    throw new KeywardError(
      'INVALID_INPUT',
      `invalid secret name ${JSON.stringify(name.slice(0, 140))}: use a letter, then letters, digits, _ . or - (at most 128 characters)`,
    )
  }
}

/**
 * Checks a secret value as given: at most MAX_SECRET_BYTES, not empty. Values are bytes and are
 * stored exactly as given (binary, a byte-order mark, anything).
 */
export function checkSecretValue(bytes: Buffer, origin: string): Buffer {
  if (bytes.length > MAX_SECRET_BYTES) {
    throw new KeywardError('INVALID_INPUT', `secret value from ${origin} is larger than ${MAX_SECRET_BYTES} bytes (1 MiB)`)
  }
  if (bytes.length === 0) throw new KeywardError('INVALID_INPUT', `secret value from ${origin} is empty; nothing was stored`)
  return bytes
}

/**
 * Piped text of one line loses its line ending, which `echo` and `printenv` add and no token
 * contains. Anything else (binary data, text of several lines such as a PEM file) is kept
 * byte for byte.
 */
export function dropLineEnding(bytes: Buffer): Buffer {
  const end = bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d && bytes[bytes.length - 1] === 0x0a ? 2 : bytes.at(-1) === 0x0a ? 1 : 0
  if (end === 0) return bytes
  const body = bytes.subarray(0, bytes.length - end)
  if (body.includes(0x0a) || body.includes(0x0d) || !isUtf8Text(body)) return bytes
  return body
}

export function isUtf8Text(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', {fatal: true}).decode(bytes)
    return true
  } catch {
    return false
  }
}

function info(name: string, record: SecretRecord): SecretInfo {
  return {name, description: record.description, created: record.created, updated: record.updated}
}

export function setSecret(data: VaultData, name: string, value: Buffer, description?: string): {created: boolean; secret: SecretInfo} {
  checkSecretName(name)
  const now = new Date().toISOString()
  const previous = data.secrets.get(name)
  const record: SecretRecord = {
    value,
    description: description ?? previous?.description,
    created: previous?.created ?? now,
    updated: now,
  }
  data.secrets.set(name, record)
  return {created: !previous, secret: info(name, record)}
}

function getRecord(data: VaultData, name: string): SecretRecord {
  checkSecretName(name)
  const record = data.secrets.get(name)
  if (!record) throw new KeywardError('NOT_FOUND', `no secret named ${name}; see \`keyward secrets list\``)
  return record
}

export function getSecretValue(data: VaultData, name: string): Buffer {
  return getRecord(data, name).value
}

export function describeSecret(data: VaultData, name: string): SecretInfo {
  return info(name, getRecord(data, name))
}

export function removeSecret(data: VaultData, name: string): SecretInfo {
  const removed = info(name, getRecord(data, name))
  data.secrets.delete(name)
  return removed
}

/** Sorted by name (code-unit order, so the same on every machine). */
export function listSecrets(data: VaultData): SecretInfo[] {
  return [...data.secrets.keys()].sort().map((name) => info(name, data.secrets.get(name)!))
}
