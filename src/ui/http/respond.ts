/** Answers of the console: every one with the same strict headers, JSON for the API, small pages for the rest. */
import type {IncomingMessage, ServerResponse} from 'node:http'

import {BodyTooLarge, readBodyWithin} from '../../net/body.js'

/** Nothing but the console's own files; no inline script or style, no frames, no foreign requests. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // A page of another origin (another local port included) cannot even embed a response.
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
}

export function send(res: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return
  res.writeHead(status, {...SECURITY_HEADERS, 'cache-control': 'no-store', 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...headers})
  res.end(body)
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', headers)
}

/** An error as the API gives it: {"error":{"code","message"}}, the CLI's --json shape. */
export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, {error: {code, message}})
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** A page without script: refusals a person may see (a used login link), and the login step. */
export function sendPage(res: ServerResponse, status: number, title: string, text: string, headers: Record<string, string> = {}, head = ''): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>${head}</head><body><main><h1>${escape(title)}</h1><p>${escape(text)}</p></main></body></html>`
  send(res, status, html, 'text/html; charset=utf-8', headers)
}

/** The request body as JSON, up to `max` bytes; undefined for an empty body. Throws BodyError. */
export async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? ''
  const body = await readBodyWithin(req, max).catch((err: unknown) => {
    throw err instanceof BodyTooLarge ? new BodyError(413, 'the request body is too large') : err
  })
  if (body.length === 0) return undefined
  if (!/^application\/json(;|$)/i.test(type)) throw new BodyError(415, 'send JSON (Content-Type: application/json)')
  try {
    return JSON.parse(body.toString('utf8')) as unknown
  } catch {
    throw new BodyError(400, 'the request body is not JSON')
  }
}

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** Every value the Cookie header gives one cookie name (a page of another port can add its own). */
export function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = []
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=')
    if (eq !== -1 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim())
  }
  return values
}
