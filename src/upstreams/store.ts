/** Upstream definitions in an open vault (the `upstreams` table). */
import {KeywardError} from '../errors/index.js'
import {tableOf, type VaultData} from '../vault/index.js'
import {checkUpstreamName, definitionIdentity, secretsOf, type UpstreamDefinition, type UpstreamTested} from './definition.js'
import {removeOAuthState} from './oauth/store.js'

export function upstreamsOf(data: VaultData): Map<string, UpstreamDefinition> {
  return tableOf<UpstreamDefinition>(data, 'upstreams')
}

const byName = (a: UpstreamDefinition, b: UpstreamDefinition) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

/** Sorted by name, for showing. */
export function listUpstreams(data: VaultData): UpstreamDefinition[] {
  return [...upstreamsOf(data).values()].sort(byName)
}

/**
 * In the order they were defined (then by name): the order a gateway mounts them in, which
 * decides collisions (docs/gateway.md). It does not depend on which starts first, and an
 * upstream added later never comes before one already there; `--replace` keeps its place.
 */
export function upstreamsInPrecedence(data: VaultData): UpstreamDefinition[] {
  return [...upstreamsOf(data).values()].sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : byName(a, b)))
}

export function findUpstream(data: VaultData, name: string): UpstreamDefinition {
  const def = upstreamsOf(data).get(name)
  if (!def) throw new KeywardError('NOT_FOUND', `no upstream named ${JSON.stringify(name.slice(0, 40))}; see \`keyward upstream list\``)
  return def
}

/** The secrets a definition names that the vault does not hold. */
export function missingSecrets(data: VaultData, def: UpstreamDefinition): string[] {
  return secretsOf(def).filter((name) => !data.secrets.has(name))
}

export function addUpstream(data: VaultData, def: UpstreamDefinition, options: {replace?: boolean} = {}): void {
  checkUpstreamName(def.name)
  const table = upstreamsOf(data)
  const existing = table.get(def.name)
  if (existing && !options.replace) {
    throw new KeywardError('ALREADY_EXISTS', `an upstream named ${def.name} already exists; remove it first (\`keyward upstream rm ${def.name}\`) or pass --replace`)
  }
  const missing = missingSecrets(data, def)
  if (missing.length > 0) {
    throw new KeywardError('NOT_FOUND', `upstream ${def.name} refers to secrets the vault does not hold: ${missing.join(', ')}; store them first with \`keyward secrets set NAME\``)
  }
  if (!def.prefix) {
    const other = [...table.values()].find((u) => !u.prefix && u.name !== def.name)
    if (other) {
      throw new KeywardError('INVALID_INPUT', `upstream ${other.name} is already mounted without a prefix; only one can be, or their names would collide`)
    }
  }
  table.set(def.name, existing ? {...def, created: existing.created} : def)
}

export function removeUpstream(data: VaultData, name: string): UpstreamDefinition {
  const def = findUpstream(data, name)
  upstreamsOf(data).delete(name)
  // Its OAuth tokens go with it (they are not revoked: `upstream logout` first does that).
  removeOAuthState(data, name)
  return def
}

/** A protocol revision is a date; anything else an upstream claims is not written down. */
const PROTOCOL_VERSION = /^\d{4}-\d{2}-\d{2}$/

/**
 * Records what `upstream test` found on `tested`, the definition it started: not on one changed,
 * replaced or removed since (the finding is not about it), and without touching `updated` (the
 * definition did not change, and `serve` restarts nothing for it). False when nothing was
 * recorded: the definition changed meanwhile, or the finding is not one to keep (the revision
 * comes from the upstream, which may be hostile).
 */
export function recordTested(data: VaultData, tested: UpstreamDefinition, found: UpstreamTested): boolean {
  const table = upstreamsOf(data)
  const current = table.get(tested.name)
  if (!current || definitionIdentity(current) !== definitionIdentity(tested)) return false
  if ((found.era !== 'legacy' && found.era !== 'modern') || !PROTOCOL_VERSION.test(found.protocolVersion)) return false
  table.set(current.name, {...current, tested: {era: found.era, protocolVersion: found.protocolVersion, at: found.at}})
  return true
}
