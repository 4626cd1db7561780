/**
 * Stateless Streamable HTTP without rebuilding the server per request. The SDK's stateless
 * pattern builds a new server and transport for every POST (its transport refuses reuse,
 * because request ids from different clients would collide). Here one Server is connected to
 * a transport that gives each inbound request a private id and maps the response back, so ids
 * cannot collide and the server is built once.
 *
 * A client may only touch its own requests: a cancellation names a request by the id its
 * client gave it, and is matched only among that principal's requests in flight.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {Server} from '@modelcontextprotocol/server'
import type {Transport} from '@modelcontextprotocol/server'
import type {JSONRPCMessage, JSONRPCNotification, JSONRPCRequest, MessageExtraInfo} from '@modelcontextprotocol/server'

import type {RequestContext} from '../context.js'
import {authInfoFor} from '../mcp.js'
import {RPC} from '../refusal.js'
import type {HttpDispatch} from './http.js'
import {sendJson} from './respond.js'

type Reply = Extract<JSONRPCMessage, {id: string | number}> & ({result: unknown} | {error: unknown})

interface InFlight {
  owner: string
  clientId: string | number
  resolve: (reply: Reply) => void
}

export class StatelessDispatcher implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  private nextId = 0
  private readonly pending = new Map<number, InFlight>()
  /** `owner \0 client id` -> private id, for cancellations. */
  private readonly byClient = new Map<string, number>()

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.pending.clear()
    this.byClient.clear()
    this.onclose?.()
  }

  /** Responses go back to the HTTP request that asked; a stateless server has nowhere to send anything else. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (!('id' in message) || !('result' in message || 'error' in message)) return
    const privateId = message.id as number
    const entry = this.pending.get(privateId)
    if (!entry) return
    this.pending.delete(privateId)
    this.byClient.delete(`${entry.owner}\0${entry.clientId}`)
    entry.resolve({...(message as Reply), id: entry.clientId})
  }

  request(message: JSONRPCRequest, extra: MessageExtraInfo, owner: string): Promise<Reply> {
    const id = ++this.nextId
    return new Promise((resolve) => {
      this.pending.set(id, {owner, clientId: message.id, resolve})
      this.byClient.set(`${owner}\0${message.id}`, id)
      this.onmessage?.({...message, id}, extra)
    })
  }

  /** A client's notification. Cancellation is translated to the private id of the owner's own request, or dropped. */
  notify(message: JSONRPCNotification, extra: MessageExtraInfo, owner: string): void {
    if (message.method === 'notifications/cancelled') {
      const requestId = (message.params as {requestId?: unknown} | undefined)?.requestId
      const privateId = typeof requestId === 'string' || typeof requestId === 'number' ? this.byClient.get(`${owner}\0${requestId}`) : undefined
      if (privateId === undefined) return
      this.onmessage?.({...message, params: {...message.params, requestId: privateId}}, extra)
      // The server sends nothing for a cancelled request; the client's POST still needs an answer.
      const entry = this.pending.get(privateId)
      if (entry) void this.send({jsonrpc: '2.0', id: privateId, error: {code: RPC.REQUEST_CANCELLED, message: 'Request cancelled'}})
      return
    }
    // Progress names a token of a request the server made; a stateless server makes none.
    if (message.method === 'notifications/progress') return
    this.onmessage?.(message, extra)
  }
}

export async function statelessDispatch(server: Server): Promise<HttpDispatch> {
  const dispatcher = new StatelessDispatcher()
  await server.connect(dispatcher)
  return {
    async dispatch(ctx: RequestContext, _req: IncomingMessage, res: ServerResponse) {
      const message = ctx.message!.json
      const extra = {authInfo: authInfoFor(ctx.principal!, ctx.runtime)}
      const owner = ctx.principal!.id
      if ('method' in message && 'id' in message) return sendJson(res, 200, await dispatcher.request(message as JSONRPCRequest, extra, owner), ctx.responseHeaders)
      if ('method' in message) dispatcher.notify(message as JSONRPCNotification, extra, owner)
      sendJson(res, 202, undefined, ctx.responseHeaders)
    },
    async close() {
      await dispatcher.close()
    },
  }
}
