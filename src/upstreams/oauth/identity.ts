/**
 * Who a token says the operator is, for `upstream list` and `show`: the `email`,
 * `preferred_username`, `name` or `sub` of the ID token, or of the access token when it is a
 * JWT. Only a label: nothing is verified here (the upstream verifies the token), and the label
 * is never used to decide anything.
 */
import type {StoredTokens} from './store.js'

const CLAIMS = ['email', 'preferred_username', 'username', 'login', 'name', 'sub'] as const

function claimsOf(jwt: string | undefined): Record<string, unknown> | undefined {
  const parts = jwt?.split('.')
  if (parts?.length !== 3 || parts[1].length > 16_384) return undefined
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
    return typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function printable(value: string): string {
  const clean = value.replace(/[^\x20-\x7E\u00A0-\uFFFF]/g, '').replace(/[\u200B-\u200F\u202A-\u202E\u2066-\u2069]/g, '')
  return clean.length > 80 ? `${clean.slice(0, 79)}…` : clean
}

export function signedInAs(tokens: StoredTokens, clientId?: string, unattended = false): string | undefined {
  if (unattended && clientId) return `client ${printable(clientId)}`
  for (const source of [tokens.id_token, tokens.access_token]) {
    const claims = claimsOf(source)
    if (!claims) continue
    for (const name of CLAIMS) {
      const value = claims[name]
      if (typeof value === 'string' && value.trim() !== '') return printable(value.trim())
    }
  }
  return undefined
}
