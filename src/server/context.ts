/**
 * What the stages act on. One request context per HTTP request or stdio line; one message
 * context per JSON-RPC message; one call context per tools/call, prompts/get or resources/read.
 */
import type {ClientCapabilities, JSONRPCMessage, LoggingLevel} from '@modelcontextprotocol/server'

import type {Credential, Principal} from '../auth/index.js'
import type {Era} from './era/protocol.js'
import type {RequestMeta} from './era/request-meta.js'
import type {Runtime} from './runtime.js'
import type {CatalogItem, ClientChannel, ClientSession, InputPassage, ItemKind, ItemResult} from './tools/source.js'

export interface RequestContext {
  transport: 'stdio' | 'http'
  /** The runtime current when the request arrived: every stage, and the calls it carries, are served with it. */
  runtime: Runtime
  /** The client's address (HTTP), as the socket saw it. */
  peer?: string
  /** HTTP method and path, without the query. */
  method?: string
  path?: string
  query?: string
  /** The headers that matter, lower-cased, every occurrence kept (Node joins or drops repeats). */
  headers: Readonly<Record<string, readonly string[] | undefined>>
  /** HTTP: any header by lower-case name, every occurrence, read when asked: those whose names a tool declares (`Mcp-Param-*`). */
  header?(name: string): readonly string[] | undefined
  /** The credential as presented: read from the headers (HTTP) or the environment (stdio). Never logged. */
  presented(): Credential | undefined
  /** Set by the authenticate stage. */
  principal?: Principal
  /** HTTP: reads the body, refusing more than `limit` bytes. Stdio: the line, already read. */
  readBody(limit: number): Promise<Buffer>
  /** Set by the read-body stage. */
  body?: Buffer
  /** Set by the parse stage, once: the message and the fields keyward routes by. */
  message?: Message
  /** The protocol era of the message, set by the era stage: 2025 (legacy) or 2026-07-28 (modern). */
  era?: Era
  /** A modern request: its `_meta` (protocol version, client info and capabilities, log level), validated by the era stage. */
  requestMeta?: RequestMeta
  /** Stateful HTTP: the session this request belongs to, set by the session stage. */
  session?: unknown
  /** Headers a stage wants on the HTTP response, refusal or not (rate-limit headers, say). */
  responseHeaders: Record<string, string>
  /** When the request arrived (ms), for durations. */
  startedAt: number
}

/** A JSON-RPC message as the parse stage read it. */
export interface Message {
  /** As the client sent it. */
  json: JSONRPCMessage
  /** The JSON-RPC method; undefined for a response. */
  method?: string
  /** The request id; undefined for a notification. */
  id?: string | number
  params?: Record<string, unknown>
}

export function parsedMessage(json: JSONRPCMessage): Message {
  const m = json as {method?: unknown; id?: unknown; params?: unknown}
  return {
    json,
    method: typeof m.method === 'string' ? m.method : undefined,
    id: typeof m.id === 'string' || typeof m.id === 'number' ? m.id : undefined,
    params: typeof m.params === 'object' && m.params !== null && !Array.isArray(m.params) ? (m.params as Record<string, unknown>) : undefined,
  }
}

export interface MessageContext extends Message {
  request: RequestContext
  principal: Principal
}

export interface CallContext {
  /** The runtime of the request that carried the call. */
  runtime: Runtime
  /** The protocol era of the request that made the call. */
  era?: Era
  principal: Principal
  kind: ItemKind
  /** A tool or prompt name, or a resource URI. */
  name: string
  arguments: Record<string, unknown>
  signal: AbortSignal
  /** The `_meta` of the JSON-RPC request that made this call (its progress token). */
  meta?: Record<string, unknown>
  /** Notifications and requests back to the client, related to this call. */
  client?: ClientChannel
  /** The caller's session (absent in stateless mode). */
  session?: ClientSession
  /** What the caller declared it can do (CallEnv.declared). */
  declared?: ClientCapabilities
  /** A 2026-07-28 client's call: an upstream's input requests pass through (CallEnv.input). */
  input?: InputPassage
  /** The log level a 2026-07-28 request asked for (CallEnv.logLevel). */
  logLevel?: LoggingLevel
  /** Set by authorize. */
  item?: CatalogItem
  /** Set by execute. */
  result?: ItemResult
  /** Set by execute: the names of the secrets and token kinds the redacting wrapper replaced in the result or error. */
  redacted?: string[]
}

export function messageContext(request: RequestContext, message: Message, principal: Principal): MessageContext {
  return {...message, request, principal}
}
