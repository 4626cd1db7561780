/**
 * The secret values a vault holds, as one matcher: its secrets table, and the tokens and client
 * secrets keyward keeps for upstreams that take OAuth (src/upstreams/oauth/store.ts), which an
 * upstream may echo like any other secret. The runtime's redactors, the probes and the console
 * build theirs here, so that none of them misses the tokens.
 */
import {Redactor} from '../guard/redactor.js'
import type {VaultData} from '../vault/index.js'
import {oauthSecretsOf} from './oauth/store.js'

/** `held`: secrets in use that the vault does not have yet (renewed upstream tokens whose save failed: TokenBroker.heldSecrets). */
export function vaultRedactor(data: VaultData, held: readonly [string, string][] = []): Redactor {
  const pairs: [string, string][] = []
  for (const [name, record] of data.secrets) pairs.push([name, record.value.toString('utf8')])
  pairs.push(...oauthSecretsOf(data), ...held)
  return new Redactor(pairs)
}
