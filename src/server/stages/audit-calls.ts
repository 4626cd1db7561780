/**
 * The outermost call stage: each tools/call, prompts/get and resources/read is recorded with
 * the caller, the duration and the outcome, and with what refused it (authorization, a guard)
 * or was redacted from it. Arguments only with audit.args, and redacted. With audit.fail-closed
 * the result is released only once its record is written.
 */
import {clientText, principalFields, type AuditEvent} from '../../audit/index.js'
import type {CallContext} from '../context.js'
import {RpcError, RPC, type Stage} from '../pipeline/chain.js'
import type {Protection} from '../protection.js'
import type {AuditTrail} from './audit-requests.js'

const EVENT = {tool: 'tool.call', prompt: 'prompt.get', resource: 'resource.read'} as const
const NAME_FIELD = {tool: 'tool', prompt: 'prompt', resource: 'uri'} as const

export function auditCalls(trail: AuditTrail, protection: () => Protection): Stage<CallContext> {
  return async (ctx, next) => {
    const p = protection()
    const started = performance.now()
    let failure: unknown
    try {
      await next()
    } catch (err) {
      failure = err
    }
    const who = {[NAME_FIELD[ctx.kind]]: clientText(ctx.name), ...principalFields(ctx.principal), ...(ctx.session ? {session: ctx.session.id} : {})}
    const records: AuditEvent[] = []
    if (ctx.refusal) {
      const {event, ...facts} = ctx.refusal
      records.push({event, ...facts, ...who})
    }
    if (ctx.redacted) records.push({event: 'redaction', secrets: ctx.redacted, ...who})
    if (ctx.refusal?.event !== 'authz.denied') {
      const outcome = ctx.refusal ? 'blocked' : failure ? 'error' : (ctx.result as {isError?: boolean} | undefined)?.isError ? 'error' : 'ok'
      records.push({
        event: EVENT[ctx.kind],
        ...who,
        outcome,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        ...(p.audit.args && ctx.kind !== 'resource' ? {arguments: recordedArguments(ctx.arguments, p)} : {}),
      })
    }
    const written = Promise.all(records.map((r) => trail.record(r)))
    if (p.audit.failClosed) {
      try {
        await written
      } catch {
        throw new RpcError(RPC.SERVER_ERROR, 'Refused: the audit log cannot be written, so the result is withheld; retry later', {reason: 'audit_unavailable'})
      }
    } else written.catch(() => {})
    if (failure) throw failure
  }
}

/** Past this, arguments are recorded by size only: one record stays one reasonable line. */
const MAX_ARGUMENT_BYTES = 8192

function recordedArguments(args: Record<string, unknown>, p: Protection): unknown {
  const redacted = p.redactor.value(args)
  const size = Buffer.byteLength(JSON.stringify(redacted))
  return size > MAX_ARGUMENT_BYTES ? {omitted: `${size} bytes`} : redacted
}
