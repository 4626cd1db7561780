/**
 * The active authenticators, in the order they are asked to claim a credential. This is the one
 * place that turns the names of authentication methods into implementations.
 */
import {ApiKeyAuthenticator, type VaultView} from './api-key.js'
import {AuthFailure, type AuthRequest, type Authenticator, type Credential} from './authenticator.js'
import {NoAuthenticator} from './none.js'
import type {Principal} from './principal.js'

export {AuthFailure, type AuthRequest, type Authenticator, type Credential} from './authenticator.js'
export {credentialFromHeaders} from './credentials.js'
export {ANONYMOUS} from './none.js'
export {keyFailure, principalForKey} from './api-key.js'
export type {AuthType, Principal} from './principal.js'

export type AuthMethod = 'api-key' | 'none'
export const AUTH_METHODS: readonly AuthMethod[] = ['api-key', 'none']

export interface AuthDeps {
  vault: VaultView
}

export function createAuthenticators(methods: readonly AuthMethod[], deps: AuthDeps): Authenticators {
  const list = methods.map((method): Authenticator => {
    switch (method) {
      case 'api-key':
        return new ApiKeyAuthenticator(deps.vault)
      case 'none':
        return new NoAuthenticator()
    }
  })
  return new Authenticators(list)
}

/** Several authenticators as one: the first that claims a credential decides. */
export class Authenticators {
  constructor(readonly list: readonly Authenticator[]) {}

  get types(): string[] {
    return this.list.map((a) => a.type).filter((t) => t !== 'none')
  }

  get required(): boolean {
    return !this.list.some((a) => a.type === 'none')
  }

  async authenticate(credential: Credential | undefined, request: AuthRequest): Promise<{principal: Principal; by: Authenticator}> {
    for (const authenticator of this.list) {
      if (!authenticator.claims(credential, request)) continue
      try {
        return {principal: await authenticator.authenticate(credential, request), by: authenticator}
      } catch (err) {
        if (err instanceof AuthFailure) err.by = authenticator
        throw err
      }
    }
    if (!credential) throw new AuthFailure('missing', 'Unauthorized: credentials are required (Authorization: Bearer <credential> or X-API-Key: <key>)')
    throw new AuthFailure('malformed', 'Unauthorized: the credential is not one this server accepts (malformed, or mistyped)', 'invalid_token')
  }

  /** Every active authenticator's challenge, so a client learns all the ways in; the one that refused carries the error. */
  challenges(failure?: AuthFailure): string[] {
    return this.list.map((a) => a.challenge(!failure?.by || a === failure.by ? failure : undefined)).filter((c): c is string => c !== undefined)
  }

  stillValid(principal: Principal): boolean {
    const owner = this.list.find((a) => a.type === principal.authType)
    return owner !== undefined && owner.stillValid(principal) && (principal.expiresAt === undefined || principal.expiresAt > Date.now())
  }
}
