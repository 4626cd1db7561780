/**
 * MCP 2026-07-28 over HTTP, for the stateful and stateless modes alike: the revision has no
 * sessions, so each request is served on its own, by an SDK server of its own connected to the
 * SDK's per-request transport (the one public way to bind a server to the modern revision; it
 * costs about 85 µs). The request stages have run: the caller is authenticated, its `_meta` and
 * headers are checked (the era stage), its rate counted. The answer is the SDK's web Response,
 * written here to node:http: JSON, or an SSE stream when the call sends progress or log messages
 * first. A client that closes its request cancels it (the revision's cancellation).
 *
 * `subscriptions/listen` is served by listen.ts; a notification (the revision sends none that a
 * server acts on over HTTP) is acknowledged and dropped.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {PerRequestHTTPServerTransport, type JSONRPCRequest, type MessageClassification, type Server} from '@modelcontextprotocol/server'

import type {RequestContext} from '../context.js'
import {MODERN_VERSION} from '../era/protocol.js'
import {authInfoFor} from '../mcp.js'
import type {ListenStreams} from './listen.js'
import {sendJson} from './respond.js'

export interface ModernServing {
  /** A fresh server bound to nothing yet, listing the modern revision. */
  createServer(): Server
  listen: ListenStreams
}

export async function serveModern(serving: ModernServing, ctx: RequestContext, _req: IncomingMessage, res: ServerResponse): Promise<void> {
  const message = ctx.message!
  if (message.method === undefined || message.id === undefined) return sendJson(res, 202, undefined, ctx.responseHeaders)
  if (message.method === 'subscriptions/listen') return serving.listen.open(ctx, res)
  const server = serving.createServer()
  const classification = {era: 'modern', revision: ctx.requestMeta?.protocolVersion ?? MODERN_VERSION} as MessageClassification
  const transport = new PerRequestHTTPServerTransport({classification, responseMode: 'auto'})
  await server.connect(transport)
  // The client went away before the answer was written: the handler's signal aborts, and a held call with it.
  res.once('close', () => {
    if (!res.writableFinished) void transport.close()
  })
  let response: Response
  try {
    response = await transport.handleMessage(message.json as JSONRPCRequest, {authInfo: authInfoFor(ctx.principal!, ctx.runtime)})
  } catch (err) {
    await server.close().catch(() => {})
    if (res.destroyed || res.writableEnded) return
    throw err
  }
  await writeResponse(res, response, ctx.responseHeaders)
}

/** A web Response onto node:http: its status and headers (over the stages' own), then its body, streamed when it is SSE. */
async function writeResponse(res: ServerResponse, response: Response, stageHeaders: Record<string, string>): Promise<void> {
  const headers: Record<string, string> = {...stageHeaders}
  response.headers.forEach((value, name) => (headers[name] = value))
  if (!response.body || !(headers['content-type'] ?? '').startsWith('text/event-stream')) {
    const text = response.body ? await response.text() : ''
    res.writeHead(response.status, {...headers, 'content-length': String(Buffer.byteLength(text))})
    res.end(text)
    return
  }
  res.writeHead(response.status, headers)
  res.flushHeaders()
  const reader = response.body.getReader()
  res.once('close', () => void reader.cancel().catch(() => {}))
  for (;;) {
    const {done, value} = await reader.read()
    if (done || res.destroyed) break
    if (!res.write(value)) await new Promise<void>((resolve) => (res.once('drain', resolve), res.once('close', resolve)))
  }
  res.end()
}
