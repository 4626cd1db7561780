/**
 * Wraps a transport so that every inbound message passes the admission chain first; the
 * admitted principal rides along as authInfo. Used over stdio, where the credential comes from
 * the environment and is checked again on every message, so a revocation applies at once.
 */
import type {Transport, TransportSendOptions} from '@modelcontextprotocol/sdk/shared/transport.js'
import type {JSONRPCMessage, MessageExtraInfo} from '@modelcontextprotocol/sdk/types.js'

import {Rejection, type Chains, type RequestContext} from './chain.js'
import type {Logger} from './log.js'
import {authInfoFor} from './mcp.js'

/** JSON-RPC error code for a refused credential (implementation-defined server error range). */
export const UNAUTHORIZED_CODE = -32001

export class AdmittedTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void
  /** Admission is async; this queue keeps messages in the order they arrived. */
  private queue: Promise<void> = Promise.resolve()

  constructor(
    private readonly inner: Transport,
    private readonly chains: Chains,
    private readonly context: () => RequestContext,
    private readonly log: Logger,
  ) {
    inner.onclose = () => this.onclose?.()
    inner.onerror = (error) => this.onerror?.(error)
    inner.onmessage = (message, extra) => {
      this.queue = this.queue.then(() => this.admit(message, extra))
    }
  }

  private async admit(message: JSONRPCMessage, extra?: MessageExtraInfo): Promise<void> {
    try {
      const principal = await this.chains.admit(this.context())
      this.onmessage?.(message, {...extra, authInfo: authInfoFor(principal)})
    } catch (err) {
      if (!(err instanceof Rejection)) throw err
      const method = 'method' in message ? message.method : 'response'
      this.log('warn', `refused ${method}: ${err.reason}`)
      if ('method' in message && 'id' in message) {
        await this.inner.send({jsonrpc: '2.0', id: message.id, error: {code: UNAUTHORIZED_CODE, message: err.message, data: {reason: err.reason}}})
      }
    }
  }

  start(): Promise<void> {
    return this.inner.start()
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options)
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}
