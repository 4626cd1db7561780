import {KeywardError} from '../errors/index.js'
import {open, randomKey, seal} from './crypto.js'
import {
  CIPHER,
  damaged,
  FORMAT_NAME,
  FORMAT_VERSION,
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
    const data = decodeData(plaintext)
    if (!data) throw damaged(file, 'payload is not valid')
    return new Vault(file, header, data, dek)
  }

  static async create(file: string, materials: KeyMaterial[]): Promise<Vault> {
    const dek = randomKey()
    const vaultId = newVaultId()
    const slots: Slot[] = []
    for (const m of materials) slots.push(await m.createSlot(vaultId, dek))
    const header: Header = {format: FORMAT_NAME, version: FORMAT_VERSION, cipher: CIPHER, vault_id: vaultId, created: new Date().toISOString(), slots}
    return new Vault(file, header, emptyData(), dek)
  }

  /** Adds a slot for `material`, replacing its earlier slot (a passphrase has at most one). */
  async addSlot(material: KeyMaterial): Promise<Slot> {
    const slot = await material.createSlot(this.header.vault_id, this.dek)
    this.header = {...this.header, slots: [...this.header.slots.filter((s) => s.id !== slot.id), slot]}
    return slot
  }

  removeSlot(id: string): void {
    const slots = this.header.slots.filter((s) => s.id !== id)
    if (slots.length === this.header.slots.length) {
      throw new KeywardError('NOT_FOUND', `vault ${this.file} has no unlock slot ${id}; see \`keyward vault status\``)
    }
    if (slots.length === 0) {
      throw new KeywardError('INVALID_INPUT', `refusing to remove the last unlock slot of ${this.file}: the vault could never be opened again; add another first`)
    }
    this.header = {...this.header, slots}
  }

  /**
   * A fresh data key, wrapped again for each slot. Every slot's secret is needed to re-wrap it;
   * slots without one are dropped only when `dropOthers` says so.
   */
  async rotateDataKey(materials: KeyMaterial[], dropOthers: boolean): Promise<{kept: string[]; dropped: string[]}> {
    const byId = new Map<string, KeyMaterial>()
    for (const m of materials) {
      const slot = m.findSlot(this.header, this.file)
      await m.unwrap(this.header, slot, this.file) // proves the secret opens that slot
      byId.set(slot.id, m)
    }
    const missing = this.header.slots.filter((s) => !byId.has(s.id)).map((s) => s.id)
    if (missing.length > 0 && !dropOthers) {
      throw new KeywardError(
        'INPUT_REQUIRED',
        `rotating the data key needs the secret of every unlock slot; missing: ${missing.join(', ')}. Supply them, or pass --drop-other-slots to remove those slots`,
      )
    }
    const dek = randomKey()
    const slots: Slot[] = []
    for (const slot of this.header.slots) {
      const m = byId.get(slot.id)
      if (m) slots.push(await m.createSlot(this.header.vault_id, dek))
    }
    this.header = {...this.header, slots}
    this.dek = dek
    return {kept: slots.map((s) => s.id), dropped: missing}
  }

  /** The envelope bytes for the current state, sealed with a fresh nonce. */
  serialize(): Buffer {
    const sealed = seal(this.dek, encodeData(this.data), headerAad(this.header))
    return serializeEnvelope({...this.header, payload: sealedToJson(sealed)})
  }
}
