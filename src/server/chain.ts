/**
 * The request chain. Every MCP request passes the same stages, in this order, whatever the
 * transport:
 *
 *   admission, per inbound HTTP request or stdio message:   authenticate
 *   call, per tools/call:                                   authorize -> validate input -> execute
 *
 * The HTTP front runs admission before the SDK transport sees the request (so a failure is an
 * HTTP 401); over stdio it runs on every message. Stages are middleware: each may act before
 * and after the rest of the chain, or stop it by throwing. The input guard and rate limits
 * slot in before authenticate (and per key after it), and audit wraps both chains, as entries
 * in these lists (see server/index.ts), not inside the transports.
 */
import type {CallToolResult} from '@modelcontextprotocol/sdk/types.js'

import type {VerifyCode} from '../keys/index.js'
import type {Principal} from './principal.js'
import type {ToolDefinition} from './tools/index.js'

export interface RequestContext {
  transport: 'stdio' | 'http'
  /** The credential as presented: from a header, or the environment over stdio. Never logged. */
  credential?: string
  /** Set by the authenticate stage. */
  principal?: Principal
}

export interface CallContext {
  principal: Principal
  name: string
  arguments: unknown
  signal: AbortSignal
  /** Set by authorize. */
  tool?: ToolDefinition
  /** Set by validate. */
  input?: unknown
  /** Set by execute (or by a stage that answers instead). */
  result?: CallToolResult
}

export type Stage<C> = (ctx: C, next: () => Promise<void>) => void | Promise<void>

/** Why a request was refused. The message is safe to show the client: it never echoes the credential. */
export class Rejection extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413 | 429 | 503,
    readonly reason: VerifyCode | 'missing' | 'ambiguous' | 'unsupported_scheme' | 'forbidden' | 'too_large',
    message: string,
  ) {
    super(message)
    this.name = 'Rejection'
  }
}

/** Runs stages as nested middleware: stage i's `next` runs stage i+1. */
export function compose<C>(stages: readonly Stage<C>[]): (ctx: C) => Promise<void> {
  return (ctx) => {
    const at = async (i: number): Promise<void> => {
      const stage = stages[i]
      if (stage) await stage(ctx, () => at(i + 1))
    }
    return at(0)
  }
}

export interface Chains {
  /** Resolves to the caller, or throws a Rejection. */
  admit(ctx: RequestContext): Promise<Principal>
  /** Runs a tools/call to its result; throws McpError for protocol-level refusals. */
  call(ctx: CallContext): Promise<CallToolResult>
}

export function buildChains(admission: readonly Stage<RequestContext>[], call: readonly Stage<CallContext>[]): Chains {
  const runAdmission = compose(admission)
  const runCall = compose(call)
  return {
    async admit(ctx) {
      await runAdmission(ctx)
      if (!ctx.principal) throw new Rejection(401, 'missing', 'Unauthorized')
      return ctx.principal
    },
    async call(ctx) {
      await runCall(ctx)
      if (!ctx.result) throw new Error('the call chain produced no result')
      return ctx.result
    },
  }
}
