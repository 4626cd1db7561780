/**
 * The key that seals `requestState` tokens (request-state.ts): 32 random bytes in the vault's
 * encrypted payload, as the audit key is (src/audit/key.ts). It lives in the vault, not in a
 * process, so that every replica on Redis opens the tokens the others sealed, and a restart
 * does not void a round trip in flight. Whoever can open the vault can forge a token; nobody
 * else can read or forge one.
 *
 * It is born with the vault (init, up) or by the first admin command that writes it; a serve
 * that finds none writes it once, as it does the audit key, unless it is a replica.
 */
import {payloadKey, type VaultData} from '../../vault/index.js'

const KEY = payloadKey('era', 'request_state_key')

export function requestStateKeyOf(data: VaultData): Buffer | undefined {
  return KEY.of(data)
}

/** The key, created in `data` when missing (the caller then saves the vault). */
export function ensureRequestStateKey(data: VaultData): Buffer {
  return KEY.ensure(data)
}
