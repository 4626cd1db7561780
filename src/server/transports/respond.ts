/** Writing HTTP responses: JSON bodies, JSON-RPC errors, refusals. */
import type {ServerResponse} from 'node:http'

import {Rejection, RPC} from '../pipeline/chain.js'

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end()
    return
  }
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, {
    ...(body === undefined ? {} : {'content-type': 'application/json'}),
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

export function rpcError(id: string | number | null, code: number, message: string, data?: unknown): unknown {
  return {jsonrpc: '2.0', id, error: {code, message, ...(data === undefined ? {} : {data})}}
}

export function sendRejection(res: ServerResponse, rejection: Rejection, id: string | number | null, extraHeaders: Record<string, string> = {}): void {
  const data = rejection.data ?? {reason: rejection.reason}
  sendJson(res, rejection.status, rpcError(id, rejection.rpcCode, rejection.message, data), {...extraHeaders, ...rejection.headers})
}

export function sendInternalError(res: ServerResponse): void {
  sendJson(res, 500, rpcError(null, RPC.INTERNAL_ERROR, 'Internal error'))
}

/** The id of a JSON-RPC request, for an error answering it; null for anything else. */
export function idOf(message: unknown): string | number | null {
  const id = (message as {id?: unknown} | undefined)?.id
  return typeof id === 'string' || typeof id === 'number' ? id : null
}
