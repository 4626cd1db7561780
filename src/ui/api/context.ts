/** What the console's API handlers share: the data they read and change, and how a request reaches them. */
import type {ServerResponse} from 'node:http'

import {configOf} from '../../config/index.js'
import {KeywardError} from '../../errors/index.js'
import {resolveAuditPath} from '../../audit/index.js'
import type {VaultData} from '../../vault/index.js'
import type {AuditFeed} from '../data/audit-feed.js'
import type {AuditVerifier} from '../data/audit-verify.js'
import type {CatalogSource} from '../data/catalog.js'
import type {ReplicaWatch} from '../data/replicas.js'
import type {VaultView} from '../data/vault-view.js'

export interface ConsoleState {
  vault: VaultView
  catalog: CatalogSource
  replicas: ReplicaWatch
  /** The index and verifier of the log the vault's settings name now. */
  audit(): Promise<{feed: AuditFeed; verifier: AuditVerifier}>
  version: string
  user: string
  idleMs: number
  /** --audit-log, if given. */
  auditLog?: string
}

export interface ApiRequest {
  params: Record<string, string>
  query: URLSearchParams
  body: unknown
  /** The response, for handlers that stream (the live tail); others return their answer. */
  res: ServerResponse
  /** Aborted when the client goes away. */
  signal: AbortSignal
  /** False once the session has ended (idle): a stream then stops. */
  sessionAlive(): boolean
}

/**
 * A handler's answer. For a key shown once: `undelivered` undoes the change when the client was
 * gone before the answer was sent, and `delivered` (the audit record) runs once it was.
 */
export interface ApiAnswer {
  body: unknown
  status?: number
  undelivered?: () => Promise<unknown>
  delivered?: () => Promise<unknown>
}

/** undefined: the handler answered itself (a stream). */
export type Handler = (state: ConsoleState, req: ApiRequest) => Promise<ApiAnswer | undefined>

/** The vault's audit log, by the rule every command uses (--audit-log, KEYWARD_AUDIT_LOG, audit.path, the per-vault default). */
export function auditFileOf(state: Pick<ConsoleState, 'auditLog' | 'vault'>, data: VaultData): string {
  return resolveAuditPath(state.auditLog, configOf(data).get('audit.path'), state.vault.vaultId)
}

function field(body: unknown, name: string): unknown {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined
}

/** A string field of a JSON body; `optional` turns absent and empty into undefined. */
export function stringField(body: unknown, name: string, optional: true): string | undefined
export function stringField(body: unknown, name: string, optional?: false): string
export function stringField(body: unknown, name: string, optional = false): string | undefined {
  const value = field(body, name)
  if ((value === undefined || value === null || value === '') && optional) return undefined
  if (typeof value !== 'string' || value === '') throw new KeywardError('INVALID_INPUT', `${name} is required (a string)`)
  if (value.length > 2 * 1024 * 1024) throw new KeywardError('INVALID_INPUT', `${name} is too long`)
  return value
}

export function stringList(body: unknown, name: string): string[] {
  const value = field(body, name)
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string') || value.length > 1000) {
    throw new KeywardError('INVALID_INPUT', `${name} must be a list of strings`)
  }
  return value as string[]
}
