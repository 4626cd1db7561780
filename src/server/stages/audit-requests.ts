/**
 * The outermost request stage: every refusal by any stage inside it (or by the dispatch) is
 * recorded with its reason, and a 2025 `initialize` that passed them records the authentication
 * once per session. A 2026-07-28 request named `initialize` opens nothing (the revision has no
 * handshake and no session, and the SDK answers it METHOD_NOT_FOUND): it records none, or any
 * caller could write successes that never happened. The method the client sent passes through the runtime's log redactor. With
 * audit.fail-closed, nothing is served while the log cannot be written.
 */
import {clientText, principalFields, type AuditEvent} from '../../audit/index.js'
import type {RequestContext} from '../context.js'
import type {Stage} from '../pipeline/chain.js'
import {Refusal, type RefusalKind} from '../refusal.js'

/** Where records go: the audit log, as far as the stages need it. */
export interface AuditTrail {
  /** Settles when the record is written; a failure rejects (fail-open callers ignore it). */
  record(event: AuditEvent): Promise<void>
  /** False while the log cannot be written. */
  ready(): Promise<boolean>
}

const EVENT: Record<RefusalKind, string> = {
  auth: 'auth.failure',
  authz: 'authz.denied',
  rate: 'ratelimit',
  guard: 'guard.block',
  unavailable: 'request.refused',
  protocol: 'request.refused',
  upstream: 'request.refused',
}

export function requestFacts(ctx: RequestContext): Record<string, unknown> {
  const method = ctx.message?.method
  return {
    transport: ctx.transport,
    ...(ctx.era ? {era: ctx.era} : {}),
    ...(ctx.peer ? {peer: ctx.peer} : {}),
    ...(ctx.method ? {http_method: ctx.method} : {}),
    ...(method !== undefined ? {method: clientText(ctx.runtime.logRedactor.text(method), 64)} : {}),
    ...principalFields(ctx.principal),
  }
}

export function refusalEvent(ctx: RequestContext, refusal: Refusal): AuditEvent {
  return {
    event: EVENT[refusal.kind],
    reason: refusal.reason,
    status: refusal.status,
    ...requestFacts(ctx),
    ...(refusal.kind === 'rate' ? {policy: (refusal.data as {policy?: unknown} | undefined)?.policy} : {}),
    ...refusal.detail,
  }
}

export function auditRequests(trail: AuditTrail): Stage<RequestContext> {
  return async (ctx, next) => {
    try {
      if (ctx.runtime.protection.audit.failClosed && !(await trail.ready())) {
        throw Refusal.unavailable('audit_unavailable', 'Service Unavailable: the audit log cannot be written; retry later', 5)
      }
      await next()
    } catch (err) {
      if (err instanceof Refusal) trail.record(refusalEvent(ctx, err)).catch(() => {})
      throw err
    }
    if (ctx.principal && ctx.message?.method === 'initialize' && ctx.era !== 'modern') {
      trail.record({event: 'auth.success', ...requestFacts(ctx)}).catch(() => {})
    }
  }
}
