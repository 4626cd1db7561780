/**
 * The gateway and the pins that decide what of an upstream's listing is served. The pin gate
 * reads the vault being served and the newest runtime's settings; a replica on Redis never writes
 * its copy of a shared vault, so its first-use pins stay in memory (the CLI records them).
 *
 * The token broker keeps the tokens of upstreams that take OAuth and renews them. It does write
 * the vault, one writer at a time: on Redis through the cluster (`Cluster.write`: the cluster's
 * write lease, the newest copy first, the result published), otherwise under the vault file's
 * lock, which every writer of that file takes.
 */
import {countValue, durationValue, parseDurationValue} from '../config/index.js'
import {givenPaths} from '../upstreams/isolation.js'
import {TokenBroker, upstreamFetch} from '../upstreams/oauth/index.js'
import type {AuditTrail} from './stages/audit-requests.js'
import type {Cluster} from './cluster.js'
import {Gateway, type GatewaySettings} from './gateway/gateway.js'
import type {ServeMode} from './gateway/upstream-source.js'
import {PinGate} from './gateway/pin-gate.js'
import type {LiveVault} from './live-vault.js'
import type {Logger} from './log.js'
import {serveAuditFile} from './open-audit.js'
import type {ServeOptions} from './options.js'
import type {Runtime} from './runtime.js'
import type {Catalog} from './tools/catalog.js'
import type {ClientSession} from './tools/source.js'

export interface GatewayParts {
  catalog: Catalog
  live: LiveVault
  runtime: () => Runtime
  replica: {cluster?: Cluster}
  audit: AuditTrail
  mode: ServeMode
  stdio: {session?: ClientSession}
  /** Upstream tokens are held that the vault does not have: the runtime is built again, so that its redactors know them (TokenBroker.heldSecrets). */
  heldChanged(): void
}

/** upstream.idle-timeout, upstream.max-processes and upstream.max-call-duration, as the newest runtime has them. */
export function gatewaySettings(config: ReadonlyMap<string, string>): GatewaySettings {
  return {
    idleMs: parseDurationValue(config.get('upstream.idle-timeout') ?? '10m') ?? 600_000,
    maxProcesses: countValue(config, 'upstream.max-processes'),
    maxCallMs: durationValue(config, 'upstream.max-call-duration'),
  }
}

export interface StartedGateway {
  gateway: Gateway
  gate: PinGate
  /** Upstream OAuth tokens: closed on shutdown (its renewal timers). */
  tokens: TokenBroker
}

export async function startGateway(options: ServeOptions, parts: GatewayParts): Promise<StartedGateway> {
  const {live, runtime, replica, audit, log} = {...parts, log: options.log}
  const gate = new PinGate({
    data: () => live.snapshot.data,
    settings: () => {
      const config = runtime().config
      return {onChange: config.get('pins.on-change') === 'warn' ? 'warn' : 'block', onFinding: config.get('scan.on-finding') === 'block' ? 'block' : 'warn'}
    },
    update: replica.cluster ? undefined : (change) => live.update((vault) => change(vault.data)),
    audit: (event) => void audit.record(event).catch(() => {}),
    log,
  })
  const tokens = upstreamTokenBroker(live, replica, audit, log, parts.heldChanged)
  const gateway = new Gateway({
    catalog: parts.catalog,
    log,
    version: options.version,
    mode: parts.mode,
    stdioSession: () => parts.stdio.session,
    settings: () => gatewaySettings(runtime().config),
    logRedactor: () => runtime().logRedactor,
    context: {vaultId: live.snapshot.vaultId, vaultFile: options.vaultFile, hidden: givenPaths(options.material, serveAuditFile(options, live))},
    gate,
    upstreamFetch: (def) => upstreamFetch(tokens, def),
    current: (principal) => runtime().authenticators.current(principal),
  })
  await gateway.reconcile(live.snapshot.data)
  return {gateway, gate, tokens}
}

/** What upstream OAuth needs from a running serve: the vault as served, a way to write it, the audit trail and the log. */
function upstreamTokenBroker(live: LiveVault, replica: {cluster?: Cluster}, audit: AuditTrail, log: Logger, heldChanged: () => void): TokenBroker {
  return new TokenBroker({
    heldChanged,
    data: () => live.snapshot.data,
    write: (change) => {
      const local = () => live.update((vault) => change(vault.data))
      return replica.cluster ? replica.cluster.write(local) : local()
    },
    audit: (event) => void audit.record(event).catch(() => {}),
    log,
  })
}
