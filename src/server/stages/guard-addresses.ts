/** HTTP peers against guard.allow-cidrs and guard.deny-cidrs: deny wins; with an allow list, only it passes. */
import type {RequestContext} from '../context.js'
import {Rejection, RPC, type Stage} from '../pipeline/chain.js'
import type {Protection} from '../protection.js'

export function guardAddresses(protection: () => Protection): Stage<RequestContext> {
  return (ctx, next) => {
    const {allow, deny} = protection()
    if (deny?.has(ctx.peer) || (allow && !allow.has(ctx.peer))) {
      throw new Rejection(403, 'address_denied', 'Forbidden: this server does not accept requests from your address', RPC.SERVER_ERROR, {
        kind: 'guard',
        detail: {list: deny?.has(ctx.peer) ? 'guard.deny-cidrs' : 'guard.allow-cidrs'},
      })
    }
    return next()
  }
}
