/**
 * The sealer of `requestState` tokens for `keyward serve` (era/request-state.ts), under the
 * vault's request-state key. `init` and `up` create the key with the vault, and any admin
 * command that writes the vault creates it when missing; a serve that finds none writes it once,
 * as it does the audit key. A replica on Redis never writes its copy of the vault: without the
 * key it cannot hold a call for input, says so, and picks the key up when the CLI's write
 * reaches it (the sealer is looked up on each use).
 */
import {MemoryReplayGuard, ReplicatedReplayGuard, RequestStateSealer, type SharedSpending} from './era/request-state.js'
import {ensureRequestStateKey, requestStateKeyOf} from './era/state-key.js'
import type {LiveVault} from './live-vault.js'
import type {Logger} from './log.js'

export async function openRequestState(live: LiveVault, log: Logger, cluster: () => SharedSpending | undefined): Promise<() => RequestStateSealer | undefined> {
  if (!requestStateKeyOf(live.snapshot.data)) {
    if (cluster()) {
      log('warn', 'the vault has no request-state key, and a replica on Redis does not write the vault: calls of 2026-07-28 clients that need input fail until an admin command (keyward config set audit.args false) creates it')
    } else {
      try {
        await live.update((vault) => ensureRequestStateKey(vault.data))
        log('info', 'created the request-state key in the vault')
      } catch (err) {
        log('warn', `the request-state key cannot be stored in the vault (${(err as Error).message}); calls of 2026-07-28 clients that need input fail`)
      }
    }
  }
  // One replay guard for the life of the server: a spent token stays spent whatever the key, and on every replica.
  const replay = new ReplicatedReplayGuard(new MemoryReplayGuard(), cluster)
  let current: {key: Buffer; sealer: RequestStateSealer} | undefined
  return () => {
    const key = requestStateKeyOf(live.snapshot.data)
    if (!key) return undefined
    if (!current?.key.equals(key)) current = {key, sealer: new RequestStateSealer(key, {replay})}
    return current.sealer
  }
}
