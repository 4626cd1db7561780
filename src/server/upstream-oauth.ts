/**
 * What upstream OAuth needs from a running serve: the vault as served, a way to write it (on
 * Redis through the cluster, which lines writers up and publishes the copy; otherwise under the
 * vault file's lock, which every writer of that file takes), the audit trail and the log.
 */
import {TokenBroker, type BrokerHost} from '../upstreams/oauth/index.js'
import type {Cluster} from './cluster.js'
import type {LiveVault} from './live-vault.js'
import type {Logger} from './log.js'
import type {AuditTrail} from './stages/audit-requests.js'

export function upstreamTokenBroker(live: LiveVault, cluster: Cluster | undefined, audit: AuditTrail, log: Logger): TokenBroker {
  const host: BrokerHost = {
    data: () => live.snapshot.data,
    write: (change) => {
      const local = () => live.update((vault) => change(vault.data))
      return cluster ? cluster.write(local) : local()
    },
    audit: (event) => void audit.record(event).catch(() => {}),
    log,
  }
  return new TokenBroker(host)
}
