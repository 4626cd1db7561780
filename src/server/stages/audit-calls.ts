/**
 * The outermost call stage: each tools/call, prompts/get and resources/read is recorded with
 * the caller, the duration and the outcome, and with what refused it (the Refusal thrown by
 * authorize or a guard) or was redacted from it. The name or URI the client chose, the reason's
 * details and the arguments (only with audit.args) pass through the runtime's log redactor
 * first: a tool named after a key or a secret is not written down as it is. With
 * audit.fail-closed the result is released only once its record is written.
 */
import {clientText, principalFields, type AuditEvent} from '../../audit/index.js'
import type {CallContext} from '../context.js'
import type {Stage} from '../pipeline/chain.js'
import type {Redactor} from '../../guard/redactor.js'
import {Refusal} from '../refusal.js'
import type {AuditTrail} from './audit-requests.js'

const EVENT = {tool: 'tool.call', prompt: 'prompt.get', resource: 'resource.read'} as const
const NAME_FIELD = {tool: 'tool', prompt: 'prompt', resource: 'uri'} as const
/** The refusals of a call that have a record of their own; an authorization refusal has no call record besides. */
const REFUSAL_EVENT: Partial<Record<Refusal['kind'], string>> = {authz: 'authz.denied', guard: 'guard.block'}

export function auditCalls(trail: AuditTrail): Stage<CallContext> {
  return async (ctx, next) => {
    const {protection: p, logRedactor: redactor} = ctx.runtime
    const started = performance.now()
    let failure: unknown
    try {
      await next()
    } catch (err) {
      failure = err
    }
    const who = {[NAME_FIELD[ctx.kind]]: clientText(redactor.text(ctx.name)), ...principalFields(ctx.principal), ...(ctx.era ? {era: ctx.era} : {}), ...(ctx.session ? {session: ctx.session.id} : {})}
    const refusal = failure instanceof Refusal ? failure : undefined
    const refusalEvent = refusal && REFUSAL_EVENT[refusal.kind]
    const records: AuditEvent[] = []
    if (refusal && refusalEvent) records.push({event: refusalEvent, reason: refusal.reason, ...redactor.data(refusal.detail), ...who})
    if (ctx.redacted) records.push({event: 'redaction', secrets: ctx.redacted, ...who})
    if (refusal?.kind !== 'authz') {
      const outcome = refusal?.kind === 'guard' ? 'blocked' : failure ? 'error' : (ctx.result as {isError?: boolean} | undefined)?.isError ? 'error' : 'ok'
      records.push({
        event: EVENT[ctx.kind],
        ...who,
        outcome,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        ...(p.audit.args && ctx.kind !== 'resource' ? {arguments: recordedArguments(ctx.arguments, redactor)} : {}),
      })
    }
    const written = Promise.all(records.map((r) => trail.record(r)))
    if (p.audit.failClosed) {
      try {
        await written
      } catch {
        throw Refusal.resultWithheld()
      }
    } else written.catch(() => {})
    if (failure) throw failure
  }
}

/** Past this, arguments are recorded by size only: one record stays one reasonable line. */
const MAX_ARGUMENT_BYTES = 8192

function recordedArguments(args: Record<string, unknown>, redactor: Redactor): unknown {
  const redacted = redactor.data(args)
  const size = Buffer.byteLength(JSON.stringify(redacted))
  return size > MAX_ARGUMENT_BYTES ? {omitted: `${size} bytes`} : redacted
}
