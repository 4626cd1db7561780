/**
 * Who may use the console: whoever opened the one-time login link. The link's token is
 * exchanged once for a session (an HttpOnly, SameSite=Strict cookie) and is void from then on;
 * one not used within LOGIN_TTL_MS is void too, so that a link left in a terminal's scrollback,
 * or in the file the opener was given, stops being a way in.
 * A session ends after it has been idle too long. Every change must carry the session's CSRF
 * token in a header, which a page of another origin cannot read or set.
 *
 * Only hashes of the tokens are kept, and they are compared in constant time.
 */
import {createHash, randomBytes, timingSafeEqual} from 'node:crypto'

export interface ConsoleSession {
  /** The CSRF token, given to the page in its HTML. */
  csrf: string
  lastSeen: number
}

function newToken(): string {
  return randomBytes(32).toString('base64url')
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** How long a login link works unused: enough to open it by hand; Enter in the terminal gives a new one. */
export const LOGIN_TTL_MS = 10 * 60_000

export class Sessions {
  /** The hash of the one login token not used yet, if any, and when it stops working. */
  private login?: {hash: Buffer; expires: number}
  /** Sessions by the hash of their cookie. */
  private readonly byCookie = new Map<string, ConsoleSession>()

  constructor(
    readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new one-time login token; any earlier one not used yet is void. */
  issueLoginToken(): string {
    const token = newToken()
    this.login = {hash: digest(token), expires: this.now() + LOGIN_TTL_MS}
    return token
  }

  /** Exchanges the login token for a new session's cookie value, once and within LOGIN_TTL_MS; undefined for anything else. */
  redeem(token: string | undefined): {cookie: string; session: ConsoleSession} | undefined {
    if (!token || !this.login || !same(digest(token), this.login.hash)) return undefined
    const {expires} = this.login
    this.login = undefined
    if (this.now() > expires) return undefined
    const cookie = newToken()
    const session = {csrf: newToken(), lastSeen: this.now()}
    this.byCookie.set(digest(cookie).toString('hex'), session)
    return {cookie, session}
  }

  /**
   * The live session a cookie value names; an idle one is ended. A request the person made
   * (`activity`) restarts the idle clock; the page's own refreshes and streams do not, so a
   * tab left open still expires.
   */
  touch(cookie: string | undefined, activity = true): ConsoleSession | undefined {
    if (!cookie) return undefined
    const id = digest(cookie).toString('hex')
    const session = this.byCookie.get(id)
    if (!session) return undefined
    if (this.now() - session.lastSeen > this.idleMs) {
      this.byCookie.delete(id)
      return undefined
    }
    if (activity) session.lastSeen = this.now()
    return session
  }

  /** True when `presented` is the session's CSRF token. */
  static csrfMatches(session: ConsoleSession, presented: string | undefined): boolean {
    return presented !== undefined && same(digest(presented), digest(session.csrf))
  }

  /** Ends every session (Ctrl-C, or a test). */
  clear(): void {
    this.byCookie.clear()
    this.login = undefined
  }
}
