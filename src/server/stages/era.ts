/**
 * Which protocol era a message belongs to, and the rules of that era that keyward checks before
 * anything serves it. The body decides (era/detect.ts): over HTTP each request on its own, over
 * stdio the connection's opening exchange. Then:
 *
 *   - `server.protocol` (`--protocol`): `legacy` refuses a 2026-07-28 request, `modern` a 2025
 *     one, each with UNSUPPORTED_PROTOCOL_VERSION naming the versions this server serves;
 *   - a 2026-07-28 request's `_meta` is validated (INVALID_PARAMS naming the key, or
 *     UNSUPPORTED_PROTOCOL_VERSION), and kept in the context: it is all the server knows of its
 *     client, for this request only;
 *   - over HTTP, its standard headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name) must agree
 *     with the body (HEADER_MISMATCH).
 *
 * Runs after the body is parsed and before the session stage, which lets modern requests pass
 * without a session (the revision has none). Authentication has run already, on every request.
 */
import {type Detected, eraOfHttpRequest, StdioEra, claimsModern} from '../era/detect.js'
import {checkStandardHeaders} from '../era/headers.js'
import {CODE, LEGACY_VERSIONS, MODERN_VERSIONS, metaOf, META} from '../era/protocol.js'
import {validateRequestMeta} from '../era/request-meta.js'
import type {RequestContext} from '../context.js'
import type {Stage} from '../pipeline/chain.js'
import {Refusal} from '../refusal.js'

export type ProtocolChoice = 'any' | 'modern' | 'legacy'

function protocolOf(ctx: RequestContext): ProtocolChoice {
  const value = ctx.runtime.config.get('server.protocol')
  return value === 'modern' || value === 'legacy' ? value : 'any'
}

function unsupported(supported: readonly string[], requested: unknown, reason: string): Refusal {
  const version = typeof requested === 'string' ? requested.slice(0, 40) : 'unknown'
  return Refusal.era({
    status: 400,
    code: CODE.UNSUPPORTED_PROTOCOL_VERSION,
    message: `Unsupported protocol version: ${version}; this server speaks ${supported.join(', ')}`,
    data: {supported: [...supported], requested: version},
    reason,
  })
}

/** The one header value, or undefined; a repeated one is refused (a proxy and keyward could read different copies). */
function single(ctx: RequestContext, name: string): string | undefined {
  const values = ctx.headers[name]
  if (values && values.length > 1) throw Refusal.invalidRequest('repeated_header', `Bad Request: the ${name} header appears more than once`)
  return values?.[0]
}

/** What the message says its version is, for a refusal: the `_meta` claim, initialize's protocolVersion, or the header. */
function requestedVersion(ctx: RequestContext): unknown {
  const params = ctx.message?.params
  return metaOf(params)?.[META.protocolVersion] ?? params?.protocolVersion ?? ctx.headers['mcp-protocol-version']?.[0]
}

/** The protocol choice against the detected era, then the modern era's own checks. */
function admit(ctx: RequestContext, detected: Detected): void {
  if (detected.refusal) throw Refusal.era(detected.refusal)
  const era = detected.era
  const protocol = protocolOf(ctx)
  const message = ctx.message
  const isRequest = message?.method !== undefined && message.id !== undefined
  // Every message of the refused era, notifications included (over stdio a notification's refusal is not answered: it is dropped).
  if (era === 'legacy' && protocol === 'modern') throw unsupported(MODERN_VERSIONS, requestedVersion(ctx), 'legacy_refused')
  if (era === 'modern' && protocol === 'legacy') throw unsupported(LEGACY_VERSIONS, requestedVersion(ctx), 'modern_refused')
  ctx.era = era
  if (era !== 'modern' || !message?.method) return
  const modern = {method: message.method, params: message.params}
  if (isRequest) {
    const checked = validateRequestMeta(message.params)
    if (!checked.ok) {
      // A version the header and the body disagree on is a mismatch before it is unsupported: which of the two to judge is unknown (SEP-2243, as the SDK answers).
      if (checked.refusal.code === CODE.UNSUPPORTED_PROTOCOL_VERSION) checkHeaders(ctx, modern)
      throw Refusal.era(checked.refusal)
    }
    ctx.requestMeta = checked.meta
  }
  checkHeaders(ctx, modern)
}

/** Over HTTP, the standard headers against the body: HEADER_MISMATCH when they disagree. */
function checkHeaders(ctx: RequestContext, message: {method: string; params?: unknown}): void {
  if (ctx.transport !== 'http') return
  const headers = {protocolVersion: single(ctx, 'mcp-protocol-version'), method: single(ctx, 'mcp-method'), name: single(ctx, 'mcp-name')}
  const mismatch = checkStandardHeaders(headers, {method: message.method, params: message.params})
  if (mismatch) throw Refusal.era(mismatch)
}

export function detectEra(transport: 'stdio' | 'http'): Stage<RequestContext> {
  if (transport === 'http') {
    return (ctx, next) => {
      admit(ctx, eraOfHttpRequest(ctx.method ?? '', single(ctx, 'mcp-protocol-version'), ctx.message?.json))
      return next()
    }
  }
  // One stdio connection per server: its era is decided once, by its opening exchange.
  const connection = new StdioEra()
  return (ctx, next) => {
    const json = ctx.message?.json
    // A message the protocol choice refuses must not decide the connection's era.
    const refused = protocolOf(ctx) === 'modern' ? !claimsModern(json) : protocolOf(ctx) === 'legacy' ? claimsModern(json) : false
    admit(ctx, refused ? {era: claimsModern(json) ? 'modern' : 'legacy'} : connection.observe(json))
    return next()
  }
}
