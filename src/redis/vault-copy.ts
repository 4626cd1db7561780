/**
 * The vault in Redis, for replicas on other hosts: the file's bytes exactly as on disk (still
 * encrypted; Redis never sees a plaintext), with a stamp (generation and SHA-256 of the bytes)
 * that carries a MAC with the cluster key. Nothing Redis holds is trusted unless that MAC
 * verifies: a Redis writer who edits the generation (to make the CLI skip its store, or a
 * replica skip a newer copy) only makes the stamp fail, and the CLI then replaces the copy.
 *
 * Lua cannot check a MAC (Redis has no key), so the CLI decides, and the script only makes
 * the store conditional on the copy being the one the CLI judged (compare-and-set on its MAC).
 */
import {createHash} from 'node:crypto'

import type {Redis} from './client.js'
import {noticeMessage, type VaultNotice} from './notice.js'
import {sign, verify} from './signing.js'

export type {VaultNotice} from './notice.js'

const PREFIX = 'keyward'
export const vaultKey = (vaultId: string) => `${PREFIX}:vault:${vaultId}`
export const vaultChannel = (vaultId: string) => `${PREFIX}:vault:${vaultId}:changes`

/** What Redis says of its copy: believe `generation` only when `authentic`. */
export interface CopyStamp {
  generation: number
  digest: string
  authentic: boolean
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
const stampFields = (vaultId: string, generation: number, digest: string) => [vaultId, generation, digest]

/** Store and publish, only if the copy's MAC is still the one the caller judged ('' for none). 1 when stored. */
const STORE_AND_PUBLISH = `
if (redis.call('HGET', KEYS[1], 'mac') or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'generation', ARGV[2], 'digest', ARGV[3], 'mac', ARGV[4], 'bytes', ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1`

export type PublishOutcome =
  /** The copy is stored, and the notice went with it. */
  | {stored: true}
  /**
   * Redis holds an authentic copy of generation `held` that this one must not replace (newer,
   * or the same generation with other bytes: written elsewhere), or the store lost a race with
   * another writer three times (`held` undefined). The notice was published all the same.
   */
  | {stored: false; held?: number; same: boolean}

/**
 * Stores `bytes` (generation `notice.generation`) unless Redis holds an authentic copy at least
 * as new, and publishes the signed notice either way: revocations reach the replicas even when
 * the copy cannot be stored.
 */
export async function publishVault(redis: Redis, key: Buffer, notice: VaultNotice, bytes: Buffer): Promise<PublishOutcome> {
  const {vaultId, generation} = notice
  const digest = sha256(bytes)
  const message = noticeMessage(key, notice)
  for (let attempt = 0; attempt < 3; attempt++) {
    const [heldGeneration, heldDigest, heldMac] = await redis.hmget(vaultKey(vaultId), 'generation', 'digest', 'mac')
    const held = judge(key, vaultId, heldGeneration, heldDigest, heldMac)
    if (held?.authentic && held.generation >= generation) {
      await redis.publish(vaultChannel(vaultId), message)
      return {stored: false, held: held.generation, same: held.generation === generation && held.digest === digest}
    }
    const mac = sign(key, 'copy', stampFields(vaultId, generation, digest))
    const stored = await redis.eval(STORE_AND_PUBLISH, 1, vaultKey(vaultId), heldMac ?? '', String(generation), digest, mac, bytes.toString('base64'), vaultChannel(vaultId), message)
    if (stored === 1) return {stored: true}
  }
  await redis.publish(vaultChannel(vaultId), message)
  return {stored: false, same: false}
}

function judge(key: Buffer | undefined, vaultId: string, generation: string | null, digest: string | null, mac: string | null): CopyStamp | undefined {
  if (generation === null || digest === null) return undefined
  const value = Number(generation)
  if (!Number.isSafeInteger(value)) return {generation: 0, digest, authentic: false}
  return {generation: value, digest, authentic: verify(key, 'copy', stampFields(vaultId, value, digest), mac)}
}

/** The stamp of the copy in Redis (cheap: no bytes), judged with `key`; undefined when there is no copy. */
export async function copyStamp(redis: Redis, key: Buffer | undefined, vaultId: string): Promise<CopyStamp | undefined> {
  const [generation, digest, mac] = await redis.hmget(vaultKey(vaultId), 'generation', 'digest', 'mac')
  return judge(key, vaultId, generation, digest, mac)
}

/**
 * The copy's bytes, with its stamp. With a key, only an authentic copy whose bytes match its
 * stamp is returned (`authentic` true); without one (a vault with no audit key yet), whatever is
 * there, to be trusted only once it opens with the vault's own secret.
 */
export async function fetchVault(redis: Redis, key: Buffer | undefined, vaultId: string): Promise<(CopyStamp & {bytes: Buffer}) | undefined> {
  const [generation, digest, mac, encoded] = await redis.hmget(vaultKey(vaultId), 'generation', 'digest', 'mac', 'bytes')
  if (encoded === null) return undefined
  const bytes = Buffer.from(encoded, 'base64')
  const stamp = judge(key, vaultId, generation, digest, mac) ?? {generation: 0, digest: '', authentic: false}
  return {...stamp, authentic: stamp.authentic && sha256(bytes) === stamp.digest, bytes}
}
