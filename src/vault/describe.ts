import type {Slot} from './format.js'

export interface SlotInfo {
  id: string
  type: Slot['type']
  created: string
  kdf?: {name: string; memoryKiB: number; iterations: number; parallelism: number}
  summary: string
}

/** What `vault status` may show of a slot: its kind and parameters, never salts or wrapped keys. */
export function describeSlot(slot: Slot): SlotInfo {
  if (slot.type === 'keyfile') return {id: slot.id, type: slot.type, created: slot.created, summary: `key file ${slot.id}`}
  const {memory_kib: memoryKiB, iterations, parallelism} = slot.kdf
  return {
    id: slot.id,
    type: slot.type,
    created: slot.created,
    kdf: {name: 'argon2id', memoryKiB, iterations, parallelism},
    summary: `passphrase (argon2id, ${memoryKiB / 1024} MiB, t=${iterations}, p=${parallelism})`,
  }
}
