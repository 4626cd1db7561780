/** The decrypted contents of a vault: secrets and API-key records, each keyed by a unique string. */
import type {KeyRecord} from '../keys/record.js'
import {isObject} from './format.js'

export interface SecretRecord {
  value: string
  description?: string
  created: string
  updated: string
}

/** Maps, not plain objects, so that a name such as "constructor" is only ever data. */
export interface VaultData {
  secrets: Map<string, SecretRecord>
  keys: Map<string, KeyRecord>
}

export function emptyData(): VaultData {
  return {secrets: new Map(), keys: new Map()}
}

export function encodeData(data: VaultData): Buffer {
  return Buffer.from(JSON.stringify({secrets: Object.fromEntries(data.secrets), keys: Object.fromEntries(data.keys)}), 'utf8')
}

/** Returns undefined when the authenticated plaintext is not a v1 payload. */
export function decodeData(plaintext: Buffer): VaultData | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(plaintext.toString('utf8'))
  } catch {
    return undefined
  }
  if (!isObject(parsed) || !isObject(parsed.secrets) || !isObject(parsed.keys)) return undefined
  return {secrets: toMap(parsed.secrets as Record<string, SecretRecord>), keys: toMap(parsed.keys as Record<string, KeyRecord>)}
}

function toMap<T>(object: Record<string, T>): Map<string, T> {
  const map = new Map<string, T>()
  for (const key of Object.keys(object)) map.set(key, object[key])
  return map
}
