/**
 * What the upstream says when asked without a token: its 401's `WWW-Authenticate` names the
 * protected-resource metadata and, often, the scope it wants (MCP 2025-11-25, "Authorization
 * Server Discovery" and "Scope Selection Strategy"). An `initialize` is the request any client
 * would make first; a server that lets it through without a token gives no challenge, and
 * discovery then starts from the well-known locations.
 */
import {extractWWWAuthenticateParams} from '@modelcontextprotocol/client'

export interface Challenge {
  status: number
  resourceMetadataUrl?: URL
  scope?: string
}

const PROBE_TIMEOUT_MS = 10_000

export async function probeChallenge(url: string, headers: Record<string, string>, fetchFn: typeof fetch = fetch): Promise<Challenge> {
  const body = JSON.stringify({jsonrpc: '2.0', id: 0, method: 'initialize', params: {protocolVersion: '2025-11-25', capabilities: {}, clientInfo: {name: 'keyward', version: '0'}}})
  const response = await fetchFn(url, {
    method: 'POST',
    headers: {...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream'},
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  })
  await response.body?.cancel().catch(() => {})
  // A server that let the probe in opened a session for it: end it rather than leave it behind.
  const session = response.headers.get('mcp-session-id')
  if (response.ok && session) await fetchFn(url, {method: 'DELETE', headers: {...headers, 'mcp-session-id': session}, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS)}).then((r) => r.body?.cancel(), () => {})
  if (response.status !== 401 && response.status !== 403) return {status: response.status}
  const {resourceMetadataUrl, scope} = extractWWWAuthenticateParams(response)
  return {status: response.status, resourceMetadataUrl, scope}
}
