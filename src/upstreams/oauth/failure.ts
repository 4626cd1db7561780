/**
 * One line for each way signing in or refreshing can fail, from the MCP SDK's errors. Text from
 * the authorization server or the upstream is shortened and stripped of control characters: it
 * goes to a terminal and a log, and may come from an attacker.
 */
import {
  AuthorizationServerMismatchError,
  InsecureTokenEndpointError,
  IssuerMismatchError,
  OAuthError,
  RegistrationRejectedError,
} from '@modelcontextprotocol/client'

import {isKeywardError, KeywardError} from '../../errors/index.js'

export function clean(text: string, max = 160): string {
  const out = text.replace(/[\x00-\x1F\x7F]+/g, ' ').trim()
  return out.length > max ? `${out.slice(0, max - 1)}…` : out
}

/** The OAuth error codes after which only a new login helps. */
export const LOGIN_REQUIRED_CODES = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope', 'access_denied'])

export function oauthErrorCode(err: unknown): string | undefined {
  if (err instanceof OAuthError) return err.code
  // The identity provider's refusal of a token exchange (cross_app_access) comes as plain text.
  return /^Token exchange failed: ([a-z_]+)/.exec(err instanceof Error ? err.message : '')?.[1]
}

/** What went wrong, in one line, for a person (login) or a log line (refresh). */
export function describeFailure(err: unknown): string {
  if (isKeywardError(err)) return err.message
  if (err instanceof IssuerMismatchError) {
    // On the callback path the received value is the attacker's choice: never shown.
    return err.kind === 'metadata'
      ? `wrong issuer: the authorization server's metadata names issuer ${JSON.stringify(clean(err.received ?? '', 100))}, not ${JSON.stringify(err.expected ?? '')} where it was found`
      : `wrong issuer: the browser came back from an authorization server other than ${JSON.stringify(err.expected ?? '')} (a mix-up attack, or a misconfigured server)`
  }
  if (err instanceof AuthorizationServerMismatchError) return `wrong issuer: the upstream now names authorization server ${JSON.stringify(clean(err.currentIssuer, 100))}, not ${JSON.stringify(err.recordedIssuer)}`
  if (err instanceof InsecureTokenEndpointError) return `the token endpoint ${clean(err.tokenEndpoint, 100)} is not https; credentials are sent to https (or loopback) endpoints only`
  if (err instanceof RegistrationRejectedError) return `the authorization server refused to register keyward (HTTP ${err.status}); register a client there and pass --client-id (with --client-secret secret:NAME if it has one)`
  if (err instanceof OAuthError) {
    const description = err.message && err.message !== err.code ? `: ${clean(err.message)}` : ''
    return `the authorization server answered ${err.code}${description}`
  }
  const message = err instanceof Error ? err.message : String(err)
  const issues = (err as {name?: string; issues?: {path?: unknown[]; message?: string}[]})?.issues
  if ((err as Error)?.name === 'ZodError' && Array.isArray(issues)) {
    const first = issues[0]
    return `a server answered with a document keyward cannot use (${clean(`${(first?.path ?? []).join('.')}: ${first?.message ?? 'invalid'}`, 100)}${issues.length > 1 ? `, and ${issues.length - 1} more` : ''})`
  }
  if (/does not support dynamic client registration/i.test(message)) {
    return 'the authorization server offers no dynamic client registration and no client metadata documents: register keyward there, then add the upstream again with --client-id (and --client-secret secret:NAME)'
  }
  const mismatch = /^Protected resource (\S+) does not match expected (\S+)/.exec(message)
  if (mismatch) return `wrong resource: the upstream's metadata says it is ${JSON.stringify(clean(mismatch[1], 100))}, not ${mismatch[2]}; refusing to sign in to it`
  if (/does not implement OAuth 2.0 Protected Resource Metadata/.test(message)) return 'the upstream publishes no protected-resource metadata (RFC 9728)'
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'a request to the authorization server timed out'
  const cause = (err as {cause?: {code?: string}})?.cause?.code
  if (err instanceof TypeError && cause) return `cannot reach the server (${cause})`
  return clean(message)
}

export function loginFailure(err: unknown): KeywardError {
  if (isKeywardError(err)) return err
  return new KeywardError('LOGIN_FAILED', describeFailure(err))
}
