/**
 * The outermost request stage: every refusal by any stage inside it (or by the dispatch) is
 * recorded with its reason, and an accepted `initialize` records the authentication once per
 * session. With audit.fail-closed, nothing is served while the log cannot be written.
 */
import {clientText, principalFields, type AuditEvent} from '../../audit/index.js'
import type {RequestContext} from '../context.js'
import {Rejection, RPC, type RejectionKind, type Stage} from '../pipeline/chain.js'

/** Where records go: the audit log, as far as the stages need it. */
export interface AuditTrail {
  /** Settles when the record is written; a failure rejects (fail-open callers ignore it). */
  record(event: AuditEvent): Promise<void>
  /** False while the log cannot be written. */
  ready(): Promise<boolean>
}

const EVENT: Record<RejectionKind, string> = {
  auth: 'auth.failure',
  authz: 'authz.denied',
  rate: 'ratelimit',
  guard: 'guard.block',
  unavailable: 'request.refused',
  protocol: 'request.refused',
}

export function requestFacts(ctx: RequestContext): Record<string, unknown> {
  const message = ctx.message as {method?: unknown} | undefined
  return {
    transport: ctx.transport,
    ...(ctx.peer ? {peer: ctx.peer} : {}),
    ...(ctx.method ? {http_method: ctx.method} : {}),
    ...(message?.method !== undefined ? {method: clientText(message.method, 64)} : {}),
    ...principalFields(ctx.principal),
  }
}

export function refusalEvent(ctx: RequestContext, rejection: Rejection): AuditEvent {
  return {
    event: EVENT[rejection.kind],
    reason: rejection.reason,
    status: rejection.status,
    ...requestFacts(ctx),
    ...(rejection.kind === 'rate' && rejection.data ? {policy: rejection.data.policy} : {}),
    ...rejection.detail,
  }
}

export function auditRequests(trail: AuditTrail, failClosed: () => boolean): Stage<RequestContext> {
  return async (ctx, next) => {
    try {
      if (failClosed() && !(await trail.ready())) {
        throw new Rejection(503, 'audit_unavailable', 'Service Unavailable: the audit log cannot be written; retry later', RPC.SERVER_ERROR, {
          kind: 'unavailable',
          headers: {'retry-after': '5'},
        })
      }
      await next()
    } catch (err) {
      if (err instanceof Rejection) trail.record(refusalEvent(ctx, err)).catch(() => {})
      throw err
    }
    if (ctx.principal && (ctx.message as {method?: unknown} | undefined)?.method === 'initialize') {
      trail.record({event: 'auth.success', ...requestFacts(ctx)}).catch(() => {})
    }
  }
}
