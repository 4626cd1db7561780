/** Writing HTTP responses: JSON bodies, JSON-RPC errors, refusals. */
import type {ServerResponse} from 'node:http'

import {RPC, rpcErrorOf, renderRefusal, type Refusal} from '../refusal.js'

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

/** HTTP's rendering of a refusal: its status and headers (over the stages' own), and the JSON-RPC error. */
export function sendRefusal(res: ServerResponse, refusal: Refusal, id: string | number | null, extraHeaders: Record<string, string> = {}): void {
  sendJson(res, refusal.status, renderRefusal(refusal, id), {...extraHeaders, ...refusal.headers})
}

export function sendInternalError(res: ServerResponse): void {
  sendJson(res, 500, rpcErrorOf(null, RPC.INTERNAL_ERROR, 'Internal error'))
}
