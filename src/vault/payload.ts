/**
 * The decrypted contents of a vault: secrets, and named tables of records that other modules
 * own (API keys, upstream servers, settings). The vault stores a table's records without
 * knowing their shape; each owner reads and checks its own (see keys/store.ts).
 *
 * Secret values are bytes: a certificate in DER or a random key is stored exactly as given.
 * Version 2 payloads hold them as base64 (`value_b64`); version 1 held UTF-8 text (`value`).
 */
import {isObject} from './format.js'

export interface SecretRecord {
  value: Buffer
  description?: string
  created: string
  updated: string
}

/**
 * A secret as read from a payload: its value stays base64 until something asks for it, and an
 * untouched value is written back without being decoded and encoded again. Listing 10,000
 * secrets then costs no 10,000 buffers.
 */
class StoredSecret implements SecretRecord {
  private bytes?: Buffer

  constructor(
    readonly encoded: string,
    readonly created: string,
    readonly updated: string,
    readonly description?: string,
  ) {}

  get value(): Buffer {
    return (this.bytes ??= Buffer.from(this.encoded, 'base64'))
  }
}


/** Maps, not plain objects, so that a name such as "constructor" is only ever data. */
export interface VaultData {
  secrets: Map<string, SecretRecord>
  tables: Map<string, Map<string, unknown>>
}

export function emptyData(): VaultData {
  return {secrets: new Map(), tables: new Map()}
}

/** The table `name`, created empty on first use. Its records are whatever its owner put there. */
export function tableOf<T>(data: VaultData, name: string): Map<string, T> {
  let table = data.tables.get(name)
  if (!table) {
    table = new Map()
    data.tables.set(name, table)
  }
  return table as Map<string, T>
}

export function encodeData(data: VaultData): Buffer {
  const secrets: Record<string, unknown> = {}
  for (const [name, s] of data.secrets) {
    const encoded = s instanceof StoredSecret ? s.encoded : s.value.toString('base64')
    secrets[name] = {value_b64: encoded, description: s.description, created: s.created, updated: s.updated}
  }
  const out: Record<string, unknown> = {secrets}
  for (const [name, table] of data.tables) if (table.size > 0) out[name] = Object.fromEntries(table)
  return Buffer.from(JSON.stringify(out), 'utf8')
}

const TABLE_NAME = /^[a-z][a-z_]{0,31}$/

/** Returns undefined when the authenticated plaintext is not a payload of this version. */
export function decodeData(plaintext: Buffer, version: number): VaultData | undefined {
  let parsed: unknown
  try {
    parsed = JSON.parse(plaintext.toString('utf8'))
  } catch {
    return undefined
  }
  if (!isObject(parsed) || !isObject(parsed.secrets)) return undefined
  const data = emptyData()
  for (const name of Object.keys(parsed.secrets)) {
    const raw = parsed.secrets[name] as Record<string, unknown>
    // The payload is authenticated: only a shape check here, per record, kept cheap for 10,000 of them.
    if (typeof raw !== 'object' || raw === null) return undefined
    const description = raw.description as string | undefined
    if (version >= 2) {
      if (typeof raw.value_b64 !== 'string') return undefined
      data.secrets.set(name, new StoredSecret(raw.value_b64, raw.created as string, raw.updated as string, description))
    } else {
      if (typeof raw.value !== 'string') return undefined
      data.secrets.set(name, {value: Buffer.from(raw.value, 'utf8'), description, created: raw.created as string, updated: raw.updated as string})
    }
  }
  for (const name of Object.keys(parsed)) {
    if (name === 'secrets') continue
    const table = parsed[name]
    if (!TABLE_NAME.test(name) || !isObject(table)) return undefined
    const map = new Map<string, unknown>()
    for (const id of Object.keys(table)) map.set(id, table[id])
    data.tables.set(name, map)
  }
  return data
}
