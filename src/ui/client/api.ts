/**
 * Calls to the console's API: same origin, the session cookie, the CSRF token (from the page's
 * meta element) on every change. Refreshes the page makes by itself are marked as such, so
 * they do not keep an idle session alive.
 */

import {takeFirst} from './first-data.js'

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? ''

const endedListeners = new Set<() => void>()

/** Told when the server says the session is gone (idle, or the console restarted). */
export function onSessionEnded(listener: () => void): () => void {
  endedListeners.add(listener)
  return () => endedListeners.delete(listener)
}

export function sessionEnded(): void {
  for (const listener of endedListeners) listener()
}

export interface CallOptions {
  /** A refresh the page made by itself, not something the person did. */
  background?: boolean
}

export async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = {accept: 'application/json'}
  if (method !== 'GET') headers['x-csrf-token'] = csrf
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (options.background) headers['x-console-background'] = '1'
  const first = method === 'GET' && !options.background ? takeFirst(path) : undefined
  const res = await (first ?? fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store'}))
  const data = (await res.json().catch(() => ({}))) as {error?: {code: string; message: string}}
  if (res.status === 401) sessionEnded()
  if (!res.ok) throw new ApiError(res.status, data.error?.code ?? 'HTTP', data.error?.message ?? `HTTP ${res.status}`)
  return data as T
}

export const get = <T>(path: string, options?: CallOptions) => api<T>('GET', path, undefined, options)
export const post = <T>(path: string, body: unknown = {}) => api<T>('POST', path, body)

/** A query string from the fields that have a value. */
export function qs(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') search.set(k, String(v))
  const text = search.toString()
  return text ? `?${text}` : ''
}
