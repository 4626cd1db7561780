/** Small vaults made in memory for the vault's unit tests: key-file slots, so no KDF runs. */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {isKeywardError, type ErrorCode} from '../../../src/errors/index.js'
import {parseEnvelope, type Envelope} from '../../../src/vault/format.js'
import {KeyMaterial} from '../../../src/vault/slots.js'
import {Vault} from '../../../src/vault/vault.js'

export const FILE = '/nonexistent/vault.json'

export function keyFileMaterial(key = randomBytes(32)): KeyMaterial {
  return new KeyMaterial({kind: 'keyfile', key, origin: 'test.key'})
}

/** A vault with one secret and a slot per material, saved once (generation 1): the first material, bytes and parsed envelope. */
export async function savedVault(material = keyFileMaterial(), ...others: KeyMaterial[]): Promise<{material: KeyMaterial; bytes: Buffer; envelope: Envelope}> {
  const vault = await Vault.create(FILE, [material, ...others])
  vault.data.secrets.set('API_TOKEN', {value: Buffer.from('s3cret-value'), created: 'c', updated: 'u'})
  const bytes = vault.serialize()
  return {material, bytes, envelope: parseEnvelope(bytes, FILE)}
}

/** The envelope as JSON (loosely typed: tests put wrong things in it), edited by `edit`, as bytes again. */
export type LooseEnvelope = Envelope & Record<string, unknown>

export function edited(bytes: Buffer, edit: (json: LooseEnvelope) => void): Buffer {
  const json = JSON.parse(bytes.toString('utf8')) as LooseEnvelope
  edit(json)
  return Buffer.from(JSON.stringify(json, null, 2) + '\n')
}

/** A base64 value with one bit of its first byte flipped: still canonical base64. */
export function flipped(b64: string): string {
  const bytes = Buffer.from(b64, 'base64')
  bytes[0] ^= 0x01
  return bytes.toString('base64')
}

/** Asserts that `run` throws (or rejects with) a KeywardError of `code` whose message matches. */
export async function assertFails(run: () => unknown, code: ErrorCode, message: RegExp): Promise<void> {
  let caught: unknown
  try {
    await run()
  } catch (err) {
    caught = err
  }
  assert.ok(isKeywardError(caught), `expected a KeywardError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  assert.match(caught.message, message)
}
