/**
 * The upstream processes keyward started whose pipes are still open, kept apart from the gateway's
 * own bookkeeping (which forgets a connection once it is told to stop): when a shut-down server
 * is still held, cli/serve.ts names them, and whether keyward had asked them to stop. Holds no
 * argv or environment: only the upstream's name and the wrapper's pid.
 */
export interface LiveChild {
  upstream: string
  pid: number
  /** keyward asked it to stop (its transport was closed). */
  closing: boolean
  /** It exited, but a pipe of it is still open. */
  exited: boolean
}

/** Where a tracked process stands, asked of its transport when the list is read. */
export type ChildState = () => Pick<LiveChild, 'closing' | 'exited'>

const live = new Map<object, {upstream: string; pid: number; state: ChildState}>()

/** Registers a started process; its transport calls the returned `forget` once the pipes are closed. */
export function trackChild(upstream: string, pid: number, state: ChildState): () => void {
  const token = {}
  live.set(token, {upstream, pid, state})
  return () => void live.delete(token)
}

export function liveChildren(): LiveChild[] {
  return [...live.values()].map(({upstream, pid, state}) => ({upstream, pid, ...state()}))
}
