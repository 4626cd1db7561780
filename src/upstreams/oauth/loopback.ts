/**
 * The loopback redirect listener of an interactive login (RFC 8252 7.3): 127.0.0.1 on a port
 * the system picks, for one callback. It answers the browser with a short page and resolves with
 * what the authorization server sent back; the code is redeemed only after `state` matched.
 */
import {timingSafeEqual} from 'node:crypto'
import http from 'node:http'
import type {AddressInfo} from 'node:net'

import {KeywardError} from '../../errors/index.js'
import {MAX_TIMER_MS} from './broker.js'

export const CALLBACK_PATH = '/callback'

export interface Callback {
  code: string
  /** RFC 9207's `iss`, when the authorization server sends it. */
  iss?: string
}

export interface Loopback {
  redirectUrl: string
  /** Resolves with the code once a callback carries the expected state; rejects with one clear line otherwise, or after `timeoutMs`. */
  callback(timeoutMs: number): Promise<Callback>
  close(): Promise<void>
}

function page(title: string, text: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${esc(title)}</title><body style="font-family:sans-serif;margin:3em"><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>`
}

function sameState(expected: string, got: string | null): boolean {
  if (got === null) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(got)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** What the server's `error` means, in words; its own description is not shown (it is the server's text, and may be an attacker's). */
function denial(error: string): string {
  if (error === 'access_denied') return 'the sign-in was denied (access_denied)'
  if (/^[a-z_]{1,40}$/.test(error)) return `the authorization server refused the sign-in (${error})`
  return 'the authorization server refused the sign-in'
}

type Outcome = {ok: true; value: Callback} | {ok: false; error: KeywardError}

function judge(url: URL, state: string): Outcome {
  const params = url.searchParams
  if (!sameState(state, params.get('state'))) return {ok: false, error: new KeywardError('LOGIN_FAILED', 'state mismatch: the browser came back with a state this login did not send (a stale tab, or a forged request); nothing was exchanged, run the login again')}
  const error = params.get('error')
  if (error !== null) return {ok: false, error: new KeywardError('LOGIN_FAILED', denial(error))}
  const code = params.get('code')
  if (!code) return {ok: false, error: new KeywardError('LOGIN_FAILED', 'the authorization server came back without a code or an error; run the login again')}
  return {ok: true, value: {code, iss: params.get('iss') ?? undefined}}
}

export async function startLoopback(state: string): Promise<Loopback> {
  let settle: (outcome: Outcome) => void = () => {}
  const outcome = new Promise<Outcome>((resolve) => (settle = resolve))
  let done = false
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH || done) {
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found\n')
      return
    }
    done = true
    const result = judge(url, state)
    res.writeHead(result.ok ? 200 : 400, {'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer'})
    res.end(result.ok ? page('Signed in', 'keyward has the authorization; you can close this window.') : page('Sign-in failed', result.error.message))
    settle(result)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new KeywardError('LISTEN_FAILED', `cannot listen on 127.0.0.1 for the login's redirect (${(err as NodeJS.ErrnoException).code ?? err.message})`)))
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const {port} = server.address() as AddressInfo
  return {
    redirectUrl: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    async callback(timeoutMs) {
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<Outcome>((resolve) => {
        // A --timeout beyond the longest timer (30d) waits that long (about 24.8 days), rather than overflowing to 1 ms.
        timer = setTimeout(() => resolve({ok: false, error: new KeywardError('LOGIN_FAILED', `timed out after ${Math.round(timeoutMs / 1000)}s waiting for the browser to come back; run the login again (--timeout sets the wait)`)}), Math.min(timeoutMs, MAX_TIMER_MS))
      })
      const result = await Promise.race([outcome, timeout])
      clearTimeout(timer)
      if (!result.ok) throw result.error
      return result.value
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
