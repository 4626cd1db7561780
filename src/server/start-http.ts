/**
 * Serving Streamable HTTP: the front; a 2025 request to the stateful (sessions) or stateless
 * dispatch, a 2026-07-28 one (the era stage says which) to the modern dispatch, which is the same
 * in both modes; and the Host values to accept once listening.
 */
import type {Server} from '@modelcontextprotocol/server'

import type {Era} from './era/protocol.js'
import type {ConnectedServers} from './mcp.js'
import type {ServeOptions} from './options.js'
import type {Pipeline} from './pipeline/pipeline.js'
import type {Routes} from './routes.js'
import {allowedHosts} from '../net/hosts.js'
import {corsFor} from './transports/cors.js'
import {startHttpFront, type HttpDispatch} from './transports/http.js'
import {modernDispatch} from './transports/http-modern.js'
import {statefulDispatch} from './transports/http-stateful.js'
import {statelessDispatch} from './transports/http-stateless.js'
import type {ListenStreams} from './transports/listen.js'
import type {SessionStore} from './transports/sessions.js'

/** What is known only once the server listens; read by the runtime (the resource URL) and the Host stage. */
export interface Listening {
  url?: string
  hosts: readonly string[]
}

export interface HttpServing {
  pipeline: Pipeline
  /** Stateful HTTP: where sessions are kept. */
  sessions?: SessionStore
  createServer: (sessions?: boolean, era?: Era) => Server
  /** What a server declares that may change while serving (http-modern.ts builds a new modern server when it does). */
  declaration: () => string
  connected: ConnectedServers
  /** The listen streams of 2026-07-28 clients. */
  listen: ListenStreams
  routes: Routes
}

export async function startHttp(options: ServeOptions, serving: HttpServing, listening: Listening): Promise<{url: string; close(): Promise<void>}> {
  const {sessions, createServer, listen} = serving
  const legacy = sessions ? await statefulDispatch(sessions, createServer, serving.connected, options.log) : statelessDispatch({createServer: () => createServer(false), declaration: serving.declaration, log: options.log})
  const modern = modernDispatch({createServer: () => createServer(false, 'modern'), declaration: serving.declaration, listen, log: options.log})
  const dispatch: HttpDispatch = {
    dispatch: (ctx, req, res) => (ctx.era === 'modern' ? modern : legacy).dispatch(ctx, req, res),
    async close() {
      listen.closeAll()
      await Promise.all([legacy.close(), modern.close()])
    },
  }
  const cors = corsFor(() => listening.hosts)
  const front = await startHttpFront({host: options.host, port: options.port, pipeline: serving.pipeline, dispatch, log: options.log, routes: serving.routes, cors})
  listening.hosts = allowedHosts(options.host, front.port, options.allowedHosts)
  listening.url = front.url
  return {url: front.url, close: () => front.close()}
}
