/**
 * Which protocol era a message belongs to. The body decides, as the revision says: a request
 * whose `_meta` carries `io.modelcontextprotocol/protocolVersion` is modern (even when it names
 * a version this server does not serve: the modern path answers that with UNSUPPORTED_PROTOCOL_VERSION); anything
 * else (initialize, a 2025 request, GET, DELETE, a posted response) is legacy. A header alone
 * never makes a request modern, so a proxy that drops or adds headers cannot change the era.
 *
 * Over HTTP each request is classified on its own. Over stdio the era is a property of the
 * connection: the opening exchange decides it and later messages cannot change it.
 */
import {CODE, type Era, type EraRefusal, isModernVersion, isPlainObject, META, metaOf, MODERN_VERSIONS} from './protocol.js'
import {validateRequestMeta} from './request-meta.js'

export type Detected = {era: Era; refusal?: undefined} | {era?: undefined; refusal: EraRefusal}

interface Message {
  method?: unknown
  id?: unknown
  params?: unknown
}

/** Whether the message claims the modern era (its `_meta` names a protocol version). */
export function claimsModern(message: unknown): boolean {
  if (!isPlainObject(message) || typeof message.method !== 'string') return false
  const meta = metaOf(message.params)
  return meta !== undefined && META.protocolVersion in meta
}

/**
 * The era of one HTTP request: its method, its MCP-Protocol-Version header, and its parsed
 * JSON-RPC body (undefined for GET, DELETE, or a body that is not one message).
 */
export function eraOfHttpRequest(httpMethod: string, protocolVersionHeader: string | undefined, body: unknown): Detected {
  if (httpMethod !== 'POST' || body === undefined) return {era: 'legacy'}
  if (claimsModern(body)) return {era: 'modern'}
  const message = body as Message
  // A modern header on a request without the `_meta` it requires: refused rather than guessed at.
  if (isModernVersion(protocolVersionHeader?.trim()) && typeof message.method === 'string' && message.id !== undefined) {
    return {
      refusal: {
        status: 400,
        code: CODE.INVALID_PARAMS,
        message: `Invalid params: the MCP-Protocol-Version header names protocol revision ${protocolVersionHeader!.trim()}, but the request has no _meta naming it`,
        data: {envelope: {missing: ['_meta']}},
        reason: 'modern_header_without_meta',
      },
    }
  }
  return {era: 'legacy'}
}

/**
 * The era of one stdio connection, decided by its opening exchange, as the SDK's serveStdio
 * decides it (the two must agree: keyward checks and audits a message in the era the SDK's
 * instance then serves it in):
 * - a message without a modern `_meta` (`initialize`, a 2025 request, a notification) pins it to
 *   the legacy era;
 * - a modern request or notification with a valid envelope pins it to the modern era;
 * - `server/discover` is answered in the modern era but pins nothing, and a modern notification
 *   after it pins nothing either: a client that probes and finds no common version falls back to
 *   `initialize` on the same connection;
 * - a message whose envelope is invalid, or names a revision not served, is refused and pins nothing.
 * Once modern, an `initialize` is refused with UNSUPPORTED_PROTOCOL_VERSION naming the modern
 * versions (the revision forbids falling back after the modern era is confirmed).
 */
export class StdioEra {
  private pinned?: Era
  private probed = false

  get era(): Era | undefined {
    return this.pinned
  }

  /** The era the message is served in, or the refusal it gets. */
  observe(message: unknown): Detected {
    const m = (isPlainObject(message) ? message : {}) as Message
    if (this.pinned === 'modern') {
      if (m.method === 'initialize') {
        const supported = [...MODERN_VERSIONS]
        return {refusal: {status: 400, code: CODE.UNSUPPORTED_PROTOCOL_VERSION, message: 'Unsupported protocol version: this connection speaks 2026-07-28; initialize is not part of it', data: {supported}, reason: 'initialize_after_modern'}}
      }
      return {era: 'modern'}
    }
    if (this.pinned === 'legacy') return {era: 'legacy'}
    // A response before any era is discarded (by the SDK too): it decides nothing.
    if (typeof m.method !== 'string') return {era: 'legacy'}
    if (!claimsModern(message)) {
      this.pinned = 'legacy'
      return {era: 'legacy'}
    }
    // Refused (a request) or discarded (a notification) for its envelope: nothing is decided.
    if (!validateRequestMeta(m.params).ok) return {era: 'modern'}
    const isRequest = m.id !== undefined
    if (isRequest && m.method === 'server/discover') this.probed = true
    else if (isRequest || !this.probed) this.pinned = 'modern'
    return {era: 'modern'}
  }
}
