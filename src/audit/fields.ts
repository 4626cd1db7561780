/** The facts about a caller that a record holds: who, never with what credential. */

/** The caller as a record names it (an auth Principal is one): the audit needs nothing else of auth. */
export interface AuditedCaller {
  id: string
  authType: string
  name: string
  keyId?: string
  clientId?: string
}

export function principalFields(principal: AuditedCaller | undefined): Record<string, string> {
  if (!principal) return {}
  return {
    principal: principal.id,
    auth: principal.authType,
    name: principal.name,
    ...(principal.keyId ? {key: principal.keyId} : {}),
    ...(principal.clientId ? {client: principal.clientId} : {}),
  }
}

/** A name a client chose (a tool it asked for): kept, but bounded, so one record stays one small line. */
export function clientText(value: unknown, max = 200): string | undefined {
  if (typeof value !== 'string') return undefined
  return value.length > max ? `${value.slice(0, max)}…` : value
}
