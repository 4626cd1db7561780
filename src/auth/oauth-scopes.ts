/**
 * From a token's scopes to keyward's. The MCP convention, as the seed has it:
 *   mcp:tool:NAME, mcp:tool:*      tool patterns
 *   mcp:prompt:NAME                prompt:NAME
 *   mcp:resource:URI               resource:URI
 *   mcp:server:access              admission only
 * and a configured map for the issuer's own scopes (`oauth.scope-map.repo:read` = github__get_*).
 * A pattern that could never match is dropped, never trusted.
 */
import {checkPattern} from '../policy/index.js'

export interface MappedScopes {
  patterns: string[]
  /** True when the token may use the server at all. */
  admitted: boolean
}

export function tokenScopes(claims: {scope?: unknown; scp?: unknown}): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(/\s+/).filter((s) => s !== '')
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string')
  if (typeof claims.scp === 'string') return claims.scp.split(/\s+/).filter((s) => s !== '')
  return []
}

export function mapScopes(scopes: readonly string[], map: ReadonlyMap<string, readonly string[]>): MappedScopes {
  const patterns: string[] = []
  let admitted = false
  const add = (pattern: string) => {
    try {
      checkPattern(pattern)
    } catch {
      return
    }
    if (!patterns.includes(pattern)) patterns.push(pattern)
    admitted = true
  }
  for (const scope of scopes) {
    if (scope === 'mcp:server:access') admitted = true
    else if (scope.startsWith('mcp:tool:')) add(scope.slice('mcp:tool:'.length))
    else if (scope.startsWith('mcp:prompt:')) add(`prompt:${scope.slice('mcp:prompt:'.length)}`)
    else if (scope.startsWith('mcp:resource:')) add(`resource:${scope.slice('mcp:resource:'.length)}`)
    for (const pattern of map.get(scope) ?? []) add(pattern)
  }
  return {patterns, admitted}
}

/** The token scope that would allow this item: what a 403 insufficient_scope names. */
export function requiredScope(kind: 'tool' | 'prompt' | 'resource', name: string): string {
  return `mcp:${kind}:${name}`
}
