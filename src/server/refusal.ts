/**
 * The one way keyward refuses: a thrown `Refusal`, from any stage, source or dispatch. It says
 * what kind of refusal it is and why (for the log and the audit, which read it from the thrown
 * value), and how it reaches the client; each transport renders it (renderings at the end):
 *
 *   HTTP, before the MCP server:   `status` (200 when absent), `headers`, a JSON-RPC error body
 *   stdio, before the MCP server:  a JSON-RPC error line (a request only)
 *   the MCP server (mcp.ts):       a JSON-RPC error answer, or, for a tools/call refused with
 *                                  `asToolError`, a tool result with isError, which a model reads
 *
 * The message is shown to the client: it never echoes a credential, and names only what the
 * client sent or may know. `detail` is for the log and the audit only.
 */

/** Every JSON-RPC error code keyward sends, and the only place one is written out. */
export const RPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Implementation-defined server errors. */
  SERVER_ERROR: -32000,
  UNAUTHORIZED: -32001,
  /** MCP: resources/read of a resource that does not exist. */
  RESOURCE_NOT_FOUND: -32002,
  RATE_LIMITED: -32029,
  /** MCP 2026-07-28: the request headers and the body disagree (SEP-2243). */
  HEADER_MISMATCH: -32020,
  /** MCP 2026-07-28: the request needs a client capability its `_meta` did not declare. */
  MISSING_CLIENT_CAPABILITY: -32021,
  /** MCP 2026-07-28: a protocol version this server does not serve. */
  UNSUPPORTED_PROTOCOL_VERSION: -32022,
  /** The SDK's answer for a request the client cancelled. */
  REQUEST_CANCELLED: -32800,
} as const

/**
 * What kind of refusal: failed authentication, a denied authorization, a rate limit, a guard
 * (size, address, Host/Origin, a credential in the URL, arguments), something keyward depends on
 * being unavailable (the audit log, an upstream), a request that breaks the protocol, or an
 * error an upstream answered with, passed on.
 */
export type RefusalKind = 'auth' | 'authz' | 'rate' | 'guard' | 'unavailable' | 'protocol' | 'upstream'

export interface RefusalInit {
  kind: RefusalKind
  /** A stable word for logs, audit and `data.reason`. */
  reason: string
  message: string
  /** The HTTP status of the response that carries it; 200 (a JSON-RPC error in a normal answer) when absent. */
  status?: number
  /** The JSON-RPC error code (RPC, or an upstream's own). */
  code: number
  /** The JSON-RPC error's data, as the client sees it; none when absent. */
  data?: unknown
  headers?: Record<string, string>
  /** Facts for the log and the audit that the client is not told (which guard pattern matched). */
  detail?: Record<string, unknown>
  /** tools/call: answered as a tool result with isError, so a model sees it and can change course. */
  asToolError?: boolean
}

type ItemKind = 'tool' | 'prompt' | 'resource'

const UNKNOWN = {tool: 'Unknown tool', prompt: 'Unknown prompt', resource: 'Unknown resource'} as const

export class Refusal extends Error {
  readonly kind: RefusalKind
  readonly reason: string
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly detail?: Readonly<Record<string, unknown>>
  readonly asToolError: boolean
  /** `code` and `data` are what the MCP SDK reads off a thrown error for its JSON-RPC answer. */
  readonly code: number
  readonly data?: unknown

  constructor(init: RefusalInit) {
    super(init.message)
    this.name = 'Refusal'
    this.kind = init.kind
    this.reason = init.reason
    this.status = init.status ?? 200
    this.code = init.code
    this.data = init.data
    this.headers = init.headers ?? {}
    this.detail = init.detail
    this.asToolError = init.asToolError ?? false
  }

  /** The same refusal with another text and data (the redactor's), everything else kept. */
  withText(message: string, data: unknown): Refusal {
    return new Refusal({...this.init(), message, data})
  }

  /** The same refusal with more headers and facts (a throttle that turns it into a 429 keeps them). */
  private init(): RefusalInit {
    const {kind, reason, message, status, code, data, headers, detail, asToolError} = this
    return {kind, reason, message, status, code, data, headers: {...headers}, detail, asToolError}
  }

  // ---- refused before the MCP server: every one of these has an HTTP status --------------------

  /** A credential refused (or none given): its status, reason and challenge come from the authenticator's failure. */
  static unauthenticated(failure: {reason: string; message: string; status: number; scope?: string}, challenge?: string): Refusal {
    const data = {reason: failure.reason, ...(failure.scope ? {scope: failure.scope} : {})}
    return new Refusal({kind: 'auth', reason: failure.reason, message: failure.message, status: failure.status, code: RPC.UNAUTHORIZED, data, headers: challenge ? {'www-authenticate': challenge} : {}})
  }

  /** OAuth: a call the token's scopes do not cover, with the challenge that names the scope. */
  static insufficientScope(scope: string, challenge?: string): Refusal {
    return new Refusal({
      kind: 'authz',
      reason: 'insufficient_scope',
      message: `Forbidden: this call needs scope ${scope}`,
      status: 403,
      code: RPC.UNAUTHORIZED,
      data: {reason: 'insufficient_scope', scope},
      headers: challenge ? {'www-authenticate': challenge} : {},
    })
  }

  /** 429 with Retry-After and the RateLimit fields (`limit` from ratelimit/headers.ts). */
  static rateLimited(message: string, limit: {headers: Record<string, string>; data: Record<string, unknown>}, detail?: Record<string, unknown>): Refusal {
    return new Refusal({kind: 'rate', reason: 'rate_limited', message, status: 429, code: RPC.RATE_LIMITED, data: limit.data, headers: limit.headers, detail})
  }

  /** 403 by a guard: the client's address, its Host or Origin. */
  static forbidden(reason: string, message: string, detail?: Record<string, unknown>): Refusal {
    return new Refusal({kind: 'guard', reason, message, status: 403, code: RPC.SERVER_ERROR, data: {reason}, detail})
  }

  /** 400 by a guard: what was sent is refused on principle (a credential in the query string). */
  static guarded(reason: string, message: string): Refusal {
    return new Refusal({kind: 'guard', reason, message, status: 400, code: RPC.SERVER_ERROR, data: {reason}})
  }

  /** 413: a body or a stdio line over guard.max-body. */
  static tooLarge(message: string, headers?: Record<string, string>): Refusal {
    return new Refusal({kind: 'guard', reason: 'too_large', message, status: 413, code: RPC.INVALID_REQUEST, data: {reason: 'too_large'}, headers})
  }

  /** 503 with Retry-After: the audit log (fail-closed) or the session table cannot take the request. */
  static unavailable(reason: string, message: string, retryAfterSeconds: number): Refusal {
    return new Refusal({kind: 'unavailable', reason, message, status: 503, code: RPC.SERVER_ERROR, data: {reason}, headers: {'retry-after': String(retryAfterSeconds)}})
  }

  static parseError(): Refusal {
    return Refusal.protocol(400, 'parse_error', 'Parse error: the message is not valid JSON', RPC.PARSE_ERROR)
  }

  /** A message that is not one JSON-RPC request the server can take (a batch, a reused id, a second initialize). */
  static invalidRequest(reason: string, message: string): Refusal {
    return Refusal.protocol(400, reason, message, RPC.INVALID_REQUEST)
  }

  static methodNotAllowed(allow: string): Refusal {
    return new Refusal({...Refusal.protocol(405, 'method_not_allowed', `Method Not Allowed: this endpoint takes ${allow}`).init(), headers: {allow}})
  }

  /** A session that does not exist, or is another principal's: the two look the same. */
  static unknownSession(): Refusal {
    return Refusal.protocol(404, 'unknown_session', 'Session not found', RPC.UNAUTHORIZED)
  }

  /**
   * A 2026-07-28 request that breaks that revision's rules (its `_meta`, its standard headers, a
   * protocol version this server does not serve, a capability its client did not declare), as
   * the era checks word it (src/server/era/): status, code, message and data as the revision has them.
   */
  static era(refusal: {status: number; code: number; message: string; data?: unknown; reason: string}): Refusal {
    return new Refusal({kind: 'protocol', reason: refusal.reason, message: refusal.message, status: refusal.status, code: refusal.code, data: refusal.data})
  }

  /** Any other breach of the HTTP side of the protocol (406, 409, 415, a missing session id). */
  static protocol(status: number, reason: string, message: string, code: number = RPC.SERVER_ERROR): Refusal {
    return new Refusal({kind: 'protocol', reason, message, status, code, data: {reason}})
  }

  // ---- refused as a JSON-RPC error to one request ------------------------------------------------

  /** The params of a request keyward routes itself lack what it routes by. */
  static invalidParams(message: string): Refusal {
    return new Refusal({kind: 'protocol', reason: 'invalid_params', message, code: RPC.INVALID_PARAMS, data: {reason: 'invalid_params'}})
  }

  /** Deny by default: an item that does not exist and one out of scope are answered alike; the audit is told which. */
  static unknownItem(kind: ItemKind, name: string, why: 'unknown' | 'out_of_scope'): Refusal {
    return new Refusal({kind: 'authz', reason: why, message: `${UNKNOWN[kind]}: ${name}`, code: kind === 'resource' ? RPC.RESOURCE_NOT_FOUND : RPC.INVALID_PARAMS})
  }

  /** The input guard: the client hears that it refused, the log and the audit which pattern. */
  static blockedArguments(kind: ItemKind, name: string, pattern: string): Refusal {
    const message = `Refused by keyward's input guard: the arguments of ${name} contain a blocked pattern`
    return new Refusal({kind: 'guard', reason: 'pattern', message, code: RPC.INVALID_PARAMS, detail: {pattern}, asToolError: kind === 'tool'})
  }

  /** A tool's arguments against its JSON Schema: a tool error naming the field, so a model can correct itself. */
  static invalidToolArguments(name: string, problem: string): Refusal {
    return new Refusal({kind: 'guard', reason: 'schema', message: `Invalid arguments for ${name}: ${problem}`, code: RPC.INVALID_PARAMS, detail: {problem}, asToolError: true})
  }

  /** A tool whose input schema keyward cannot check in linear time: refused as a tool error, so the model sees why. */
  static uncheckableSchema(name: string, why: string): Refusal {
    const message = `Refused: keyward cannot check the arguments of ${name}, because its input schema has a pattern with no linear-time match (${why}); the upstream's maintainer can rewrite it`
    return new Refusal({kind: 'guard', reason: 'schema', message, code: RPC.INVALID_PARAMS, detail: {problem: 'uncheckable pattern'}, asToolError: true})
  }

  static invalidPromptArguments(name: string, problem: string): Refusal {
    return new Refusal({kind: 'protocol', reason: 'invalid_arguments', message: `Invalid arguments for prompt ${name}: ${problem}`, code: RPC.INVALID_PARAMS})
  }

  /** audit.fail-closed: a result whose record cannot be written is not released. */
  static resultWithheld(): Refusal {
    const message = 'Refused: the audit log cannot be written, so the result is withheld; retry later'
    return new Refusal({kind: 'unavailable', reason: 'audit_unavailable', message, code: RPC.SERVER_ERROR, data: {reason: 'audit_unavailable'}})
  }

  /** A request that reached a handler without a principal: unreachable when the transports are wired right. */
  static noPrincipal(): Refusal {
    return new Refusal({kind: 'auth', reason: 'no_principal', message: 'Unauthorized', code: RPC.UNAUTHORIZED})
  }

  /**
   * A requestState that is forged, altered, expired, spent, another caller's or another call's,
   * or whose call is no longer held here: one answer for all (the one the SDK gives), the rule
   * that refused it in the log and the audit only.
   */
  static requestState(why: string): Refusal {
    return new Refusal({kind: 'protocol', reason: 'invalid_request_state', message: 'Invalid or expired requestState', code: RPC.INVALID_PARAMS, data: {reason: 'invalid_request_state'}, detail: {rule: why}})
  }

  /** A bound keyward keeps (calls held for input, listen streams) is reached: answered in band, as the SDK does. */
  static overCapacity(reason: string, message: string): Refusal {
    return new Refusal({kind: 'unavailable', reason, message, code: RPC.INTERNAL_ERROR, data: {reason}})
  }

  /** What this server, or the upstream behind an item, does not do. */
  static notSupported(message: string): Refusal {
    return new Refusal({kind: 'protocol', reason: 'not_supported', message, code: RPC.METHOD_NOT_FOUND})
  }

  /** An upstream that cannot serve the request now (starting, down, stopped): the message names it. */
  static upstreamUnavailable(message: string): Refusal {
    return new Refusal({kind: 'unavailable', reason: 'upstream_unavailable', message, code: RPC.INTERNAL_ERROR})
  }

  /** An upstream's own JSON-RPC error, passed on with its code, message and data. */
  static fromUpstream(code: number, message: string, data?: unknown): Refusal {
    return new Refusal({kind: 'upstream', reason: 'upstream_error', message, code, data})
  }
}

/**
 * An error that carries a JSON-RPC error (an upstream's answer, or the SDK's): an integer `code`
 * and a `message`. A DOMException is not one, whatever its `code` says: an aborted fetch (an HTTP
 * upstream's transport closed under a call) is an AbortError with the legacy DOM code 20, which
 * once reached a client as if an upstream had answered with it.
 */
export function isJsonRpcError(err: unknown): err is {code: number; message: string; data?: unknown} {
  const coded = err as {code?: unknown; message?: unknown} | undefined
  return !(err instanceof DOMException) && typeof coded?.code === 'number' && Number.isInteger(coded.code) && typeof coded.message === 'string'
}

// ---- renderings ------------------------------------------------------------------------------

export interface JsonRpcError {
  jsonrpc: '2.0'
  id: string | number | null
  error: {code: number; message: string; data?: unknown}
}

/** A JSON-RPC error answer: the refusal's code, message and data (none when it has none). */
export function rpcErrorOf(id: string | number | null, code: number, message: string, data?: unknown): JsonRpcError {
  return {jsonrpc: '2.0', id, error: {code, message, ...(data === undefined ? {} : {data})}}
}

export function renderRefusal(refusal: Refusal, id: string | number | null): JsonRpcError {
  return rpcErrorOf(id, refusal.code, refusal.message, refusal.data)
}

/** How a tools/call refused with `asToolError` answers: a result the model reads. */
export function toolErrorOf(refusal: Refusal): {isError: true; content: {type: 'text'; text: string}[]} {
  return {isError: true, content: [{type: 'text', text: refusal.message}]}
}
