/**
 * Stateful Streamable HTTP: one SDK server and one session transport per session (see
 * sessions.ts and session-transport.ts). The session stage has already found the request's
 * session, or let an initialize through to open one here.
 */
import {randomUUID} from 'node:crypto'
import type {IncomingMessage, ServerResponse} from 'node:http'

import type {Server} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'
import type {RequestContext} from '../context.js'
import {LEGACY_VERSIONS} from '../era/protocol.js'
import {authInfoFor, type ConnectedServers} from '../mcp.js'
import type {Logger} from '../log.js'
import {Refusal} from '../refusal.js'
import type {HttpDispatch} from './http.js'
import {SessionTransport} from './session-transport.js'
import type {Session, SessionStore} from './sessions.js'

/**
 * Whether the client reads a priming event (an SSE event with an id and empty data): MCP
 * 2025-11-25 clients do; older ones would try to parse the empty data. The version is the one an
 * initialize asks for, or the MCP-Protocol-Version header (absent: 2025-03-26, as the spec says).
 */
function readsPriming(ctx: RequestContext): boolean {
  const asked = ctx.message?.method === 'initialize' ? ctx.message.params?.protocolVersion : ctx.headers['mcp-protocol-version']?.[0]
  return typeof asked === 'string' && LEGACY_VERSIONS.includes(asked) && asked >= '2025-11-25'
}

function lastEventId(ctx: RequestContext): string | undefined {
  const ids = ctx.headers['last-event-id']
  if (ids === undefined) return undefined
  if (ids.length !== 1) throw Refusal.protocol(400, 'resume_ambiguous', 'Bad Request: send one Last-Event-ID header')
  return ids[0]
}

export async function statefulDispatch(store: SessionStore, createServer: () => Server, connected: ConnectedServers, log: Logger): Promise<HttpDispatch> {
  async function open(principal: Principal): Promise<Session> {
    if (!store.makeRoom(principal)) {
      throw Refusal.unavailable('too_many_sessions', 'Service Unavailable: too many open sessions; retry later', 60)
    }
    const server = createServer()
    const transport = new SessionTransport(randomUUID(), {}, (line) => log('warn', line))
    const session: Session = {id: transport.sessionId, transport, server, owner: principal.id, principal, lastSeen: Date.now()}
    transport.onclose = () => {
      store.forget(session.id)
      connected.delete(server)
    }
    await server.connect(transport)
    store.add(session)
    connected.add(server, () => session.principal)
    return session
  }

  return {
    async dispatch(ctx: RequestContext, _req: IncomingMessage, res: ServerResponse) {
      const session = (ctx.session as Session | undefined) ?? (await open(ctx.principal!))
      if (ctx.method === 'GET') return session.transport.stream(res, {prime: readsPriming(ctx), lastEventId: lastEventId(ctx), responseHeaders: ctx.responseHeaders})
      if (ctx.method === 'DELETE') {
        store.close(session)
        res.writeHead(200, {'content-length': '0'})
        res.end()
        return
      }
      session.transport.post(ctx.message!.json, res, {authInfo: authInfoFor(ctx.principal!, ctx.runtime)}, ctx.responseHeaders, readsPriming(ctx))
    },
    async close() {
      store.closeAll()
    },
  }
}
