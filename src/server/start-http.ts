/** Serving Streamable HTTP: the front, stateful (sessions) or stateless dispatch, and the Host values to accept once listening. */
import type {Server} from '@modelcontextprotocol/sdk/server/index.js'

import type {ConnectedServers} from './mcp.js'
import type {ServeOptions} from './options.js'
import type {Pipeline} from './pipeline/pipeline.js'
import type {Routes} from './routes.js'
import {allowedHosts} from '../net/hosts.js'
import {corsFor} from './transports/cors.js'
import {startHttpFront} from './transports/http.js'
import {statefulDispatch} from './transports/http-stateful.js'
import {statelessDispatch} from './transports/http-stateless.js'
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
  createServer: (sessions?: boolean) => Server
  connected: ConnectedServers
  routes: Routes
}

export async function startHttp(options: ServeOptions, serving: HttpServing, listening: Listening): Promise<{url: string; close(): Promise<void>}> {
  const {sessions, createServer} = serving
  const dispatch = sessions ? await statefulDispatch(sessions, createServer, serving.connected) : await statelessDispatch(createServer(false))
  const cors = corsFor(() => listening.hosts)
  const front = await startHttpFront({host: options.host, port: options.port, pipeline: serving.pipeline, dispatch, log: options.log, routes: serving.routes, cors})
  listening.hosts = allowedHosts(options.host, front.port, options.allowedHosts)
  listening.url = front.url
  return {url: front.url, close: () => front.close()}
}
