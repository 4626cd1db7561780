import {hash} from 'node:crypto'

import {KeywardError} from '../errors/index.js'
import {open, randomKey, seal} from './crypto.js'
import {
  CIPHER,
  damaged,
  FORMAT_NAME,
  FORMAT_VERSION,
  generationOf,
  headerAad,
  headerOf,
  sealedFromJson,
  sealedToJson,
  serializeEnvelope,
  type Envelope,
  type Header,
  type Slot,
} from './format.js'
import {decodeData, emptyData, encodeData, type VaultData} from './payload.js'
import {KeyMaterial, newVaultId} from './slots.js'

/** What a change of unlock slots did: which slots were kept, added, removed, or dropped for want of their secret. */
export interface RekeyResult {
  kept: string[]
  added: string[]
  removed: string[]
  dropped: string[]
}

export interface RekeyOptions {
  /** Secrets of existing slots, so that those slots can wrap the new data key. */
  secrets: KeyMaterial[]
  /** New slots (a new passphrase replaces the old one). */
  add?: KeyMaterial[]
  /** Slot ids to remove. */
  remove?: string[]
  /** Drop the slots whose secret is not among `secrets`, instead of refusing. */
  dropOthers?: boolean
}

/** An unlocked vault in memory. Changes reach the disk only through updateVault(). */
export class Vault {
  private constructor(
    readonly file: string,
    public header: Header,
    public data: VaultData,
    private dek: Buffer,
  ) {}

  static async unlock(file: string, envelope: Envelope, material: KeyMaterial): Promise<Vault> {
    const header = headerOf(envelope)
    const slot = material.findSlot(header, file)
    const dek = await material.unwrap(header, slot, file)
    const sealed = sealedFromJson(envelope.payload)
    const plaintext = sealed && open(dek, sealed, headerAad(header))
    if (!plaintext) {
      throw damaged(file, 'its contents failed authentication after a successful unlock: damaged or tampered with')
    }
    const data = decodeData(plaintext, header.version)
    if (!data) throw damaged(file, 'payload is not valid')
    return new Vault(file, header, data, dek)
  }

  static async create(file: string, materials: KeyMaterial[]): Promise<Vault> {
    const dek = randomKey()
    const vaultId = newVaultId()
    const slots: Slot[] = []
    for (const m of materials) slots.push(await m.createSlot(vaultId, dek))
    const header: Header = {format: FORMAT_NAME, version: FORMAT_VERSION, cipher: CIPHER, vault_id: vaultId, created: new Date().toISOString(), generation: 0, slots}
    return new Vault(file, header, emptyData(), dek)
  }

  get generation(): number {
    return generationOf(this.header)
  }

  /**
   * Adds a slot for `material` that wraps the current data key. Only for adding access: a slot
   * that replaces or removes one must come with a new data key (see rekey), or every old copy
   * of the vault would still open with the old secret and decrypt what is current.
   */
  async addSlot(material: KeyMaterial): Promise<Slot> {
    if (this.header.slots.some((s) => s.id === material.slotId)) {
      throw new KeywardError('ALREADY_EXISTS', `vault ${this.file} already has unlock slot ${material.slotId}`)
    }
    const slot = await material.createSlot(this.header.vault_id, this.dek)
    this.header = {...this.header, slots: [...this.header.slots, slot]}
    return slot
  }

  /**
   * A fresh data key, wrapped for every slot that remains, and new slots for `add`. Each
   * remaining slot needs its secret; slots without one are dropped only with `dropOthers`.
   * Everything is re-encrypted under the new key at the next save, so a copy of the vault made
   * before this opens only with the secrets it had, and only to the contents it had.
   */
  async rekey(options: RekeyOptions): Promise<RekeyResult> {
    const add = options.add ?? []
    const remove = new Set(options.remove ?? [])
    for (const id of remove) {
      if (!this.header.slots.some((s) => s.id === id)) {
        throw new KeywardError('NOT_FOUND', `vault ${this.file} has no unlock slot ${id}; see \`keyward vault status\``)
      }
    }
    const replaced = new Set(add.map((m) => m.slotId))
    const bySlot = new Map<string, KeyMaterial>()
    for (const m of options.secrets) {
      if (!m.opens(this.header)) continue
      const slot = m.findSlot(this.header, this.file)
      await m.unwrap(this.header, slot, this.file) // proves the secret opens that slot
      bySlot.set(slot.id, m)
    }
    const remaining = this.header.slots.filter((s) => !remove.has(s.id) && !replaced.has(s.id))
    const missing = remaining.filter((s) => !bySlot.has(s.id)).map((s) => s.id)
    if (missing.length > 0 && !options.dropOthers) {
      throw new KeywardError(
        'INPUT_REQUIRED',
        `a new data key must be wrapped for every unlock slot that stays, and the secret of ${missing.join(', ')} was not given; supply it (--other-key-file, --passphrase-file), or pass --drop-other-slots to remove those slots`,
      )
    }
    const kept = remaining.filter((s) => bySlot.has(s.id))
    if (kept.length + add.length === 0) {
      throw new KeywardError('INVALID_INPUT', `refusing to remove the last unlock slot of ${this.file}: the vault could never be opened again; add another first`)
    }
    const dek = randomKey()
    const slots: Slot[] = []
    for (const slot of kept) slots.push(await bySlot.get(slot.id)!.createSlot(this.header.vault_id, dek))
    for (const m of add) slots.push(await m.createSlot(this.header.vault_id, dek))
    this.header = {...this.header, slots}
    this.dek = dek
    return {
      kept: kept.map((s) => s.id),
      added: add.map((m) => m.slotId),
      removed: [...remove],
      dropped: missing,
    }
  }

  /**
   * The envelope bytes for the current state, sealed with a fresh nonce, one generation past
   * the one read (or `generation`, when restoring over a newer copy).
   */
  serialize(generation = this.generation + 1): Buffer {
    this.header = {...this.header, version: FORMAT_VERSION, generation}
    const sealed = seal(this.dek, encodeData(this.data), headerAad(this.header))
    return serializeEnvelope({...this.header, payload: sealedToJson(sealed)})
  }

  /** A fingerprint of the contents and slots, to tell a change from a no-op without writing. */
  contentFingerprint(): string {
    return hash('sha256', Buffer.concat([Buffer.from(JSON.stringify(this.header.slots) + '\0'), encodeData(this.data)]), 'hex')
  }
}
