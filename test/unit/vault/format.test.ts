/**
 * The vault file's format (src/vault/format.ts): the canonical header that the payload's seal
 * authenticates, and the "header" failure class of age's test vectors: whatever is malformed
 * is refused while parsing, before any key is derived, with the class and a way to recover.
 */
import assert from 'node:assert/strict'

import {
  canonicalJson,
  generationOf,
  headerAad,
  headerOf,
  parseEnvelope,
  sealedFromJson,
  serializeEnvelope,
  type PassphraseSlot,
} from '../../../src/vault/format.js'
import {assertFails, edited, FILE, flipped, savedVault, type LooseEnvelope} from './helpers.js'

describe('vault format', () => {
  describe('the header and its canonical form', () => {
    it('canonical JSON sorts object keys at every level, keeps array order, and has no whitespace', () => {
      assert.equal(canonicalJson({b: 1, a: {d: [3, {z: 1, y: 2}], c: 'x'}}), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}')
      assert.equal(canonicalJson({a: 1, b: 2}), canonicalJson({b: 2, a: 1}))
      assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]))
    })

    it('the header is everything but the payload, and its AAD does not depend on key order on disk', async () => {
      const {bytes, envelope} = await savedVault()
      const header = headerOf(envelope)
      assert.ok(!('payload' in header))
      assert.deepEqual(Object.keys(header).sort(), ['cipher', 'created', 'format', 'generation', 'slots', 'vault_id', 'version'])
      const reordered = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(bytes.toString('utf8'))).reverse())))
      assert.deepEqual(headerAad(headerOf(parseEnvelope(reordered, FILE))), headerAad(header))
      assert.equal(headerAad(header).toString('utf8'), canonicalJson(header))
    })

    it('serialises and parses back to the same envelope; version 1 counts as generation 0', async () => {
      const {envelope} = await savedVault()
      assert.deepEqual(parseEnvelope(serializeEnvelope(envelope), FILE), envelope)
      assert.equal(generationOf(headerOf(envelope)), 1)
      const {generation: _generation, ...v1} = {...headerOf(envelope), version: 1}
      assert.equal(generationOf(v1), 0)
    })

    it('decodes a payload only from canonical base64', async () => {
      const {envelope} = await savedVault()
      assert.ok(sealedFromJson(envelope.payload))
      assert.equal(sealedFromJson({...envelope.payload, ciphertext: envelope.payload.ciphertext.slice(0, -4) + '*AA='}), undefined)
      assert.equal(sealedFromJson({...envelope.payload, ciphertext: envelope.payload.ciphertext + '='}), undefined)
    })
  })

  describe('header failures: refused while parsing', () => {
    const damaged: [string, (json: LooseEnvelope) => void, RegExp][] = [
      ['an unknown header field', (j) => (j.extra = 1), /unexpected or missing header fields/],
      ['a missing header field', (j) => delete (j as Record<string, unknown>).created, /unexpected or missing header fields/],
      ['another cipher', (j) => ((j as Record<string, unknown>).cipher = 'chacha20-poly1305'), /unknown cipher/],
      ['a vault id that is not a string', (j) => (j.vault_id = 7 as unknown as string), /header fields missing/],
      ['generation 0 in version 2', (j) => (j.generation = 0), /generation is not a positive integer/],
      ['a fractional generation', (j) => (j.generation = 1.5), /generation is not a positive integer/],
      ['a generation as a string', (j) => (j.generation = '2' as unknown as number), /generation is not a positive integer/],
      ['a generation in version 1', (j) => (j.version = 1), /unexpected or missing header fields/],
      ['no slots', (j) => (j.slots = []), /no unlock slots/],
      ['65 slots', (j) => (j.slots = Array.from({length: 65}, () => j.slots[0])), /too many unlock slots/],
      ['a slot with an extra field', (j) => Object.assign(j.slots[0], {note: 'x'}), /unlock slot 1 is malformed/],
      ['a slot of another type', (j) => Object.assign(j.slots[0], {type: 'yubikey'}), /unlock slot 1 is malformed/],
      ['a short salt', (j) => (j.slots[0].salt = Buffer.alloc(8).toString('base64')), /unlock slot 1 is malformed/],
      ['a long check value', (j) => (j.slots[0].check = Buffer.alloc(32).toString('base64')), /unlock slot 1 is malformed/],
      ['a salt in non-canonical base64', (j) => (j.slots[0].salt = j.slots[0].salt.replace(/^./, '*')), /unlock slot 1 is malformed/],
      ['a wrapped key with a short nonce', (j) => (j.slots[0].wrapped_key.nonce = Buffer.alloc(8).toString('base64')), /unlock slot 1 is malformed/],
      ['a wrapped key with a short tag', (j) => (j.slots[0].wrapped_key.tag = Buffer.alloc(12).toString('base64')), /unlock slot 1 is malformed/],
      ['a key-file slot with KDF parameters', (j) => Object.assign(j.slots[0], {kdf: {name: 'argon2id', memory_kib: 65536, iterations: 3, parallelism: 1}}), /unlock slot 1 is malformed/],
      ['a payload with an extra field', (j) => Object.assign(j.payload, {aad: ''}), /payload is malformed/],
      ['a payload with a 16-byte nonce', (j) => (j.payload.nonce = Buffer.alloc(16).toString('base64')), /payload is malformed/],
      ['a payload without a ciphertext', (j) => delete (j.payload as Partial<typeof j.payload>).ciphertext, /payload is malformed/],
    ]
    for (const [what, edit, message] of damaged) {
      it(`${what}: damaged`, async () => {
        const {bytes} = await savedVault()
        await assertFails(() => parseEnvelope(edited(bytes, edit), FILE), 'VAULT_DAMAGED', message)
      })
    }

    it('passphrase slots: KDF objects with other fields, another function or non-integer parameters are damaged', async () => {
      const {bytes} = await savedVault()
      const passphrase = (kdf: unknown) =>
        edited(bytes, (j) => {
          const slot = j.slots[0] as unknown as PassphraseSlot
          Object.assign(slot, {type: 'passphrase', id: 'passphrase', kdf})
        })
      const good = {name: 'argon2id', memory_kib: 19456, iterations: 2, parallelism: 1}
      assert.ok(parseEnvelope(passphrase(good), FILE))
      for (const kdf of [{...good, salt: 'x'}, {...good, name: 'scrypt'}, {...good, iterations: 2.5}, {...good, memory_kib: '19456'}, 'argon2id']) {
        await assertFails(() => parseEnvelope(passphrase(kdf), FILE), 'VAULT_DAMAGED', /unlock slot 1 is malformed/)
      }
    })

    it('not JSON, not a keyward vault, or another version: each with its own message and a way back', async () => {
      const {bytes} = await savedVault()
      await assertFails(() => parseEnvelope(Buffer.from('{"format":'), FILE), 'VAULT_DAMAGED', /damaged \(not valid JSON\); restore the previous version with `keyward vault restore .*\.bak`/)
      await assertFails(() => parseEnvelope(Buffer.from('[]'), FILE), 'VAULT_DAMAGED', /is not a keyward vault/)
      await assertFails(() => parseEnvelope(edited(bytes, (j) => (j.format = 'age' as 'keyward-vault')), FILE), 'VAULT_DAMAGED', /is not a keyward vault/)
      await assertFails(() => parseEnvelope(edited(bytes, (j) => (j.version = 3)), FILE), 'UNSUPPORTED_VERSION', /format version 3; this keyward reads versions 1 and 2: upgrade keyward/)
      await assertFails(() => parseEnvelope(edited(bytes, (j) => (j.version = '2' as unknown as number)), FILE), 'UNSUPPORTED_VERSION', /format version "2"/)
    })

    it('a header altered within its shape still parses: that is for the seal to catch (see vault.test.ts)', async () => {
      const {bytes} = await savedVault()
      assert.ok(parseEnvelope(edited(bytes, (j) => (j.created = '2020-01-01T00:00:00.000Z')), FILE))
      assert.ok(parseEnvelope(edited(bytes, (j) => (j.payload.tag = flipped(j.payload.tag))), FILE))
    })
  })
})
