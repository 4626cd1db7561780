/**
 * The generic request chain: stages are middleware (`(ctx, next)`), each may act before and
 * after the rest of the chain, or stop it by throwing. Nothing here knows what a key, a tool
 * or a transport is; src/server/assemble.ts decides which stages run, in which list.
 */

export type Stage<C> = (ctx: C, next: () => Promise<void>) => void | Promise<void>

/** What runs after the last stage, when every stage passed: the transport's own work. */
export type Terminal<C> = (ctx: C) => void | Promise<void>

/** Runs stages as nested middleware: stage i's `next` runs stage i+1, and the last one's runs `terminal`. */
export function compose<C>(stages: readonly Stage<C>[]): (ctx: C, terminal?: Terminal<C>) => Promise<void> {
  const list = [...stages]
  return (ctx, terminal) => {
    const at = async (i: number): Promise<void> => {
      const stage = list[i]
      if (stage) await stage(ctx, () => at(i + 1))
      else if (terminal) await terminal(ctx)
    }
    return at(0)
  }
}

/**
 * Why a request was refused. `status` is the HTTP status (200 for a refusal that is a JSON-RPC
 * error inside a normal response), `rpcCode` the JSON-RPC error code, `reason` a stable word for
 * logs, audit and `data.reason`. The message is shown to the client: it never echoes what the
 * client sent.
 */
export class Rejection extends Error {
  readonly headers: Record<string, string>
  readonly data?: Record<string, unknown>
  readonly kind: RejectionKind
  /** Facts for the log and the audit that the client is not told (which guard pattern matched). */
  readonly detail?: Record<string, unknown>

  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly rpcCode: number,
    options: {headers?: Record<string, string>; data?: Record<string, unknown>; kind?: RejectionKind; detail?: Record<string, unknown>} = {},
  ) {
    super(message)
    this.name = 'Rejection'
    this.headers = options.headers ?? {}
    this.data = options.data
    this.kind = options.kind ?? 'protocol'
    this.detail = options.detail
  }
}

/**
 * What kind of refusal: failed authentication, a denied authorization, a rate limit, a guard
 * (size, address, Host/Origin, a credential in the URL), the audit log being unavailable, or a
 * request that breaks the protocol.
 */
export type RejectionKind = 'auth' | 'authz' | 'rate' | 'guard' | 'unavailable' | 'protocol'

/** JSON-RPC error codes keyward uses besides the standard ones. */
export const RPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Implementation-defined server errors. */
  SERVER_ERROR: -32000,
  UNAUTHORIZED: -32001,
  RATE_LIMITED: -32029,
} as const

/**
 * An error that reaches the client as a JSON-RPC error with exactly this code and message. The
 * SDK's McpError prefixes its message with "MCP error CODE:", which would then reach the client
 * twice over; the SDK sends any thrown error's `code`, `message` and `data` as they are.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message)
    this.name = 'RpcError'
  }
}
