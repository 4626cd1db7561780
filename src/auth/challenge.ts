/** WWW-Authenticate challenges (RFC 9110, RFC 6750): built by each authenticator, merged per scheme. */
export interface Challenge {
  scheme: string
  /** In the order they should appear. */
  params: Record<string, string>
}

/** A quoted-string for a challenge parameter (RFC 9110): no quotes or backslashes inside. */
export function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "'")}"`
}

/** What a challenge says of a refusal (an AuthFailure): the RFC 6750 error code, if any, and why. */
export interface ChallengeError {
  error?: string
  scope?: string
  message: string
}

/** The RFC 6750 error parameters of a failure, when it has an error code. */
export function errorParams(failure: ChallengeError | undefined): Record<string, string> {
  if (!failure?.error) return {}
  return {error: failure.error, ...(failure.scope ? {scope: failure.scope} : {}), error_description: failure.message}
}

/**
 * One challenge per scheme, with the parameters of every authenticator that uses it (the first
 * value of a parameter wins), and `methods` listing the kinds of credential accepted when there
 * is more than one.
 */
export function renderChallenges(challenges: readonly Challenge[], methods: readonly string[]): string | undefined {
  const merged = new Map<string, Record<string, string>>()
  for (const c of challenges) {
    const params = merged.get(c.scheme) ?? {}
    for (const [k, v] of Object.entries(c.params)) if (!(k in params)) params[k] = v
    merged.set(c.scheme, params)
  }
  if (merged.size === 0) return undefined
  if (methods.length > 1) {
    const bearer = merged.get('Bearer')
    if (bearer) bearer.methods = methods.join(' ')
  }
  return [...merged].map(([scheme, params]) => `${scheme} ${Object.entries(params).map(([k, v]) => `${k}=${quoted(v)}`).join(', ')}`.trim()).join(', ')
}
