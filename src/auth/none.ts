/** `--auth none`: everyone is the anonymous principal with full scopes (loopback only; see serve). */
import {PRESETS, ScopeSet} from '../policy/index.js'
import type {Authenticator} from './authenticator.js'
import type {Principal} from './principal.js'

export const ANONYMOUS: Principal = {id: 'anonymous', authType: 'none', name: 'anonymous', scopes: new ScopeSet(PRESETS.full)}

export class NoAuthenticator implements Authenticator {
  readonly type = 'none' as const

  claims(): boolean {
    return true
  }

  authenticate(): Principal {
    return ANONYMOUS
  }

  challenge(): undefined {
    return undefined
  }

  stillValid(): boolean {
    return true
  }
}
