/**
 * The console's HTTP server: loopback only, one request path for everything. In order, a
 * request is checked for Host, Origin and Sec-Fetch-Site (guard.ts); the login link is
 * exchanged for a session cookie once; every other request needs a live session; every change
 * needs the session's CSRF token; then the page, its files, or the API answer.
 */
import {randomBytes} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

import {toKeywardError} from '../cli/base.js'
import {KeywardError, type ErrorCode} from '../errors/index.js'
import type {ConsoleState} from './api/context.js'
import {findRoute} from './api/routes.js'
import type {Assets} from './http/assets.js'
import {checkRequest} from './http/guard.js'
import {BodyError, cookieValues, readJson, send, sendError, sendJson, sendPage} from './http/respond.js'
import {type ConsoleSession, Sessions} from './http/sessions.js'

/** Where the console listens when the system offers no loopback address but this one (macOS). */
export const SHARED_LOOPBACK = '127.0.0.1'
/** A secret of 1 MiB, as JSON text, and then some. */
const MAX_BODY = 3 * 1024 * 1024
const SAFE = new Set(['GET', 'HEAD'])

export interface ConsoleOptions {
  /** 0: an ephemeral port. */
  port: number
  state: ConsoleState
  assets: Assets
  sessions: Sessions
  /** One line for the terminal: refusals, failures. */
  log(line: string): void
  /** Told when the login link has been used (the opener's file can go). */
  onLogin?(): void
}

export interface RunningConsole {
  origin: string
  /** The loopback address it listens on: its own, new at each run, where the system allows. */
  host: string
  port: number
  /** A new one-time login link; any earlier unused one is void. */
  loginUrl(): string
  close(): Promise<void>
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  VAULT_ROLLED_BACK: 409,
  VAULT_BUSY: 503,
  UPSTREAM_FAILED: 502,
}

/**
 * A loopback address of this run's own (127.0.0.0/8 is all loopback on Linux and Windows), so
 * that each run is a new origin: a service worker or a cookie that a page planted at an earlier
 * console's origin (another local user can take a port the moment a console lets it go, and a
 * stale tab reloaded then loads their page) never meets this one.
 */
function ownLoopback(): string {
  const b = randomBytes(3)
  return `127.${1 + (b[0] % 254)}.${b[1]}.${1 + (b[2] % 254)}`
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(err)
    server.once('error', failed)
    server.listen(port, host, () => {
      server.off('error', failed)
      resolve()
    })
  })
}

export async function startConsole(o: ConsoleOptions): Promise<RunningConsole> {
  const server = createServer()
  let host = ownLoopback()
  try {
    try {
      await listen(server, o.port, host)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err
      host = SHARED_LOOPBACK
      await listen(server, o.port, host)
      o.log(
        `this system has no loopback address but ${SHARED_LOOPBACK}, which every run of the console shares: close the console's tabs when it stops${o.port === 0 ? '' : `, and prefer --port 0 (a page left at ${SHARED_LOOPBACK}:${o.port} by another user could act in this console)`}`,
      )
    }
  } catch (err) {
    throw new KeywardError('LISTEN_FAILED', `cannot listen on port ${o.port} of the loopback address ${host} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pick another --port, or 0 for any free one`)
  }
  const port = (server.address() as AddressInfo).port
  const origin = `http://${host}:${port}`
  const cookieName = `keyward_ui_${port}`
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(o, host, port, cookieName, req, res).catch((err: unknown) => {
      o.log(`request failed: ${toKeywardError(err as Error).message}`)
      if (!res.headersSent) sendError(res, 500, 'UNEXPECTED', 'unexpected internal error')
      else res.destroy()
    })
  })
  return {
    origin,
    host,
    port,
    loginUrl: () => `${origin}/login?token=${o.sessions.issueLoginToken()}`,
    close: () =>
      new Promise<void>((resolve) => {
        o.sessions.clear()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headersDistinct[name]
  // A repeated header is refused as if absent-and-suspicious: the checks read one value.
  return value && value.length === 1 ? value[0] : value ? '\u0000repeated' : undefined
}

async function handle(o: ConsoleOptions, host: string, port: number, cookieName: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET'
  let path: string
  let query: URLSearchParams
  try {
    const url = new URL(req.url ?? '/', 'http://console.invalid')
    path = url.pathname
    query = url.searchParams
  } catch {
    return sendError(res, 400, 'INVALID_INPUT', 'the request path is not valid')
  }
  const api = path.startsWith('/api/')
  const refuse = (status: number, code: string, why: string) => {
    o.log(`refused ${method} ${path.slice(0, 80)}: ${why}`)
    if (api || !SAFE.has(method)) sendError(res, status, code, why)
    else sendPage(res, status, 'keyward console', why)
  }
  const refusal = checkRequest({method, path, host: header(req, 'host'), origin: header(req, 'origin'), fetchSite: header(req, 'sec-fetch-site')}, host, port)
  if (refusal) return refuse(refusal.status, 'FORBIDDEN', refusal.reason)
  if (path === '/login') return login(o, cookieName, query, method, res, refuse)
  // What the page does by itself (its refreshes, the live tail, which EventSource cannot mark) is not activity.
  const background = header(req, 'x-console-background') === '1' || path === '/api/audit/stream'
  const session = sessionOf(o.sessions, req, cookieName, !background)
  if (!session) return refuse(401, 'NO_SESSION', 'no session (or it ended after being idle): open the link that keyward ui printed or opened, or press Enter in its terminal for a new one')
  if (!api) return asset(o, method, path, session.csrf, res, refuse)
  if (!SAFE.has(method) && !Sessions.csrfMatches(session, header(req, 'x-csrf-token'))) return refuse(403, 'CSRF', 'the CSRF token is missing or wrong; reload the page')
  const {handler, params, allowed} = findRoute(method, path)
  if (!handler) return allowed.length > 0 ? sendError(res, 405, 'METHOD', `use ${allowed.join(' or ')}`) : sendError(res, 404, 'NOT_FOUND', 'no such API path')
  await callApi(o, req, res, handler, params, query, () => sessionOf(o.sessions, req, cookieName, false) !== undefined)
}

/**
 * The live session a request's cookies name. Every cookie of the console's name is tried: a page
 * of another port of the same host can set one too (cookies do not tell ports apart), and the
 * browser may send it first.
 */
function sessionOf(sessions: Sessions, req: IncomingMessage, cookieName: string, activity: boolean): ConsoleSession | undefined {
  for (const value of cookieValues(header(req, 'cookie'), cookieName)) {
    const session = sessions.touch(value, activity)
    if (session) return session
  }
  return undefined
}

function login(o: ConsoleOptions, cookieName: string, query: URLSearchParams, method: string, res: ServerResponse, refuse: (status: number, code: string, why: string) => void): void {
  if (method !== 'GET') return refuse(405, 'METHOD', 'the login link is opened, not posted to')
  const redeemed = o.sessions.redeem(query.get('token') ?? undefined)
  if (!redeemed) return refuse(403, 'LOGIN', 'this login link is not valid (each link works once, within 10 minutes): press Enter in the terminal where keyward ui runs for a new one, or start it again')
  o.onLogin?.()
  o.state.vault.audit({event: 'ui.login'}).catch(() => {})
  // A page that moves on to the console, not a redirect: the next request is then made by this
  // origin's own page, so the SameSite=Strict cookie goes with it even when the browser came
  // here from the opener's file.
  sendPage(res, 200, 'keyward console', 'Signed in; opening the console…', {'set-cookie': `${cookieName}=${redeemed.cookie}; HttpOnly; SameSite=Strict; Path=/`}, '<meta http-equiv="refresh" content="0;url=/">')
}

function asset(o: ConsoleOptions, method: string, path: string, csrf: string, res: ServerResponse, refuse: (status: number, code: string, why: string) => void): void {
  if (!SAFE.has(method)) return refuse(405, 'METHOD', 'pages are only read')
  if (path === '/' || path === '/index.html') return send(res, 200, o.assets.pageFor(csrf), 'text/html; charset=utf-8')
  const file = o.assets.file(path)
  if (!file) return sendPage(res, 404, 'keyward console', 'There is no such page.')
  send(res, 200, file.body, file.type, {'cache-control': 'no-cache'})
}

/** Per console: the after-work of the last change that has one (see callApi). */
const AFTER_WORK = new WeakMap<ConsoleState, Promise<void>>()

function settled(state: ConsoleState): Promise<void> {
  return AFTER_WORK.get(state) ?? Promise.resolve()
}

async function callApi(
  o: ConsoleOptions,
  req: IncomingMessage,
  res: ServerResponse,
  handler: NonNullable<ReturnType<typeof findRoute>['handler']>,
  params: Record<string, string>,
  query: URLSearchParams,
  sessionAlive: () => boolean,
): Promise<void> {
  const gone = new AbortController()
  res.once('close', () => gone.abort())
  const change = !SAFE.has(req.method ?? 'GET')
  // Changes run one after another, each after the one before has finished its after-work (a key
  // shown once is audited when delivered, or undone): the log then holds them in the order made.
  if (change) await settled(o.state)
  try {
    const body = change ? await readJson(req, MAX_BODY) : undefined
    const answer = await handler(o.state, {params, query, body, res, signal: gone.signal, sessionAlive})
    if (!answer) return
    const takeBack = async () => {
      if (!answer.undelivered) return
      o.log('the browser went away before it received a key shown once; the change was undone')
      await answer.undelivered()
    }
    // Nobody is there to see a key shown once: it is taken back.
    if (gone.signal.aborted) return await takeBack()
    if (answer.undelivered || answer.delivered) {
      const afterWork = new Promise<void>((resolve) =>
        res.once('close', () =>
          void Promise.resolve(res.writableFinished ? answer.delivered?.() : takeBack())
            .catch((err: Error) => o.log(`after a change: ${err.message}`))
            .finally(resolve),
        ),
      )
      AFTER_WORK.set(o.state, afterWork)
    }
    sendJson(res, answer.status ?? 200, answer.body)
  } catch (err) {
    if (err instanceof BodyError) return sendError(res, err.status, 'INVALID_INPUT', err.message)
    const error = toKeywardError(err as Error)
    if (process.env.DEBUG) o.log(String((err as Error)?.stack ?? err))
    sendError(res, STATUS[error.code] ?? 500, error.code, error.message)
  }
}
