/**
 * Reading the credential a client presented over HTTP: `Authorization: Bearer <token>` or
 * `X-API-Key: <key>`, never the query string or a body. Every header is read with all its
 * occurrences, since Node joins repeated custom headers with ", " and keeps only the first
 * Authorization: two credentials are ambiguous, not malformed.
 */
import {AuthFailure, type Credential} from './authenticator.js'

export function credentialFromHeaders(headers: Readonly<Record<string, readonly string[] | undefined>>): Credential | undefined {
  const authorization = headers.authorization ?? []
  const apiKey = headers['x-api-key'] ?? []
  if (authorization.length > 1) throw new AuthFailure('ambiguous', 'Bad Request: send one Authorization header', 'invalid_request')
  if (apiKey.length > 1) throw new AuthFailure('ambiguous', 'Bad Request: send one X-API-Key header', 'invalid_request')
  let bearer: string | undefined
  if (authorization.length === 1) {
    const match = /^(\S+)(?:[ ]+(.*))?$/.exec(authorization[0].trim())
    if (!match || match[1].toLowerCase() !== 'bearer') {
      // RFC 6750 3.1: a request with an unsupported scheme gets the challenge without an error code.
      throw new AuthFailure('unsupported_scheme', 'Unauthorized: use Authorization: Bearer <credential> or X-API-Key: <key>')
    }
    bearer = (match[2] ?? '').trim()
    if (bearer === '' || /\s/.test(bearer)) throw new AuthFailure('malformed', 'Bad Request: the Bearer credential is empty or malformed', 'invalid_request')
  }
  const key = apiKey.length === 1 ? apiKey[0].trim() : undefined
  if (key === '') throw new AuthFailure('malformed', 'Bad Request: the X-API-Key header is empty', 'invalid_request')
  if (bearer !== undefined && key !== undefined && bearer !== key) {
    throw new AuthFailure('ambiguous', 'Bad Request: Authorization and X-API-Key carry different credentials; send one', 'invalid_request')
  }
  if (bearer !== undefined) return {source: 'authorization', value: bearer}
  if (key !== undefined) return {source: 'x-api-key', value: key}
  return undefined
}
