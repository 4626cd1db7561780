/**
 * Stateless Streamable HTTP without rebuilding the server per request. The SDK's stateless
 * pattern builds a new server and transport for every POST (its transport refuses reuse,
 * because request ids from different clients would collide). Here one Server is connected to
 * this transport, which gives each inbound request a private id and maps the response back,
 * so ids cannot collide and the server is built once.
 */
import type {Transport} from '@modelcontextprotocol/sdk/shared/transport.js'
import type {JSONRPCMessage, JSONRPCNotification, JSONRPCRequest, MessageExtraInfo} from '@modelcontextprotocol/sdk/types.js'

type Reply = Extract<JSONRPCMessage, {id: string | number}> & ({result: unknown} | {error: unknown})

export class StatelessDispatcher implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  private nextId = 0
  private readonly pending = new Map<number, (reply: Reply) => void>()

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.pending.clear()
    this.onclose?.()
  }

  /** Responses go back to the HTTP request that asked; a stateless server has nowhere to send anything else. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (!('id' in message) || !('result' in message || 'error' in message)) return
    const resolve = this.pending.get(message.id as number)
    if (resolve) {
      this.pending.delete(message.id as number)
      resolve(message as Reply)
    }
  }

  request(message: JSONRPCRequest, extra: MessageExtraInfo): Promise<Reply> {
    const id = ++this.nextId
    return new Promise((resolve) => {
      this.pending.set(id, (reply) => resolve({...reply, id: message.id}))
      this.onmessage?.({...message, id}, extra)
    })
  }

  notify(message: JSONRPCNotification, extra: MessageExtraInfo): void {
    this.onmessage?.(message, extra)
  }
}
