/** Authenticate: the presented credential becomes a Principal, or the request is refused with every active challenge. */
import {AuthFailure, type Authenticators} from '../../auth/index.js'
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {RequestContext} from '../context.js'

export function rejectionFor(failure: AuthFailure, authenticators: Authenticators): Rejection {
  const challenges = authenticators.challenges(failure)
  return new Rejection(failure.status, failure.reason, failure.message, RPC.UNAUTHORIZED, {
    headers: challenges.length > 0 ? {'www-authenticate': challenges.join(', ')} : {},
    data: {reason: failure.reason},
  })
}

export function authenticate(authenticators: Authenticators): Stage<RequestContext> {
  return async (ctx, next) => {
    try {
      const credential = ctx.presented()
      ctx.principal = (await authenticators.authenticate(credential, {transport: ctx.transport, peer: ctx.peer})).principal
    } catch (err) {
      if (err instanceof AuthFailure) throw rejectionFor(err, authenticators)
      throw err
    }
    return next()
  }
}
