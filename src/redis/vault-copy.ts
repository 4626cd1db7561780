/**
 * The vault in Redis, for replicas on other hosts: the file's bytes exactly as on disk (still
 * encrypted; Redis never sees a plaintext), stored only when newer than the copy there, and a
 * notice on a channel: the new generation, and the key ids revoked by that change, which
 * replicas refuse at once, before their reload finishes.
 */
import type {Redis} from './client.js'

export interface VaultNotice {
  vaultId: string
  generation: number
  /** Key ids revoked by this change. */
  revoked: string[]
}

const PREFIX = 'keyward'
export const vaultKey = (vaultId: string) => `${PREFIX}:vault:${vaultId}`
export const vaultChannel = (vaultId: string) => `${PREFIX}:vault:${vaultId}:changes`

/** Store if newer, then publish; both or neither, in one script. 1 when stored, 0 when Redis holds a newer copy. */
const STORE_AND_PUBLISH = `
local current = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'generation', ARGV[1], 'bytes', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`

export async function publishVault(redis: Redis, notice: VaultNotice, bytes: Buffer): Promise<boolean> {
  const message = JSON.stringify({generation: notice.generation, revoked: notice.revoked})
  const stored = (await redis.eval(STORE_AND_PUBLISH, 1, vaultKey(notice.vaultId), String(notice.generation), bytes.toString('base64'), vaultChannel(notice.vaultId), message)) as number
  return stored === 1
}

/** The copy in Redis: its generation and bytes, or undefined. */
export async function fetchVault(redis: Redis, vaultId: string): Promise<{generation: number; bytes: Buffer} | undefined> {
  const [generation, bytes] = await redis.hmget(vaultKey(vaultId), 'generation', 'bytes')
  if (!generation || !bytes) return undefined
  return {generation: Number(generation), bytes: Buffer.from(bytes, 'base64')}
}

export async function redisGeneration(redis: Redis, vaultId: string): Promise<number> {
  return Number((await redis.hget(vaultKey(vaultId), 'generation')) ?? 0)
}

/** A notice as published; undefined for anything else on the channel. */
export function parseNotice(vaultId: string, message: string): VaultNotice | undefined {
  try {
    const parsed = JSON.parse(message) as {generation?: unknown; revoked?: unknown}
    if (!Number.isSafeInteger(parsed.generation)) return undefined
    const revoked = Array.isArray(parsed.revoked) ? parsed.revoked.filter((id): id is string => typeof id === 'string' && /^[0-9A-Za-z]{1,64}$/.test(id)) : []
    return {vaultId, generation: parsed.generation as number, revoked}
  } catch {
    return undefined
  }
}
