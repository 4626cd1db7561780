/**
 * Upstream OAuth tokens outside serve (`upstream test`, the console's look at an upstream): a
 * token broker over a CLI session, so an upstream that takes OAuth is reached with its tokens, and
 * one that expired is renewed and saved, as serve would do it, under the vault's lock (and on
 * Redis the cluster's write lease: the session's `update`). Close it when the look is over.
 */
import type {Logger} from '../server/log.js'
import {isOAuthUpstream, type UpstreamDefinition} from '../upstreams/index.js'
import {TokenBroker, upstreamFetch, type FetchLike} from '../upstreams/oauth/index.js'
import type {VaultData} from '../vault/index.js'
import type {Session} from './session.js'

export function sessionTokenBroker(session: Session, data: VaultData, log: Logger = () => {}): TokenBroker {
  let current = data
  return new TokenBroker({
    data: () => current,
    write: (change) =>
      session.update(async (vault) => {
        const result = await change(vault.data)
        current = vault.data
        return result
      }),
    audit: (event) => void session.audit(event),
    log,
  })
}

/** Runs `work` with the fetch an OAuth upstream needs (none for another), and closes the broker after. */
export async function withUpstreamFetch<T>(session: Session, def: UpstreamDefinition, data: VaultData, log: Logger | undefined, work: (fetch: FetchLike | undefined) => Promise<T>): Promise<T> {
  const broker = isOAuthUpstream(def) ? sessionTokenBroker(session, data, log) : undefined
  try {
    return await work(broker && upstreamFetch(broker, def))
  } finally {
    broker?.close()
  }
}
