/**
 * SEAM(pins): the pin diff of the hostile-upstreams work. When upstream tool definitions are
 * pinned in the vault, `pinDiff` returns what changed since the pin (added, removed and changed
 * tools, with old and new descriptions and schemas) and `approvePins` records the new
 * definitions as the pins, through updateVault, audited as `upstream.pin.approve`. The page
 * shows the diff and an approve button as soon as `available` is true; until then it says the
 * feature is not there.
 */
import {KeywardError} from '../../errors/index.js'
import {findUpstream} from '../../upstreams/index.js'
import type {VaultData} from '../../vault/index.js'

export interface PinChange {
  tool: string
  change: 'added' | 'removed' | 'changed'
  before?: string
  after?: string
}

export interface PinDiff {
  available: boolean
  /** Set when available: what differs from the pins (empty: nothing). */
  changes?: PinChange[]
  note?: string
}

export function pinDiff(data: VaultData, name: string): PinDiff {
  findUpstream(data, name)
  return {available: false, note: 'Pinned tool definitions are not part of this version of keyward yet.'}
}

export async function approvePins(data: VaultData, name: string): Promise<never> {
  findUpstream(data, name)
  throw new KeywardError('INVALID_INPUT', 'pinned tool definitions are not part of this version of keyward yet; nothing was changed')
}
