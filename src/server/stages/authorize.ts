/**
 * Deny by default: the item must exist and the principal's scopes must allow it, and both misses
 * look the same to the client. The audit is told which it was.
 */
import {PRESETS, ScopeSet} from '../../policy/index.js'
import type {Stage} from '../pipeline/chain.js'
import type {CallContext} from '../context.js'
import {Refusal} from '../refusal.js'
import type {Catalog} from '../tools/catalog.js'

const EVERYTHING = new ScopeSet(PRESETS.full)

export function authorize(catalog: Catalog): Stage<CallContext> {
  return (ctx, next) => {
    ctx.item = catalog.find(ctx.kind, ctx.principal.scopes, ctx.name, ctx.session)
    if (!ctx.item) {
      const exists = catalog.find(ctx.kind, EVERYTHING, ctx.name, ctx.session) !== undefined
      throw Refusal.unknownItem(ctx.kind, ctx.name, exists ? 'out_of_scope' : 'unknown')
    }
    return next()
  }
}
