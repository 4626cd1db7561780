/** The sandbox flags of `upstream add` and `upstream set`, and what they make of a definition. */
import {Flags} from '@oclif/core'

import {configOf} from '../config/index.js'
import {KeywardError} from '../errors/index.js'
import {formatAllowPath, parseAllowPath, withAllowPaths} from '../upstreams/isolation.js'
import {ISOLATIONS, isolationOf, type Isolation, type UpstreamDefinition} from '../upstreams/index.js'
import type {VaultData} from '../vault/index.js'

export const ALLOW_PATH_HELP = 'PATH[:ro|:rw] a sandboxed upstream may see (read-only unless :rw); repeatable.'
export const NETWORK_HELP = 'on (default) or off: off leaves a sandboxed upstream no network at all, not even the host’s loopback.'

export const networkFlag = Flags.option({options: ['on', 'off'] as const, description: NETWORK_HELP})

export const ISOLATION_HELP =
  'Who shares one process (or HTTP connection) of it: shared (default: every client session), key (the sessions of one API key or principal), session (one per client session). See docs/gateway.md, "Sharing".'

export const isolationFlag = Flags.option({options: ISOLATIONS, description: ISOLATION_HELP})

/** The definition with its isolation set; `shared`, the default, is stored as absent, as import-config leaves it. */
export function withIsolation<T extends UpstreamDefinition>(def: T, isolation: Isolation | undefined): T {
  if (isolation === undefined) return def
  const next: T = {...def, isolation}
  if (isolation === 'shared') delete next.isolation
  return next
}

/** One line on who shares the upstream's process or connection. */
export function sharingSummary(def: UpstreamDefinition): string {
  const isolation = isolationOf(def)
  const what = def.transport === 'stdio' ? 'process' : 'connection'
  if (isolation === 'shared') return `one ${what} for every client session (isolation shared)`
  return isolation === 'key' ? `one ${what} per API key or principal (isolation key)` : `one ${what} per client session (isolation session)`
}

export interface IsolationChange {
  sandbox?: boolean
  allow?: string[]
  remove?: string[]
  network?: 'on' | 'off'
}

/** `upstream.sandbox` of the vault: the default of `upstream add` without --sandbox or --no-sandbox. */
export function sandboxByDefault(data: VaultData): boolean {
  return configOf(data).get('upstream.sandbox') === 'on'
}

/** The definition with the sandbox flags applied. HTTP upstreams run elsewhere: nothing to sandbox. */
export function applyIsolation<T extends UpstreamDefinition>(def: T, change: IsolationChange): T {
  const touched = change.sandbox !== undefined || (change.allow?.length ?? 0) > 0 || (change.remove?.length ?? 0) > 0 || change.network !== undefined
  if (def.transport !== 'stdio') {
    if (touched && change.sandbox !== false) throw new KeywardError('INVALID_INPUT', '--sandbox, --allow-path and --network are for stdio upstreams; an HTTP upstream runs elsewhere')
    return def
  }
  const allowPaths = withAllowPaths(def.allowPaths, (change.allow ?? []).map((p) => parseAllowPath(p)), change.remove ?? [])
  const next = {...def, sandbox: change.sandbox ?? def.sandbox ?? false, allowPaths, network: change.network ? change.network === 'on' : (def.network ?? true)}
  if (allowPaths.length === 0) delete (next as {allowPaths?: unknown}).allowPaths
  return next
}

/** One line on what the sandbox settings of a definition are. */
export function isolationSummary(def: UpstreamDefinition): string {
  if (def.transport !== 'stdio') return 'runs elsewhere (HTTP)'
  if (!def.sandbox) return 'not sandboxed (a private HOME, its own PID namespace where available)'
  const paths = (def.allowPaths ?? []).map(formatAllowPath)
  return `sandboxed; network ${def.network === false ? 'off' : 'on'}; allowed: ${paths.length > 0 ? paths.join(' ') : 'nothing beyond the system'}`
}
