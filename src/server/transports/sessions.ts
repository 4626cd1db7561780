/**
 * Stateful HTTP sessions: one SDK server and transport each, bound to the principal that opened
 * it. Bounded in number, per principal (sessions.per-principal: its least recently used is closed
 * to make room) and in idle time; closed when their principal stops being valid, and held to
 * its scopes as they are now when they change (prune).
 */
import type {Server} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'
import type {SessionTransport} from './session-transport.js'

export interface Session {
  id: string
  transport: SessionTransport
  server: Server
  /** The principal that opened the session; only it may use the session id. */
  readonly owner: string
  /** The principal as of the latest request, or of the latest reload (prune): its scopes may have changed since the session opened. */
  principal: Principal
  lastSeen: number
}

export interface SessionLimits {
  maxSessions: number
  maxPerPrincipal: number
  idleMs: number
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {maxSessions: 10_000, maxPerPrincipal: 64, idleMs: 30 * 60_000}

export class SessionStore {
  private readonly sessions = new Map<string, Session>()
  private readonly sweep: NodeJS.Timeout

  /** `limits` is read at each use: the per-principal cap is a setting (sessions.per-principal), which a reload may change. */
  constructor(private readonly limits: () => SessionLimits = () => DEFAULT_SESSION_LIMITS) {
    this.sweep = setInterval(() => {
      const cutoff = Date.now() - this.limits().idleMs
      for (const session of this.sessions.values()) if (session.lastSeen < cutoff) this.close(session)
    }, 60_000)
    this.sweep.unref()
  }

  get size(): number {
    return this.sessions.size
  }

  /** The session, only for the principal that opened it: to anyone else it does not exist. */
  find(id: string, principal: Principal): Session | undefined {
    const session = this.sessions.get(id)
    return session && session.owner === principal.id ? session : undefined
  }

  /** Room for one more session of this principal: false when the server as a whole is full. */
  makeRoom(principal: Principal): boolean {
    let count = 0
    let oldest: Session | undefined
    for (const session of this.sessions.values()) {
      if (session.owner !== principal.id) continue
      count++
      if (!oldest || session.lastSeen < oldest.lastSeen) oldest = session
    }
    const limits = this.limits()
    if (oldest && count >= limits.maxPerPrincipal) this.close(oldest)
    return this.sessions.size < limits.maxSessions
  }

  add(session: Session): void {
    this.sessions.set(session.id, session)
  }

  forget(id: string): void {
    this.sessions.delete(id)
  }

  close(session: Session): void {
    this.sessions.delete(session.id)
    void session.transport.close().catch(() => {})
    void session.server.close().catch(() => {})
  }

  /**
   * Closes the sessions whose principal is no longer valid (revoked, expired, removed), and holds
   * the others to their principal as it stands now (`current`: a key narrowed by `keys scope`),
   * not to the one of their latest request; returns how many it closed.
   */
  prune(current: (principal: Principal) => Principal | undefined): number {
    let closed = 0
    for (const session of [...this.sessions.values()]) {
      const now = current(session.principal)
      if (now) {
        session.principal = now
        continue
      }
      this.close(session)
      closed++
    }
    return closed
  }

  all(): IterableIterator<Session> {
    return this.sessions.values()
  }

  closeAll(): void {
    clearInterval(this.sweep)
    for (const session of [...this.sessions.values()]) this.close(session)
  }
}
