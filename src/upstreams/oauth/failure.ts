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

/**
 * A token answer whose `token_type` is not Bearer (compared without case, RFC 6749 5.1). keyward
 * sends an upstream's token only as `Authorization: Bearer` (RFC 6750, as the MCP authorization
 * spec requires): a DPoP or MAC token sent so would lose its proof of possession, or be refused.
 * A missing token_type is refused too: OAuth 2.1 (like RFC 6749 5.1) makes it REQUIRED, and
 * taking it for Bearer would be a guess about a token keyward cannot inspect. The tokens of such an
 * answer are kept nowhere, and never shown: the line names only the type.
 */
export class UnsupportedTokenType extends KeywardError {
  /** Why, for "needs a new login (…)" when a renewal brings one. */
  readonly reason: string

  constructor(tokenType: string | undefined) {
    const reason = `the authorization server issued ${tokenType === undefined ? 'a token with no token_type' : `a token of type ${JSON.stringify(clean(tokenType, 40))}`}, not a Bearer token, which keyward does not support`
    super('LOGIN_FAILED', `${reason}: keyward sends upstream tokens only as Bearer tokens (RFC 6750); have the authorization server issue Bearer tokens to keyward's client, then sign in again`)
    this.reason = reason
  }
}

/** A token answer that is not Bearer, refused: by keyward (storedTokens), or by the SDK's schema when it has no token_type. */
export function tokenTypeRefusal(err: unknown): UnsupportedTokenType | undefined {
  if (err instanceof UnsupportedTokenType) return err
  const issues = (err as {name?: string; issues?: {path?: unknown[]}[]})?.issues
  if ((err as Error)?.name === 'ZodError' && Array.isArray(issues) && issues[0]?.path?.[0] === 'token_type') return new UnsupportedTokenType(undefined)
  return undefined
}

/** Tokens keyward can send (Bearer), or the refusal. */
export function checkTokenType(tokenType: string | undefined): void {
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw new UnsupportedTokenType(tokenType)
}

/** What went wrong, in one line, for a person (login) or a log line (refresh). */
export function describeFailure(err: unknown): string {
  const refused = tokenTypeRefusal(err)
  if (refused) return refused.message
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

/** `redact`: keeps the vault's secrets (a client secret the authorization server echoes in its error) out of the line. */
export function loginFailure(err: unknown, redact: (text: string) => string = (text) => text): KeywardError {
  if (isKeywardError(err)) return err
  return new KeywardError('LOGIN_FAILED', redact(describeFailure(err)))
}
