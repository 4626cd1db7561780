/**
 * A vault notice: "generation N of vault V exists, and it revoked these key ids", published on
 * the vault's channel by the CLI after each change. Replicas refuse the revoked keys at once,
 * before their reload finishes, so a notice must come from a holder of the vault: it carries a
 * MAC with the cluster key over the vault id, the generation and the ids. A replayed notice
 * can therefore only repeat what that generation said: replicas refuse one older than the
 * vault they serve, and forget its revocations once they serve its generation (the vault is then
 * the authority; see Cluster).
 */
import {sign, verify} from './signing.js'

export interface VaultNotice {
  vaultId: string
  generation: number
  /** Key ids revoked by this change. */
  revoked: string[]
}

const KEY_ID = /^[0-9A-Za-z]{1,64}$/
const MAX_REVOKED = 100_000
/** The longest notice those limits allow (every id at its longest, quoted, with commas), and some room: anything longer is not parsed. */
const MAX_NOTICE_LENGTH = MAX_REVOKED * 67 + 1024

const fields = (notice: VaultNotice) => [notice.vaultId, notice.generation, notice.revoked.join(',')]

/** The message to publish: JSON with the MAC. */
export function noticeMessage(key: Buffer, notice: VaultNotice): string {
  return JSON.stringify({generation: notice.generation, revoked: notice.revoked, mac: sign(key, 'notice', fields(notice))})
}

/**
 * The notice in `message`, only when its MAC verifies with `key` for this vault; undefined for
 * anything else on the channel (a forgery, a notice of another vault or from before notices
 * were signed, noise). Without a key nothing is authentic.
 */
export function openNotice(key: Buffer | undefined, vaultId: string, message: string): VaultNotice | undefined {
  if (!key || message.length > MAX_NOTICE_LENGTH) return undefined
  let parsed: {generation?: unknown; revoked?: unknown; mac?: unknown}
  try {
    parsed = JSON.parse(message) as typeof parsed
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const {generation, revoked, mac} = parsed
  if (!Number.isSafeInteger(generation) || (generation as number) < 0) return undefined
  if (!Array.isArray(revoked) || revoked.length > MAX_REVOKED || !revoked.every((id) => typeof id === 'string' && KEY_ID.test(id))) return undefined
  const notice: VaultNotice = {vaultId, generation: generation as number, revoked: revoked as string[]}
  return verify(key, 'notice', fields(notice), mac) ? notice : undefined
}
