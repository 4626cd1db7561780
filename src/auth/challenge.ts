import type {AuthFailure} from './authenticator.js'

/** A quoted-string for a challenge parameter (RFC 9110): no quotes or backslashes inside. */
export function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, "'")}"`
}

/** `Bearer realm="keyward"`, with the RFC 6750 error and description when there is a failure that has one. */
export function bearerChallenge(failure?: AuthFailure, extra: Record<string, string> = {}): string {
  const params: string[] = ['realm="keyward"']
  for (const [k, v] of Object.entries(extra)) params.push(`${k}=${quoted(v)}`)
  if (failure?.error) params.push(`error=${quoted(failure.error)}`, `error_description=${quoted(failure.message)}`)
  return `Bearer ${params.join(', ')}`
}
