/**
 * The SDK servers that many HTTP requests share: the 2025 stateless one (http-stateless.ts) and
 * one per 2026-07-28 revision (http-modern.ts). What a server declares can change while serving
 * (its authentication, in `initialize` and server/discover), and an SDK server says what it was
 * built with: so a request that comes with a runtime not seen before has the declaration looked
 * at again (a reload, the one way it changes, makes a new runtime), and a new declaration gets a
 * new server. The old one is retired: it takes no new request, and closes once its last one is
 * answered.
 *
 * The current dispatcher is handed out as it is, not as a promise, once connected: an `await`
 * per request is a turn of the microtask queue on the hottest path there is.
 */
import type {Runtime} from '../runtime.js'

export interface SharedDispatcher {
  /** No new request comes; `closed` is called once the last one in flight is answered (and the dispatcher closed). */
  retire(closed: () => void): void
  close(): Promise<void>
}

/** A dispatcher's retirement: once retired, it closes (once) when nothing is in flight; `check` after each request ends. */
export class Retirement {
  private closed?: () => void
  private closing = false

  constructor(
    private readonly idle: () => boolean,
    private readonly close: () => Promise<void>,
  ) {}

  retire(closed: () => void): void {
    this.closed = closed
    this.check()
  }

  check(): void {
    if (!this.closed || this.closing || !this.idle()) return
    this.closing = true
    void this.close().then(this.closed)
  }
}

interface Current<D> {
  declaration: string
  runtime: Runtime
  dispatcher: Promise<D>
  connected?: D
}

export class SharedServers<D extends SharedDispatcher> {
  private readonly byKey = new Map<string, Current<D>>()
  /** Retired dispatchers with requests still in flight. */
  private readonly retiring = new Set<D>()

  constructor(
    /** What the servers declare that may change while serving, as text. */
    private readonly declaration: () => string,
    /** A new server, connected to a new dispatcher (for a key: the revision it serves). */
    private readonly connect: (key: string) => Promise<D>,
  ) {}

  /** The dispatcher for `key` as of this runtime: a new one when the declaration changed since the last. */
  dispatcherFor(key: string, runtime: Runtime): D | Promise<D> {
    const current = this.byKey.get(key)
    if (current?.runtime === runtime) return current.connected ?? current.dispatcher
    const declaration = this.declaration()
    if (current?.declaration === declaration) {
      current.runtime = runtime
      return current.connected ?? current.dispatcher
    }
    const next: Current<D> = {declaration, runtime, dispatcher: this.connect(key)}
    this.byKey.set(key, next)
    next.dispatcher.then(
      (d) => void (next.connected = d),
      // A server that failed to connect is not kept: the next request tries again.
      () => void (this.byKey.get(key) === next && this.byKey.delete(key)),
    )
    if (current) current.dispatcher.then((old) => this.retire(old), () => {})
    return next.dispatcher
  }

  /** Every dispatcher that may still hold a request: the current ones (connected) and the retiring ones. */
  live(): D[] {
    const current = [...this.byKey.values()].flatMap((c) => (c.connected ? [c.connected] : []))
    return [...current, ...this.retiring]
  }

  private retire(old: D): void {
    this.retiring.add(old)
    old.retire(() => this.retiring.delete(old))
  }

  async close(): Promise<void> {
    const all = [...this.byKey.values()]
    this.byKey.clear()
    const retiring = [...this.retiring]
    this.retiring.clear()
    await Promise.allSettled([...all.map(async ({dispatcher}) => (await dispatcher).close()), ...retiring.map((d) => d.close())])
  }
}
