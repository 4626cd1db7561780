/**
 * The wire facts of MCP revision 2026-07-28 that keyward checks itself, with no SDK import: the
 * per-request `_meta` keys, the error codes of the new revision, and the one shape every
 * refusal in this directory takes (the pipeline turns it into its own refusal).
 */
import {RPC} from '../refusal.js'

/** The stateless revision; everything before it (2024-11-05 … 2025-11-25) is the legacy era. */
export const MODERN_VERSION = '2026-07-28'
export const MODERN_VERSIONS: readonly string[] = [MODERN_VERSION]
export const LEGACY_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05', '2024-10-07']

export type Era = 'legacy' | 'modern'

/** What a server may ask its client for within a call: a 2025 server's requests, a 2026-07-28 server's input requests. */
export const INPUT_METHODS: ReadonlySet<string> = new Set(['sampling/createMessage', 'elicitation/create', 'roots/list'])

/** The most input requests of one call that keyward carries to its client at once: an upstream cannot flood a client. */
export const MAX_INPUT_REQUESTS = 16

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const

/** The codes of this revision's refusals; the numbers live in the one RPC table. */
export const CODE = {
  INVALID_PARAMS: RPC.INVALID_PARAMS,
  HEADER_MISMATCH: RPC.HEADER_MISMATCH,
  MISSING_CLIENT_CAPABILITY: RPC.MISSING_CLIENT_CAPABILITY,
  UNSUPPORTED_PROTOCOL_VERSION: RPC.UNSUPPORTED_PROTOCOL_VERSION,
} as const

/** A refusal as the wire shows it: HTTP status (400 for all of these), JSON-RPC code, message, data. */
export interface EraRefusal {
  status: number
  code: number
  message: string
  data?: Record<string, unknown>
  /** Stable, for logs and audit records. */
  reason: string
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** `params._meta` when it is an object. */
export function metaOf(params: unknown): Record<string, unknown> | undefined {
  const meta = isPlainObject(params) ? params._meta : undefined
  return isPlainObject(meta) ? meta : undefined
}

export function isModernVersion(version: string | undefined): boolean {
  return version !== undefined && MODERN_VERSIONS.includes(version)
}
