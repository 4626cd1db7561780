/**
 * The vault in Redis, for replicas on other hosts: the file's bytes exactly as on disk (still
 * encrypted; Redis never sees a plaintext), with a stamp (generation and SHA-256 of the bytes)
 * that carries a MAC with the cluster key. Nothing Redis holds is trusted unless that MAC
 * verifies: a Redis writer who edits the generation (to make the CLI skip its store, or a
 * replica skip a newer copy) only makes the stamp fail, and the CLI then replaces the copy.
 *
 * Lua cannot check a MAC (Redis has no key), so the CLI decides, and the script only makes
 * the store conditional on the copy being the one the CLI judged (compare-and-set on its MAC).
 *
 * What is read is bounded whatever a Redis writer stored: each field is judged by its length in
 * Redis (a script) before it is sent, so a huge value costs a replica a refusal, not the download;
 * the copy itself at most MAX_COPY_BYTES, which the CLI also refuses to store beyond.
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

/** The largest vault file that travels through Redis (a vault holds few secrets of at most 1 MiB each). */
export const MAX_COPY_BYTES = 64 * 1024 * 1024
const MAX_COPY_BASE64 = Math.ceil(MAX_COPY_BYTES / 3) * 4
/** A stamp's fields: a generation, a SHA-256 in hex, a MAC in base64url. */
const MAX_STAMP_FIELD = 128
/** What the CLI compares the copy's MAC with when the copy is not one it could read (too large, not a hash): it replaces it. */
const UNREADABLE = '-'

/**
 * The copy's fields named in ARGV (name, largest length, …): each value, false for one absent, 0
 * for one larger than its limit (not sent). False for no copy at all, 0 for a key that is not a hash.
 */
const READ_FIELDS = `
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return false end
if t ~= 'hash' then return 0 end
local out = {}
for i = 1, #ARGV, 2 do
  if redis.call('HSTRLEN', KEYS[1], ARGV[i]) > tonumber(ARGV[i + 1]) then
    out[#out + 1] = 0
  else
    out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or false
  end
end
return out`

type Field = string | null | typeof TOO_LARGE
const TOO_LARGE = Symbol('too large')

/** The copy's fields, each read only when within its limit; undefined when there is no copy, 'unreadable' for a key that is not a hash. */
async function readFields(redis: Redis, vaultId: string, fields: [name: string, max: number][]): Promise<Field[] | 'unreadable' | undefined> {
  const reply = (await redis.eval(READ_FIELDS, 1, vaultKey(vaultId), ...fields.flat())) as (string | number | null)[] | number | null
  if (reply === null) return undefined
  if (!Array.isArray(reply)) return 'unreadable'
  return fields.map((_, i) => (typeof reply[i] === 'number' ? TOO_LARGE : ((reply[i] as string | null) ?? null)))
}

const STAMP_FIELDS: [string, number][] = [
  ['generation', MAX_STAMP_FIELD],
  ['digest', MAX_STAMP_FIELD],
  ['mac', MAX_STAMP_FIELD],
]

/** The stamp as read (its MAC too, for the compare-and-set); `mac` is UNREADABLE for a copy that could not be read. */
async function readStamp(redis: Redis, key: Buffer | undefined, vaultId: string): Promise<(CopyStamp & {mac: string}) | undefined> {
  const fields = await readFields(redis, vaultId, STAMP_FIELDS)
  if (fields === undefined) return undefined
  if (fields === 'unreadable' || fields.includes(TOO_LARGE)) return {generation: 0, digest: '', authentic: false, mac: UNREADABLE}
  const [generation, digest, mac] = fields as (string | null)[]
  // A hash without a generation or a digest is no stamp: it fails authentication like a forged one.
  const stamp = judge(key, vaultId, generation, digest, mac) ?? {generation: 0, digest: '', authentic: false}
  return {...stamp, mac: mac ?? ''}
}
const stampFields = (vaultId: string, generation: number, digest: string) => [vaultId, generation, digest]

/**
 * Store and publish, only if the copy's MAC is still the one the caller judged ('' for none, '-'
 * for a copy it could not read: larger than ARGV[8], or not a hash). 1 when stored.
 */
const STORE_AND_PUBLISH = `
local t = redis.call('TYPE', KEYS[1]).ok
local held = ''
if t == 'hash' then
  if redis.call('HSTRLEN', KEYS[1], 'mac') > tonumber(ARGV[8]) then held = '-' else held = redis.call('HGET', KEYS[1], 'mac') or '' end
elseif t ~= 'none' then
  held = '-'
end
if held ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'generation', ARGV[2], 'digest', ARGV[3], 'mac', ARGV[4], 'bytes', ARGV[5])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1`

export type PublishOutcome =
  /** The copy is stored, and the notice went with it. */
  | {stored: true}
  /**
   * Redis holds an authentic copy of generation `held` (SHA-256 `heldDigest`) that this one must
   * not replace (newer, or the same generation with other bytes: written elsewhere), or the store
   * lost a race with another writer three times (`held` undefined). The notice was published all
   * the same.
   */
  | {stored: false; held?: number; heldDigest?: string; same: boolean}

/**
 * Stores `bytes` (generation `notice.generation`) unless Redis holds an authentic copy at least
 * as new, and publishes the signed notice either way: revocations reach the replicas even when
 * the copy cannot be stored.
 */
export async function publishVault(redis: Redis, key: Buffer, notice: VaultNotice, bytes: Buffer): Promise<PublishOutcome> {
  const {vaultId, generation} = notice
  if (bytes.length > MAX_COPY_BYTES) throw new Error(`the vault file is larger than ${MAX_COPY_BYTES / 1024 / 1024} MiB, the most a replica takes from Redis`)
  const digest = sha256(bytes)
  const message = noticeMessage(key, notice)
  for (let attempt = 0; attempt < 3; attempt++) {
    const held = await readStamp(redis, key, vaultId)
    if (held?.authentic && held.generation >= generation) {
      await redis.publish(vaultChannel(vaultId), message)
      return {stored: false, held: held.generation, heldDigest: held.digest, same: held.generation === generation && held.digest === digest}
    }
    const mac = sign(key, 'copy', stampFields(vaultId, generation, digest))
    const stored = await redis.eval(STORE_AND_PUBLISH, 1, vaultKey(vaultId), held?.mac ?? '', String(generation), digest, mac, bytes.toString('base64'), vaultChannel(vaultId), message, MAX_STAMP_FIELD)
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
  const stamp = await readStamp(redis, key, vaultId)
  return stamp && {generation: stamp.generation, digest: stamp.digest, authentic: stamp.authentic}
}

/**
 * The copy's bytes, with its stamp. With a key, only an authentic copy whose bytes match its
 * stamp is returned (`authentic` true); without one (a vault with no audit key yet), whatever is
 * there, to be trusted only once it opens with the vault's own secret.
 */
export async function fetchVault(redis: Redis, key: Buffer | undefined, vaultId: string): Promise<(CopyStamp & {bytes: Buffer}) | undefined> {
  const fields = await readFields(redis, vaultId, [...STAMP_FIELDS, ['bytes', MAX_COPY_BASE64]])
  if (fields === undefined) return undefined
  if (fields === 'unreadable' || fields.includes(TOO_LARGE)) {
    throw new Error(`the copy in Redis is not a vault this replica takes (not a hash, or a field larger than its limit: the vault at most ${MAX_COPY_BYTES / 1024 / 1024} MiB); it was not downloaded`)
  }
  const [generation, digest, mac, encoded] = fields as (string | null)[]
  if (encoded === null) return undefined
  const bytes = Buffer.from(encoded, 'base64')
  const stamp = judge(key, vaultId, generation, digest, mac) ?? {generation: 0, digest: '', authentic: false}
  return {...stamp, authentic: stamp.authentic && sha256(bytes) === stamp.digest, bytes}
}
