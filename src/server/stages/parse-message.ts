/**
 * Parses the body into one JSON-RPC message. A batch (an array) is refused: the protocol dropped
 * batches in 2025-06-18, and one message per request is what every later stage counts on. So is
 * a message nested deeper than MAX_MESSAGE_NESTING: the SDK checks a message with recursive
 * schemas (a `_meta`'s clientCapabilities, say), which overflowed the stack some thousands of
 * levels down and left a 500 that no stage had seen, so nothing was audited.
 */
import type {JSONRPCMessage} from '@modelcontextprotocol/server'

import {jsonNestsDeeper} from '../../guard/nesting.js'
import {MAX_NESTING} from '../../guard/redactor.js'
import type {Stage} from '../pipeline/chain.js'
import {parsedMessage, type RequestContext} from '../context.js'
import {Refusal} from '../refusal.js'

/**
 * Twice the depth the guard and the redactor read (MAX_NESTING): room for the message around any
 * argument they would take, and far above any real message.
 */
export const MAX_MESSAGE_NESTING = 2 * MAX_NESTING

function isMessage(value: unknown): value is JSONRPCMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const m = value as Record<string, unknown>
  if (m.jsonrpc !== '2.0') return false
  const hasId = typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id))
  if (typeof m.method === 'string') return !('id' in m) || hasId
  return hasId && ('result' in m || 'error' in m)
}

export function parseMessage(): Stage<RequestContext> {
  return (ctx, next) => {
    if (ctx.body === undefined) return next()
    // Before parsing: the depth costs one pass over the bytes, and JSON.parse nothing.
    if (jsonNestsDeeper(ctx.body, MAX_MESSAGE_NESTING)) throw Refusal.invalidRequest('too_deep', `Invalid Request: the message nests deeper than ${MAX_MESSAGE_NESTING} levels`)
    let parsed: unknown
    try {
      parsed = JSON.parse(ctx.body.toString('utf8'))
    } catch {
      throw Refusal.parseError()
    }
    if (Array.isArray(parsed)) {
      throw Refusal.invalidRequest('batch', 'Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18); send one message at a time')
    }
    if (!isMessage(parsed)) throw Refusal.invalidRequest('invalid_request', 'Invalid Request: not a JSON-RPC 2.0 request, notification or response')
    ctx.message = parsedMessage(parsed)
    return next()
  }
}
