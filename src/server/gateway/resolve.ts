/**
 * What starting or reaching an upstream takes, resolved from the vault at the moment it starts:
 * the environment (with its secrets and private HOME) and how to contain it (stdio), or the
 * headers (HTTP). One place for the gateway, `upstream test` and the probes of the CLI.
 */
import {homeFor, keywardPaths, sandboxPolicyOf} from '../../upstreams/isolation.js'
import {upstreamEnvironment, upstreamHeaders, type UpstreamDefinition} from '../../upstreams/index.js'
import type {VaultData} from '../../vault/index.js'
import type {Resolved} from './link.js'

/** Where the upstreams run from: the vault they belong to (their HOMEs are per vault). */
export interface UpstreamContext {
  vaultId: string
  vaultFile: string
  /** More of keyward's own files to hide from a sandbox: those a flag or a setting named (isolation.ts `givenPaths`). */
  hidden?: readonly string[]
}

export function resolveUpstream(def: UpstreamDefinition, data: VaultData, context: UpstreamContext): Resolved {
  if (def.transport === 'http') return {headers: upstreamHeaders(def, data).headers}
  const home = homeFor(def, context.vaultId)
  const {env} = upstreamEnvironment(def, data, {home})
  return {env, launch: {home, sandbox: sandboxPolicyOf(def), hidden: [...keywardPaths(context.vaultFile), ...(context.hidden ?? [])]}}
}
