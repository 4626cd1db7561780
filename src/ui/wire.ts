/**
 * The console API's shapes that its server modules (src/ui/data) and its browser client
 * (src/ui/client) both speak. Types only, with no import: the client is type-checked without
 * Node's types, so it can import this file and nothing beyond it.
 */

export interface Items {
  tools: string[]
  prompts: string[]
  resources: string[]
}

export interface UpstreamState {
  name: string
  state: 'untested' | 'testing' | 'ready' | 'failed'
  ms?: number
  server?: {name: string; version: string}
  items?: Items
  /** The last failure, with every vault secret redacted. */
  error?: string
  testedAt?: string
  /** The definition tested (its `updated` time): a changed definition counts as untested. */
  definition?: string
}

export interface AuditRow {
  seq: number
  ts: string
  event: string
  who: string
  name: string
  subject: string
  outcome: string
  duration_ms?: number
  reason: string
}

/** What a set of scopes would let a key use (keys.scope preview). */
export interface Preview {
  /** The scopes as they would be stored (presets expanded). */
  scopes: string[]
  /** Why they cannot be stored, if they cannot. */
  error?: string
  tools: {name: string; allowed: boolean}[]
  prompts: {name: string; allowed: boolean}[]
  resources: {name: string; allowed: boolean}[]
  /** Upstreams whose items are not known (no pins, and not looked at, or the look failed). */
  untested: string[]
}

/** Where the audit chain's verification stands. */
export interface VerifyState {
  status: 'pending' | 'intact' | 'broken' | 'absent' | 'error'
  records?: number
  /** The first problem, as `audit verify` words it. */
  message?: string
  kind?: string
  checkedAt?: string
}
