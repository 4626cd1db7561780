/** Authenticate: the presented credential becomes a Principal, or the request is refused with every active challenge. */
import {AuthFailure} from '../../auth/index.js'
import type {Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'

/** The first value of each header an authenticator reads; repeats are joined, which no identity value survives. */
function authHeaders(ctx: RequestContext, names: readonly string[]): Record<string, string | undefined> | undefined {
  if (names.length === 0) return undefined
  const out: Record<string, string | undefined> = {}
  for (const name of names) out[name] = ctx.headers[name]?.join(',')
  return out
}

/** The request's runtime holds the authenticators (rebuilt when the vault's settings change). */
export function authenticate(): Stage<RequestContext> {
  return async (ctx, next) => {
    const {authenticators} = ctx.runtime
    // The Host stage came first: this Host is one the server answers to, and names the resource the client asked for.
    const request = {transport: ctx.transport, peer: ctx.peer, headers: authHeaders(ctx, authenticators.headerNames), host: ctx.headers.host?.[0]}
    try {
      ctx.principal = (await authenticators.authenticate(ctx.presented(), request)).principal
    } catch (err) {
      if (err instanceof AuthFailure) throw Refusal.unauthenticated(err, authenticators.challenge(err, request))
      throw err
    }
    return next()
  }
}
