/**
 * Runs the item, through its source's redacting wrapper (tools/redacting.ts), with the redactor
 * of the call's runtime; the names it replaced go to the audit. A Refusal (an upstream's own
 * JSON-RPC error among them, Refusal.fromUpstream) reaches the client as it is: the wrapper has
 * redacted it. Anything else a tool throws gets a fixed message: its error text could hold
 * anything it touched.
 */
import type {Principal} from '../../auth/index.js'
import type {Allowance} from '../../ratelimit/limits.js'
import type {CallContext} from '../context.js'
import type {Logger} from '../log.js'
import type {Stage} from '../pipeline/chain.js'
import {isJsonRpcError, Refusal} from '../refusal.js'
import type {Runtime} from '../runtime.js'
import type {CallEnv, ServerInfo} from '../tools/source.js'

export type AllowanceOf = (principal: Principal, runtime: Runtime) => Promise<Allowance | undefined>

export function execute(server: ServerInfo, log: Logger, allowance?: AllowanceOf): Stage<CallContext> {
  return async (ctx) => {
    const item = ctx.item!
    const found = new Set<string>()
    const env: CallEnv = {
      principal: ctx.principal,
      server,
      signal: ctx.signal,
      meta: ctx.meta,
      client: ctx.client,
      session: ctx.session,
      era: ctx.era,
      declared: ctx.declared,
      input: ctx.input,
      logLevel: ctx.logLevel,
      allowance: allowance && (() => allowance(ctx.principal, ctx.runtime)),
      redaction: {redactor: ctx.runtime.redactor, found},
    }
    try {
      if (item.kind === 'tool') ctx.result = await item.call(ctx.arguments, env)
      else if (item.kind === 'prompt') ctx.result = await item.get(ctx.arguments as Record<string, string>, env)
      else ctx.result = await item.read(env)
    } catch (err) {
      if (err instanceof Refusal || (item.kind !== 'tool' && isJsonRpcError(err))) throw err
      log('error', `${item.kind} ${ctx.name} failed for ${ctx.principal.id}${ctx.era ? ` (${ctx.era} era)` : ''} (${(err as Error)?.name ?? 'error'})`)
      if (item.kind === 'tool') ctx.result = {isError: true, content: [{type: 'text', text: `Tool ${ctx.name} failed`}]}
      else throw new Error(`${item.kind} failed`)
    } finally {
      if (found.size > 0) ctx.redacted = [...found].sort()
    }
  }
}
