/**
 * A lease in Redis: `SET key token NX PX ttl`, released only by its holder (compare-and-delete).
 * Writers of one vault across hosts (a replica renewing upstream tokens, the CLI) take the same
 * lease around "take the newest copy, change, publish", so their changes line up one after the
 * other instead of forking the vault. A Redis writer can delete or hold the lease: that can make
 * a write wait or race, never read or forge what is written (the copy stays encrypted and signed).
 */
import {randomBytes} from 'node:crypto'

import type {Redis} from './client.js'

export const leaseKey = (vaultId: string, name: string) => `keyward:lease:${vaultId}:${name}`

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`

export interface Lease {
  /** Whether Redis still says this holder has it (a lease past its TTL may have gone to another). */
  held(): Promise<boolean>
  release(): Promise<void>
}

/** Takes the lease, waiting up to `waitMs` for its holder; undefined if it stayed taken. Throws when Redis fails. */
export async function acquireLease(redis: Redis, key: string, ttlMs: number, waitMs: number): Promise<Lease | undefined> {
  const token = randomBytes(16).toString('hex')
  const deadline = Date.now() + waitMs
  for (let pause = 20; ; pause = Math.min(pause * 2, 200)) {
    if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') {
      return {
        held: async () => (await redis.get(key)) === token,
        release: async () => {
          await redis.eval(RELEASE, 1, key, token).catch(() => {})
        },
      }
    }
    if (Date.now() + pause > deadline) return undefined
    await new Promise((resolve) => setTimeout(resolve, pause))
  }
}
