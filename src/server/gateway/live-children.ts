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

const live = new Set<LiveChild>()

/** Registers a started process; its transport calls `forget` once the pipes are closed. */
export function trackChild(upstream: string, pid: number): {child: LiveChild; forget(): void} {
  const child: LiveChild = {upstream, pid, closing: false, exited: false}
  live.add(child)
  return {child, forget: () => void live.delete(child)}
}

export function liveChildren(): LiveChild[] {
  return [...live].map((c) => ({...c}))
}
