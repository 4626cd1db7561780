/**
 * The first page's data, asked for by boot.js (a few hundred bytes, evaluated before the app's
 * script) so that the requests overlap with loading and evaluating the app; the app then takes
 * each answer once instead of asking again.
 */
const SLOT = '__keywardFirstData'

type Slot = Map<string, Promise<Response>>

/** What each page asks for first: the same paths the pages build. */
export function firstRequests(hash: string): string[] {
  const [, page, rest] = /^#\/([a-z]+)(?:\/(.+))?$/.exec(hash) ?? []
  const common = ['/api/audit/verify']
  switch (page) {
    case 'keys':
      return [...common, '/api/keys']
    case 'secrets':
      return [...common, '/api/secrets']
    case 'upstreams':
      return [...common, '/api/upstreams']
    case 'audit':
      return [...common, '/api/audit/facets', '/api/audit?limit=50']
    default:
      return [...common, '/api/health', `/api/stats?range=${rest === 'day' ? 'day' : 'hour'}&metric=calls`]
  }
}

export const FIRST_REQUEST: RequestInit = {headers: {accept: 'application/json'}, credentials: 'same-origin', cache: 'no-store'}

export function startFirstRequests(hash: string): void {
  ;(globalThis as unknown as Record<string, Slot>)[SLOT] = new Map(firstRequests(hash).map((path) => [path, fetch(path, FIRST_REQUEST)]))
}

/** The answer boot.js asked for, once; undefined when it did not ask for this path. */
export function takeFirst(path: string): Promise<Response> | undefined {
  const slot = (globalThis as unknown as Record<string, Slot | undefined>)[SLOT]
  const answer = slot?.get(path)
  slot?.delete(path)
  return answer
}
