/** HTTP: Host and Origin checked against DNS rebinding, before anything else. */
import type {Stage} from '../pipeline/chain.js'
import {hostAllowed, originAllowed} from '../../net/hosts.js'
import type {RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'

export function guardHostOrigin(hosts: () => readonly string[]): Stage<RequestContext> {
  return (ctx, next) => {
    if (ctx.transport !== 'http') return next()
    const host = ctx.headers.host
    if (host?.length !== 1 || !hostAllowed(host[0], hosts())) {
      throw Refusal.forbidden('forbidden_host', 'Forbidden: Host header not allowed (DNS rebinding protection); see --allowed-host')
    }
    const origin = ctx.headers.origin
    if (origin !== undefined && !originAllowed(origin, hosts())) throw Refusal.forbidden('forbidden_origin', 'Forbidden: Origin not allowed')
    return next()
  }
}
