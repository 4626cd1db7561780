/**
 * The one hook between upstream OAuth and the MCP client's HTTP transport: a `fetch` that puts
 * the upstream's current access token on every request, renews it once after a 401 and sends
 * the request again, and turns a 403 `insufficient_scope` into "needs a login with the wider
 * scope". It works with any transport that takes a `fetch` option (the SDK's 1.x and 2.x
 * Streamable HTTP clients both do). The request body is a string there, so it can be sent twice.
 */
import {keepsSignIn, type UpstreamDefinition} from '../definition.js'
import type {TokenKeeper} from './broker.js'

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>

function withBearer(init: RequestInit | undefined, token: string): RequestInit {
  const headers = new Headers(init?.headers)
  headers.set('authorization', `Bearer ${token}`)
  return {...init, headers}
}

/** `error` and `scope` of a Bearer challenge (RFC 6750 3): enough to recognise insufficient_scope. */
export function bearerChallenge(header: string | null): {error?: string; scope?: string} {
  if (!header || !/^\s*bearer\b/i.test(header)) return {}
  const param = (name: string) => new RegExp(`\\b${name}=(?:"([^"]*)"|([^\\s,]+))`, 'i').exec(header)?.slice(1).find((v) => v !== undefined)
  return {error: param('error'), scope: param('scope')}
}

/**
 * `forDef`: the definition the connection using this fetch was made for. The keeper is shared by
 * name, and follows the newest definition; while an upstream replaced with another URL or client
 * restarts, its old connection still serves, and must not be handed the new one's tokens.
 */
export function oauthFetch(keeper: TokenKeeper, base: FetchLike = fetch, forDef?: UpstreamDefinition): FetchLike {
  return async (url, init) => {
    // The same definition object, as on every request but those of a connection being replaced: no comparison needed.
    if (forDef && keeper.def !== forDef && !keepsSignIn(forDef, keeper.def)) {
      throw new Error(`upstream ${forDef.name} was changed (another URL or OAuth client): this connection to what it was is being replaced, and gets none of the new one's tokens`)
    }
    const token = await keeper.token()
    let response = await base(url, withBearer(init, token))
    if (response.status === 401) {
      await response.body?.cancel().catch(() => {})
      const renewed = await keeper.afterUnauthorized(token)
      response = await base(url, withBearer(init, renewed))
      if (response.status === 401) {
        await response.body?.cancel().catch(() => {})
        throw await keeper.refusedFresh()
      }
    }
    if (response.status === 403) {
      const challenge = bearerChallenge(response.headers.get('www-authenticate'))
      if (challenge.error === 'insufficient_scope') {
        await response.body?.cancel().catch(() => {})
        throw await keeper.insufficientScope(challenge.scope)
      }
    }
    return response
  }
}
