/**
 * Stateful Streamable HTTP: one SDK server and transport per session (see sessions.ts). The
 * session stage has already found the request's session, or let an initialize through to open
 * one here.
 */
import {randomUUID} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {Server} from '@modelcontextprotocol/sdk/server/index.js'

import type {Principal} from '../../auth/index.js'
import type {RequestContext} from '../context.js'
import {authInfoFor, type ConnectedServers} from '../mcp.js'
import {Rejection, RPC} from '../pipeline/chain.js'
import type {HttpDispatch} from './http.js'
import type {Session, SessionStore} from './sessions.js'

export async function statefulDispatch(store: SessionStore, createServer: () => Server, connected: ConnectedServers): Promise<HttpDispatch> {
  const {StreamableHTTPServerTransport} = await import('@modelcontextprotocol/sdk/server/streamableHttp.js')

  async function open(principal: Principal, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (!store.makeRoom(principal)) {
      throw new Rejection(503, 'too_many_sessions', 'Service Unavailable: too many open sessions; retry later', RPC.SERVER_ERROR, {headers: {'retry-after': '60'}})
    }
    const server = createServer()
    let session: Session | undefined
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        session = {id, transport, server, owner: principal.id, principal, lastSeen: Date.now()}
        store.add(session)
        connected.add(server, () => session?.principal)
      },
      onsessionclosed: (id) => store.forget(id),
    })
    transport.onclose = () => {
      if (transport.sessionId) store.forget(transport.sessionId)
      connected.delete(server)
    }
    await server.connect(transport)
    await transport.handleRequest(req, res, body)
  }

  return {
    async dispatch(ctx: RequestContext, req: IncomingMessage, res: ServerResponse) {
      ;(req as IncomingMessage & {auth?: unknown}).auth = authInfoFor(ctx.principal!)
      const session = ctx.session as Session | undefined
      if (session) return session.transport.handleRequest(req, res, ctx.message)
      return open(ctx.principal!, req, res, ctx.message)
    },
    async close() {
      store.closeAll()
    },
  }
}
