/** Authenticate: the presented credential becomes a Principal, or the request is refused with every active challenge. */
import {AuthFailure, type Authenticators} from '../../auth/index.js'
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'

export function rejectionFor(failure: AuthFailure, authenticators: Authenticators): Rejection {
  const challenge = authenticators.challenge(failure)
  return new Rejection(failure.status, failure.reason, failure.message, RPC.UNAUTHORIZED, {
    kind: 'auth',
    headers: challenge ? {'www-authenticate': challenge} : {},
    data: {reason: failure.reason, ...(failure.scope ? {scope: failure.scope} : {})},
  })
}

/** The first value of each header an authenticator reads; repeats are joined, which no identity value survives. */
function authHeaders(ctx: RequestContext, names: readonly string[]): Record<string, string | undefined> | undefined {
  if (names.length === 0) return undefined
  const out: Record<string, string | undefined> = {}
  for (const name of names) out[name] = ctx.headers[name]?.join(',')
  return out
}

/** `current` is read per request: the authenticators are rebuilt when the vault's settings change. */
export function authenticate(current: () => Authenticators): Stage<RequestContext> {
  return async (ctx, next) => {
    const authenticators = current()
    try {
      const credential = ctx.presented()
      const request = {transport: ctx.transport, peer: ctx.peer, headers: authHeaders(ctx, authenticators.headerNames)}
      ctx.principal = (await authenticators.authenticate(credential, request)).principal
    } catch (err) {
      if (err instanceof AuthFailure) throw rejectionFor(err, authenticators)
      throw err
    }
    return next()
  }
}
