/** The three stage lists, composed once: what transports run every request, message and call through. */
import type {CallContext, MessageContext, RequestContext} from '../context.js'
import {messageContext} from '../context.js'
import type {Runtime} from '../runtime.js'
import type {ItemResult} from '../tools/source.js'
import {compose, type Stage, type Terminal} from './chain.js'

export interface StageLists {
  /** Per HTTP request or stdio line: guards, authenticate, then reading and parsing the message. */
  request: Stage<RequestContext>[]
  /** Per JSON-RPC message. */
  message: Stage<MessageContext>[]
  /** Per tools/call, prompts/get and resources/read: authorize, validate, execute. */
  call: Stage<CallContext>[]
}

export interface Pipeline {
  /** The runtime a request arriving now is served with: a transport puts it in the request's context. */
  runtime(): Runtime
  /** Runs the request stages, then the message stages (when there is a message), then `dispatch`. */
  handle(ctx: RequestContext, dispatch: Terminal<RequestContext>): Promise<void>
  /** Runs the call stages to a result. */
  call(ctx: CallContext): Promise<ItemResult>
}

export function buildPipeline(lists: StageLists, runtime: () => Runtime): Pipeline {
  const runRequest = compose(lists.request)
  const runMessage = compose(lists.message)
  const runCall = compose(lists.call)
  return {
    runtime,
    handle(ctx, dispatch) {
      return runRequest(ctx, (request) => {
        if (!request.message) return dispatch(request)
        return runMessage(messageContext(request, request.message, request.principal!), () => dispatch(request))
      })
    },
    async call(ctx) {
      await runCall(ctx)
      if (!ctx.result) throw new Error('the call stages produced no result')
      return ctx.result
    },
  }
}
