/**
 * The Streamable HTTP front: a plain node:http server. Each request to the MCP endpoint becomes
 * a request context and runs the pipeline (request stages, then message stages), whose last
 * step hands it to the stateful or stateless dispatch. Every refusal, a stage's or the
 * dispatch's, is a Refusal, rendered here: its status, headers and a JSON-RPC error.
 */
import {createServer, type IncomingMessage, type ServerResponse} from 'node:http'

import type {Credential} from '../../auth/index.js'
import {credentialFromHeaders} from '../../auth/index.js'
import {KeywardError} from '../../errors/index.js'
import type {RequestContext} from '../context.js'
import {MCP_PATH} from '../defaults.js'
import type {Logger} from '../log.js'
import type {Pipeline} from '../pipeline/pipeline.js'
import type {Runtime} from '../runtime.js'
import {Refusal} from '../refusal.js'
import {bodyReader} from './body.js'
import {sendInternalError, sendJson, sendRefusal} from './respond.js'

/** What the stateful and stateless modes do with a request that passed every stage. */
export interface HttpDispatch {
  dispatch(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<void>
  close(): Promise<void>
}

export interface HttpFrontOptions {
  host: string
  port: number
  pipeline: Pipeline
  dispatch: HttpDispatch
  log: Logger
  /** Other routes (health, metadata), answered before the MCP pipeline; true when handled. */
  routes?: (req: IncomingMessage, res: ServerResponse, path: string) => boolean | Promise<boolean>
  /** CORS headers for the MCP endpoint (cors.ts); true when it answered a preflight. */
  cors?: (req: IncomingMessage, res: ServerResponse) => boolean
}

export interface HttpFront {
  url: string
  port: number
  close(): Promise<void>
}

/** The headers a stage may look at, every occurrence kept (Node joins or drops repeats in req.headers). */
const HEADERS = ['host', 'origin', 'authorization', 'x-api-key', 'mcp-session-id', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'content-type', 'accept', 'x-forwarded-for', 'last-event-id']

function headersOf(req: IncomingMessage, extra: readonly string[]): Record<string, string[] | undefined> {
  const distinct = req.headersDistinct
  const out: Record<string, string[] | undefined> = {}
  for (const name of HEADERS) if (distinct[name]) out[name] = distinct[name]
  for (const name of extra) if (distinct[name]) out[name] = distinct[name]
  return out
}

/** A request's context, with the runtime it is served with; the headers kept are the standard ones and those its authenticators read (a proxy's identity headers). */
export function requestContext(req: IncomingMessage, path: string, query: string, runtime: Runtime): RequestContext {
  const headers = headersOf(req, runtime.authenticators.headerNames)
  let credential: {value: Credential | undefined} | undefined
  return {
    transport: 'http',
    runtime,
    // Read now: once a request is destroyed (an oversized body), its socket has no address.
    peer: req.socket.remoteAddress,
    method: req.method,
    path,
    query,
    headers,
    header: (name) => req.headersDistinct[name],
    presented: () => (credential ??= {value: credentialFromHeaders(headers)}).value,
    readBody: bodyReader(req),
    responseHeaders: {},
    startedAt: Date.now(),
  }
}

export async function startHttpFront(options: HttpFrontOptions): Promise<HttpFront> {
  const {pipeline, dispatch, log} = options

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    if (options.routes && (await options.routes(req, res, path))) return
    if (path !== MCP_PATH) return sendJson(res, 404, {error: 'not found', mcp: MCP_PATH})
    if (options.cors?.(req, res)) return
    const ctx = requestContext(req, path, q === -1 ? '' : url.slice(q + 1), pipeline.runtime())
    try {
      await pipeline.handle(ctx, (admitted) => {
        // What stages want on every response (rate-limit state): set now, merged into whatever the dispatch writes.
        for (const [name, value] of Object.entries(admitted.responseHeaders)) res.setHeader(name, value)
        return dispatch.dispatch(admitted, req, res)
      })
    } catch (err) {
      if (!(err instanceof Refusal)) throw err
      sendRefusal(res, err, ctx.message?.id ?? null, ctx.responseHeaders)
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log('error', `request failed (${(err as Error)?.name ?? 'error'})`)
      sendInternalError(res)
    })
  })

  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is in use' : err.code === 'EACCES' ? 'permission denied' : (err.code ?? err.message)
      reject(new KeywardError('LISTEN_FAILED', `cannot listen on ${options.host}:${options.port}: ${why}; pick another --port or --host`))
    }
    server.once('error', fail)
    server.listen(options.port, options.host, () => {
      server.off('error', fail)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const displayHost = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${displayHost}:${port}${MCP_PATH}`,
    port,
    async close() {
      await dispatch.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), 2000).unref()
      })
    },
  }
}
