/**
 * Opening a whole vault in memory (src/vault/vault.ts over format, slots and payload), sorted
 * the way age's test vectors sort failures:
 * - header: malformed, refused while parsing (format.test.ts);
 * - no match: no slot for this secret, or a wrong passphrase (WRONG_SECRET);
 * - HMAC (header authentication): a well-formed header altered. keyward has no MAC of its own
 *   on the header: the payload's AES-GCM seal takes the whole header as associated data, so an
 *   altered header and an altered payload are both reported as contents that failed
 *   authentication (a slot bound to another vault fails at the slot already);
 * - payload: the seal fails, or it holds but what it sealed is not a payload.
 */
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'

import {seal} from '../../../src/vault/crypto.js'
import {headerAad, parseEnvelope, sealedToJson, serializeEnvelope, type Header} from '../../../src/vault/format.js'
import {Vault} from '../../../src/vault/vault.js'
import {assertFails, edited, FILE, flipped, keyFileMaterial, savedVault, type LooseEnvelope} from './helpers.js'

const CONTENTS_FAILED = /its contents failed authentication after a successful unlock: damaged or tampered with/

describe('vault: open and failure classes', () => {
  it('opens what it saved; every save raises the generation and seals with a fresh nonce', async () => {
    const {material, bytes, envelope} = await savedVault()
    const vault = await Vault.unlock(FILE, envelope, material)
    assert.equal(vault.generation, 1)
    assert.deepEqual(vault.data.secrets.get('API_TOKEN')!.value, Buffer.from('s3cret-value'))
    assert.ok(!bytes.toString('utf8').includes('s3cret-value'))
    const again = parseEnvelope(vault.serialize(), FILE)
    assert.equal(again.generation, 2)
    assert.notEqual(again.payload.nonce, envelope.payload.nonce)
    assert.equal((await Vault.unlock(FILE, again, material)).data.secrets.size, 1)
  })

  it('no match: another key file is a wrong secret', async () => {
    const {envelope} = await savedVault()
    await assertFails(() => Vault.unlock(FILE, envelope, keyFileMaterial()), 'WRONG_SECRET', /does not unlock vault/)
  })

  describe('HMAC: a well-formed header, altered', () => {
    const cases: [string, (j: LooseEnvelope) => void, RegExp][] = [
      ['the creation time', (j) => (j.created = '2020-01-01T00:00:00.000Z'), CONTENTS_FAILED],
      ['the generation raised (a rollback dressed as new)', (j) => (j.generation = 99), CONTENTS_FAILED],
      ['the format version lowered to 1', (j) => ((j.version = 1), delete j.generation), CONTENTS_FAILED],
      ['the slots reordered', (j) => j.slots.push(j.slots.shift()!), CONTENTS_FAILED],
      ['a slot removed', (j) => j.slots.pop(), CONTENTS_FAILED],
      ['the vault id', (j) => (j.vault_id = '00000000-0000-4000-8000-000000000009'), /unlock slot kf-\w+ failed authentication/],
    ]
    for (const [what, edit, message] of cases) {
      it(`${what}: damaged`, async () => {
        const {material, bytes} = await savedVault(keyFileMaterial(), keyFileMaterial())
        assert.ok(await Vault.unlock(FILE, parseEnvelope(bytes, FILE), material), 'opens as saved')
        await assertFails(() => Vault.unlock(FILE, parseEnvelope(edited(bytes, edit), FILE), material), 'VAULT_DAMAGED', message)
      })
    }

    it('a slot added by someone without the data key opens with their key file, and then fails on the contents', async () => {
      const {bytes} = await savedVault()
      const intruder = keyFileMaterial()
      const theirs = await intruder.createSlot(JSON.parse(bytes.toString('utf8')).vault_id, randomBytes(32))
      const envelope = parseEnvelope(edited(bytes, (j) => j.slots.push(theirs)), FILE)
      await assertFails(() => Vault.unlock(FILE, envelope, intruder), 'VAULT_DAMAGED', CONTENTS_FAILED)
    })
  })

  describe('payload', () => {
    for (const part of ['ciphertext', 'tag', 'nonce'] as const) {
      it(`a bit of the payload ${part} flipped: damaged`, async () => {
        const {material, bytes} = await savedVault()
        const envelope = parseEnvelope(edited(bytes, (j) => (j.payload[part] = flipped(j.payload[part]))), FILE)
        await assertFails(() => Vault.unlock(FILE, envelope, material), 'VAULT_DAMAGED', CONTENTS_FAILED)
      })
    }

    it('a sealed payload that is not a payload: damaged, said differently', async () => {
      const material = keyFileMaterial()
      const dek = randomBytes(32)
      const vaultId = '00000000-0000-4000-8000-000000000003'
      const header: Header = {format: 'keyward-vault', version: 2, cipher: 'aes-256-gcm', vault_id: vaultId, created: 'c', generation: 1, slots: [await material.createSlot(vaultId, dek)]}
      const sealed = seal(dek, Buffer.from('{"secrets":[]}'), headerAad(header))
      const envelope = parseEnvelope(serializeEnvelope({...header, payload: sealedToJson(sealed)}), FILE)
      await assertFails(() => Vault.unlock(FILE, envelope, material), 'VAULT_DAMAGED', /payload is not valid/)
    })
  })
})
