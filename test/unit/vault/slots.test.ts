/**
 * Unlock slots (src/vault/slots.ts): wrapping the data key under a key-file or passphrase
 * secret, and unwrapping it; telling a wrong secret (WRONG_SECRET) from an altered slot
 * (VAULT_DAMAGED). Passphrase slots are built here from docs/vault-format.md, at the lowest
 * argon2id parameters the code accepts, so the spec is checked and the tests stay fast.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {deriveSubkey, seal} from '../../../src/vault/crypto.js'
import {sealedToJson, type Header, type KeyFileSlot, type PassphraseSlot, type Slot} from '../../../src/vault/format.js'
import {argon2id, type Argon2idParams} from '../../../src/vault/kdf.js'
import {checkNewPassphrase, KeyMaterial, keyFileSlotId, PASSPHRASE_SLOT_ID} from '../../../src/vault/slots.js'
import {assertFails, FILE, flipped, keyFileMaterial} from './helpers.js'

/** OWASP's floor, the lowest the code accepts. */
const MIN_KDF: Argon2idParams = {name: 'argon2id', memory_kib: 19_456, iterations: 2, parallelism: 1}
const VAULT_ID = '00000000-0000-4000-8000-000000000001'

function headerWith(slots: Slot[], vaultId = VAULT_ID): Header {
  return {format: 'keyward-vault', version: 2, cipher: 'aes-256-gcm', vault_id: vaultId, created: 'c', generation: 1, slots}
}

/** A passphrase slot exactly as docs/vault-format.md specifies it. */
async function specPassphraseSlot(passphrase: string, dek: Buffer, kdf = MIN_KDF): Promise<PassphraseSlot> {
  const salt = randomBytes(16)
  const root = await argon2id(passphrase, salt, kdf, FILE)
  const aad = Buffer.from(`keyward-vault v1 slot\0${VAULT_ID}\0passphrase\0${PASSPHRASE_SLOT_ID}`, 'utf8')
  return {
    type: 'passphrase',
    id: PASSPHRASE_SLOT_ID,
    created: 'c',
    kdf,
    salt: salt.toString('base64'),
    check: deriveSubkey(root, salt, 'keyward-vault v1 check', 16).toString('base64'),
    wrapped_key: sealedToJson(seal(deriveSubkey(root, salt, 'keyward-vault v1 wrap'), dek, aad)),
  }
}

const passphrase = (value: string) => new KeyMaterial({kind: 'passphrase', passphrase: value, origin: 'test'})

describe('vault slots', function () {
  this.timeout(20_000)

  describe('key-file slots', () => {
    it('wrap the data key and unwrap it again; the slot id is the key file fingerprint', async () => {
      const material = keyFileMaterial()
      const dek = randomBytes(32)
      const slot = (await material.createSlot(VAULT_ID, dek)) as KeyFileSlot
      assert.equal(slot.type, 'keyfile')
      assert.match(slot.id, /^kf-[0-9a-f]{16}$/)
      assert.equal(slot.id, material.slotId)
      assert.ok(!JSON.stringify(slot).includes(dek.toString('base64')), 'the data key is not in the slot')
      const header = headerWith([slot])
      assert.deepEqual(await material.unwrap(header, material.findSlot(header, FILE), FILE), dek)
    })

    it('the fingerprint is fixed by the key alone', () => {
      const key = randomBytes(32)
      assert.equal(keyFileSlotId(key), keyFileSlotId(Buffer.from(key)))
      assert.notEqual(keyFileSlotId(key), keyFileSlotId(randomBytes(32)))
    })

    it('another key file finds no slot: a wrong secret, with what to use instead', async () => {
      const header = headerWith([await keyFileMaterial().createSlot(VAULT_ID, randomBytes(32))])
      await assertFails(() => keyFileMaterial().findSlot(header, FILE), 'WRONG_SECRET', /does not unlock vault .*; use the key file made for it/)
      await assertFails(() => passphrase('a passphrase long enough').findSlot(header, FILE), 'WRONG_SECRET', /has no passphrase; unlock it with its key file/)
    })

    it('an altered check value, wrapped key, vault id or slot id is damage, not a wrong secret', async () => {
      const material = keyFileMaterial()
      const slot = (await material.createSlot(VAULT_ID, randomBytes(32))) as KeyFileSlot
      const cases: [string, Header, RegExp][] = [
        ['check', headerWith([{...slot, check: flipped(slot.check)}]), /unlock slot kf-\w+ was altered/],
        ['salt', headerWith([{...slot, salt: flipped(slot.salt)}]), /unlock slot kf-\w+ was altered/],
        ['wrapped ciphertext', headerWith([{...slot, wrapped_key: {...slot.wrapped_key, ciphertext: flipped(slot.wrapped_key.ciphertext)}}]), /unlock slot kf-\w+ failed authentication/],
        ['wrapped tag', headerWith([{...slot, wrapped_key: {...slot.wrapped_key, tag: flipped(slot.wrapped_key.tag)}}]), /failed authentication/],
        ['wrapped nonce', headerWith([{...slot, wrapped_key: {...slot.wrapped_key, nonce: flipped(slot.wrapped_key.nonce)}}]), /failed authentication/],
        ['moved to another vault', headerWith([slot], '00000000-0000-4000-8000-000000000002'), /failed authentication/],
      ]
      for (const [what, header, message] of cases) {
        await assertFails(() => material.unwrap(header, header.slots[0], FILE), 'VAULT_DAMAGED', message).catch((err: Error) => assert.fail(`${what}: ${err.message}`))
      }
    })

    it('a slot that unwraps to anything but 32 bytes is damaged', async () => {
      const material = keyFileMaterial()
      const slot = (await material.createSlot(VAULT_ID, randomBytes(16))) as KeyFileSlot
      await assertFails(() => material.unwrap(headerWith([slot]), slot, FILE), 'VAULT_DAMAGED', /failed authentication/)
    })
  })

  describe('passphrase slots', () => {
    it('a slot made as the spec says opens with its passphrase, typed in any Unicode normal form', async () => {
      const dek = randomBytes(32)
      const composed = 'caf\u00e9 au lait, s\u2019il vous pla\u00eet'
      const header = headerWith([await specPassphraseSlot(composed, dek)])
      const material = passphrase(composed.normalize('NFD'))
      assert.equal(material.slotId, PASSPHRASE_SLOT_ID)
      assert.deepEqual(await material.unwrap(header, material.findSlot(header, FILE), FILE), dek)
    })

    it('a wrong passphrase is a wrong secret, not damage', async () => {
      const header = headerWith([await specPassphraseSlot('the right passphrase', randomBytes(32))])
      const material = passphrase('the wrong passphrase')
      await assertFails(() => material.unwrap(header, material.findSlot(header, FILE), FILE), 'WRONG_SECRET', /wrong passphrase for vault/)
    })

    it('KDF parameters outside the accepted range are refused before any work', async () => {
      const slot = await specPassphraseSlot('the right passphrase', randomBytes(32))
      const cases: Partial<Argon2idParams>[] = [{memory_kib: 19_455}, {iterations: 1}, {parallelism: 0}, {memory_kib: 1_048_577}, {iterations: 17}, {parallelism: 9}]
      for (const change of cases) {
        const header = headerWith([{...slot, kdf: {...slot.kdf, ...change}}])
        await assertFails(() => passphrase('the right passphrase').unwrap(header, header.slots[0], FILE), 'VAULT_DAMAGED', /outside the accepted range/)
      }
    })

    it('a parameter raised within range cannot be told from a wrong passphrase (the slot has no MAC of its own; the payload seal covers it)', async () => {
      const slot = await specPassphraseSlot('the right passphrase', randomBytes(32))
      const header = headerWith([{...slot, kdf: {...slot.kdf, iterations: 3}}])
      await assertFails(() => passphrase('the right passphrase').unwrap(header, header.slots[0], FILE), 'WRONG_SECRET', /wrong passphrase/)
    })
  })

  it('a new passphrase needs 12 characters and no surrounding whitespace', () => {
    assert.equal(checkNewPassphrase('correct horse'), true)
    assert.match(String(checkNewPassphrase('short')), /at least 12 characters/)
    assert.match(String(checkNewPassphrase(' padded passphrase')), /whitespace/)
    assert.notEqual(checkNewPassphrase('\u{1F511}'.repeat(6)), true, 'six characters, though twelve UTF-16 units')
  })
})
