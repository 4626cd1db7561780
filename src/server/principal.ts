import type {ScopeSet} from '../policy/index.js'

/** Who is calling: established by authentication, carried with every request through the chain. */
export interface Principal {
  /** Stable id for session binding and audit: `key:<id>` or `anonymous`. */
  id: string
  authType: 'api_key' | 'none'
  keyId?: string
  name: string
  scopes: ScopeSet
}
