/** HTTP peers against guard.allow-cidrs and guard.deny-cidrs: deny wins; with an allow list, only it passes. */
import type {RequestContext} from '../context.js'
import type {Stage} from '../pipeline/chain.js'
import {Refusal} from '../refusal.js'

export function guardAddresses(): Stage<RequestContext> {
  return (ctx, next) => {
    const {allow, deny} = ctx.runtime.protection
    if (deny?.has(ctx.peer) || (allow && !allow.has(ctx.peer))) {
      throw Refusal.forbidden('address_denied', 'Forbidden: this server does not accept requests from your address', {
        list: deny?.has(ctx.peer) ? 'guard.deny-cidrs' : 'guard.allow-cidrs',
      })
    }
    return next()
  }
}
