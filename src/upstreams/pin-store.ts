/**
 * Pins in an open vault: the `pins` table, one record per upstream. The vault authenticates it,
 * so nobody who cannot write the vault (an upstream, a Redis writer) can forge a pin, and an
 * approval reaches every running server and replica the way any vault change does.
 */
import {tableOf, type VaultData} from '../vault/index.js'
import {diffPins, review, type Listing, type PinDiff, type ReviewOptions, type UpstreamPins} from './pins.js'

export function pinsTable(data: VaultData): Map<string, UpstreamPins> {
  return tableOf<UpstreamPins>(data, 'pins')
}

export function pinsFor(data: VaultData, upstream: string): UpstreamPins | undefined {
  return pinsTable(data).get(upstream)
}

export function setPins(data: VaultData, upstream: string, state: UpstreamPins): void {
  pinsTable(data).set(upstream, state)
}

export function removePins(data: VaultData, upstream: string): boolean {
  return pinsTable(data).delete(upstream)
}

/**
 * Records what an upstream listed against the vault's pins as they are now (inside a vault
 * update, so concurrent writers see each other's pins): pins at first use, pending and missing
 * items after. Leaves the vault as it was when nothing is new.
 */
export function recordListing(data: VaultData, upstream: string, listing: Listing, options: ReviewOptions): ReturnType<typeof review> {
  const result = review(pinsFor(data, upstream), listing, options)
  setPins(data, upstream, result.state)
  return result
}

/** What awaits approval for one upstream, field by field: `upstream diff`, and the console's view of it. */
export function upstreamDiff(data: VaultData, upstream: string): PinDiff[] {
  return diffPins(pinsFor(data, upstream))
}
