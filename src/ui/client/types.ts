/** The shapes the console's API answers with (see src/ui/api/); those the server modules share with it come from ../wire.ts. */
import type {AuditRow, UpstreamState} from '../wire.js'

export type {AuditRow, Items, Preview, UpstreamState, VerifyState} from '../wire.js'

export interface KeyView {
  id: string
  name: string
  description?: string
  start: string
  status: 'active' | 'revoked' | 'expired' | 'not_yet_valid'
  scopes: string[]
  created: string
  expires?: string
  notBefore?: string
  revoked?: {at: string; reason?: string}
  rateLimit?: {limit: number; windowSeconds: number}
  meta?: Record<string, string>
  legacy?: boolean
  graceSecrets?: {start: string; validUntil?: string}[]
}

export interface IssuedKey {
  key: string
  record: KeyView
}

export interface SecretInfo {
  name: string
  description?: string
  size: number
  created: string
  updated: string
}


export interface UpstreamView extends Partial<UpstreamState> {
  name: string
  transport: 'stdio' | 'http'
  command?: string
  args?: string[]
  url?: string
  env?: Record<string, string>
  headers?: Record<string, string>
  /** An upstream that takes OAuth: where its sign-in stands (never a token). */
  oauth?: {grant: string; signedIn: boolean; signedInAs?: string; needsLogin: boolean; needsLoginReason?: string}
  secrets: string[]
  exposedAs: string
  description?: string
  updated: string
}

export interface PinView {
  available: true
  pinned: number
  changes: {kind: string; name: string; change: 'changed' | 'added' | 'flagged' | 'removed'; renamedFrom?: string; since: string; fields: {path: string; before?: string; after?: string}[]}[]
  findings: {kind: string; item: string; field: string; rule: string; excerpt: string}[]
  token: string
}

export interface Health {
  replicas: {
    local: {url: string; pid: number; version: string; startedAt: string; status: string; redis?: string; ms?: number}[]
    redis?: {target: string; reachable: boolean; replicas: {host: string; pid: number; url?: string; generation: number; version: string; uptimeSeconds: number; redis: string}[]}
  }
  upstreams: (Omit<UpstreamState, 'items'> & {tools?: number; prompts?: number; resources?: number})[]
  audit: {file: string; records: number; building: boolean; error?: string}
}

export type Metric = 'calls' | 'refusals' | 'ratelimited'

export interface Group {
  id: string
  label: string
  total: number
  values: number[]
}

export interface Stats {
  range: 'hour' | 'day'
  metric: Metric
  building: boolean
  series: {times: number[]; totals: Record<Metric, number[]>; sums: Record<Metric, number>; byKey: Group[]; byTool: Group[]}
}

export interface Latencies {
  range: 'hour' | 'day'
  latencies: {tool: string; upstream: string; calls: number; p50: number; p95: number; p99: number}[]
}

export interface AuditPage {
  total: number
  rows: AuditRow[]
  next?: number
  indexed: number
  building: boolean
  ms: number
}

export interface Facets {
  keys: {id: string; label: string}[]
  events: string[]
  tools: string[]
  outcomes: string[]
}

export interface SessionInfo {
  user: string
  vault: string
  vaultId: string
  version: string
  idleSeconds: number
  auditFile: string
}
