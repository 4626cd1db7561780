/** Authenticate: the presented credential becomes a Principal, or the request is refused with every active challenge. */
import {AuthFailure, type AuthRequest} from '../../auth/index.js'
import type {Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'

/** Each header an authenticator reads, repeats joined with commas; which ones were repeated is told apart (a joined groups list is a valid one). */
function authHeaders(ctx: RequestContext, names: readonly string[]): Pick<AuthRequest, 'headers' | 'repeated'> {
  if (names.length === 0) return {}
  const headers: Record<string, string | undefined> = {}
  const repeated: string[] = []
  for (const name of names) {
    const values = ctx.headers[name]
    headers[name] = values?.join(',')
    if (values && values.length > 1) repeated.push(name)
  }
  return {headers, repeated}
}

/** The request's runtime holds the authenticators (rebuilt when the vault's settings change). */
export function authenticate(): Stage<RequestContext> {
  return async (ctx, next) => {
    const {authenticators} = ctx.runtime
    // The Host stage came first: this Host is one the server answers to, and names the resource the client asked for.
    const request: AuthRequest = {transport: ctx.transport, peer: ctx.peer, ...authHeaders(ctx, authenticators.headerNames), host: ctx.headers.host?.[0]}
    try {
      ctx.principal = (await authenticators.authenticate(ctx.presented(), request)).principal
    } catch (err) {
      if (err instanceof AuthFailure) throw Refusal.unauthenticated(err, authenticators.challenge(err, request))
      throw err
    }
    return next()
  }
}
