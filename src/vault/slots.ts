/**
 * Unlock slots: each wraps the vault's data key (DEK) under a key-encryption key derived from
 * one secret, a passphrase (argon2id) or a key file (32 random bytes). A slot also stores a
 * 16-byte check value derived from the same secret, which is what lets keyward tell
 * "wrong passphrase" apart from "the slot was damaged".
 */
import {createHash, randomBytes, randomUUID, timingSafeEqual} from 'node:crypto'

import {KeywardError} from '../errors/index.js'
import {deriveSubkey, open, seal} from './crypto.js'
import {damaged, sealedFromJson, sealedToJson, type Header, type PassphraseSlot, type Slot} from './format.js'
import {argon2id, DEFAULT_ARGON2ID} from './kdf.js'

export const KEY_FILE_BYTES = 32
export const PASSPHRASE_SLOT_ID = 'passphrase'

export type UnlockSource =
  | {kind: 'keyfile'; key: Buffer; origin: string}
  | {kind: 'passphrase'; passphrase: string; origin: string}

interface SlotKeys {
  wrapKey: Buffer
  check: Buffer
}

/** Public fingerprint of a key file: the id of the slot it opens. */
export function keyFileSlotId(key: Buffer): string {
  return 'kf-' + createHash('sha256').update('keyward key file id\0').update(key).digest('hex').slice(0, 16)
}

function slotKeys(root: Buffer, salt: Buffer): SlotKeys {
  return {
    wrapKey: deriveSubkey(root, salt, 'keyward-vault v1 wrap'),
    check: deriveSubkey(root, salt, 'keyward-vault v1 check', 16),
  }
}

function wrapAad(vaultId: string, slot: Pick<Slot, 'id' | 'type'>): Buffer {
  return Buffer.from(`keyward-vault v1 slot\0${vaultId}\0${slot.type}\0${slot.id}`, 'utf8')
}

/**
 * One user-supplied secret, with its derived slot keys cached by salt, so that re-reading the
 * vault under the write lock does not pay for argon2id a second time.
 */
export class KeyMaterial {
  private readonly cache = new Map<string, SlotKeys>()

  constructor(readonly source: UnlockSource) {}

  get kind(): UnlockSource['kind'] {
    return this.source.kind
  }

  /** The id of the slot this secret opens: a key file's fingerprint, or the one passphrase slot. */
  get slotId(): string {
    return this.source.kind === 'keyfile' ? keyFileSlotId(this.source.key) : PASSPHRASE_SLOT_ID
  }

  opens(header: Header): boolean {
    return header.slots.some((s) => s.id === this.slotId && s.type === this.source.kind)
  }

  /** The slot this secret can open, or a clear reason why it has none. */
  findSlot(header: Header, file: string): Slot {
    const slot = header.slots.find((s) => s.id === this.slotId && s.type === this.source.kind)
    if (slot) return slot
    if (this.source.kind === 'keyfile') {
      const hasPass = header.slots.some((s) => s.type === 'passphrase')
      throw new KeywardError(
        'WRONG_SECRET',
        `key file ${this.source.origin} does not unlock vault ${file}` + (hasPass ? '; use its passphrase or another key file' : '; use the key file made for it'),
      )
    }
    throw new KeywardError('WRONG_SECRET', `vault ${file} has no passphrase; unlock it with its key file (--key-file or KEYWARD_KEY_FILE)`)
  }

  private async keysFor(slot: Slot, file: string): Promise<SlotKeys> {
    const salt = Buffer.from(slot.salt, 'base64')
    const cacheKey = slot.type === 'passphrase' ? `${slot.salt}:${slot.kdf.memory_kib}:${slot.kdf.iterations}:${slot.kdf.parallelism}` : slot.salt
    let keys = this.cache.get(cacheKey)
    if (!keys) {
      const root =
        this.source.kind === 'keyfile'
          ? this.source.key
          : await argon2id(this.source.passphrase, salt, (slot as PassphraseSlot).kdf, file)
      keys = slotKeys(root, salt)
      this.cache.set(cacheKey, keys)
    }
    return keys
  }

  /** Unwraps the DEK. Throws WRONG_SECRET when the secret is not this slot's, VAULT_DAMAGED when the slot was altered. */
  async unwrap(header: Header, slot: Slot, file: string): Promise<Buffer> {
    const keys = await this.keysFor(slot, file)
    const check = Buffer.from(slot.check, 'base64')
    if (!timingSafeEqual(keys.check, check)) {
      if (this.source.kind === 'passphrase') {
        throw new KeywardError('WRONG_SECRET', `wrong passphrase for vault ${file}; check KEYWARD_PASSPHRASE or retype it`)
      }
      // The key file's fingerprint named this slot, so the slot itself must have changed.
      throw damaged(file, `unlock slot ${slot.id} was altered`)
    }
    const wrapped = sealedFromJson(slot.wrapped_key)
    const dek = wrapped && open(keys.wrapKey, wrapped, wrapAad(header.vault_id, slot))
    if (!dek || dek.length !== 32) {
      throw damaged(file, `unlock slot ${slot.id} failed authentication`)
    }
    return dek
  }

  /** A new slot for this secret that wraps `dek`. */
  async createSlot(vaultId: string, dek: Buffer): Promise<Slot> {
    const salt = randomBytes(16)
    const created = new Date().toISOString()
    const base =
      this.source.kind === 'keyfile'
        ? ({type: 'keyfile', id: this.slotId, created} as const)
        : ({type: 'passphrase', id: PASSPHRASE_SLOT_ID, created, kdf: {...DEFAULT_ARGON2ID}} as const)
    const draft = {...base, salt: salt.toString('base64'), check: '', wrapped_key: {nonce: '', ciphertext: '', tag: ''}} as Slot
    const keys = await this.keysFor(draft, 'the new vault')
    draft.check = keys.check.toString('base64')
    draft.wrapped_key = sealedToJson(seal(keys.wrapKey, dek, wrapAad(vaultId, draft)))
    return draft
  }
}

export function newVaultId(): string {
  return randomUUID()
}

export const MIN_PASSPHRASE_LENGTH = 12

/** Validation for a new passphrase: true, or the reason it is refused. */
export function checkNewPassphrase(passphrase: string): string | true {
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) return `a passphrase needs at least ${MIN_PASSPHRASE_LENGTH} characters`
  if (passphrase.trim() !== passphrase) return 'a passphrase cannot start or end with whitespace'
  return true
}
