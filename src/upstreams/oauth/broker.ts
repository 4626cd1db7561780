/**
 * Tokens for the upstreams `keyward serve` fronts, shared by every client: the current access
 * token from the vault as served, renewed ahead of expiry (a timer) and once after a 401, by one
 * writer at a time. Calls made while a renewal runs keep the old token while it is still valid,
 * and wait for the renewal only when it is not. The renewal runs inside `host.write`, which
 * holds the vault's write lock (and on Redis the cluster's write lease, after taking the newest
 * copy) and sees the vault as it is on disk: a writer that finds the tokens changed since it
 * looked (another replica or process refreshed them) does nothing, so a rotated refresh token is
 * used once. Tokens renewed but not saved (the write failed after the refresh: disk full, I/O
 * error) are held in memory and used, since with a rotating authorization server the refresh
 * token in the vault is spent; they are saved by the next write (retried with backoff).
 */
import type {AuditEvent} from '../../audit/index.js'
import type {VaultData} from '../../vault/index.js'
import {RefreshFailed, UpstreamNeedsLogin, needsLoginIn} from './errors.js'
import {isUnattended, keepsSignIn, type OAuthUpstream} from '../definition.js'
import {upstreamsOf} from '../store.js'
import type {Working} from './provider.js'
import {oauthStateOf, setOAuthState, tokenSecrets, type OAuthState, type StoredTokens} from './store.js'

export interface BrokerHost {
  /** The vault as served now. */
  data(): VaultData
  /** Runs `change` on the vault as it is on disk, under the write lock (on Redis, the cluster's lease too), and saves it. */
  write<T>(change: (data: VaultData) => Promise<T> | T): Promise<T>
  audit(event: AuditEvent): void
  log(level: 'info' | 'warn' | 'error', message: string): void
  /**
   * Tokens are now held that the vault does not have (heldSecrets changed): what redacts vault
   * secrets must learn them before they are used, as an upstream may echo its token.
   */
  heldChanged?(): void
}

/** A token with less than this left is not sent: the call waits for the renewal. */
export const MIN_LEFT_MS = 2000
/** Renew this long before expiry at most (a quarter of the lifetime for short-lived tokens). */
export const AHEAD_MS = 60_000
const BACKOFF_MIN_MS = 1000
const BACKOFF_MAX_MS = 30_000
/** The longest a Node timer waits (2^31 - 1 ms, about 24.8 days): a longer delay fires after 1 ms, with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1

type Renewed = 'renewed' | 'unchanged' | {needsLogin: UpstreamNeedsLogin}

/** Renewed tokens the vault could not keep, and the version and grant of the stored tokens they replace. */
interface Held {
  over: number
  grantId: string
  state: OAuthState
}

/** `stored` is still exactly what `held` replaces: the same grant and version, with no mark that a login is needed. */
function replaces(held: Held, stored: OAuthState | undefined): boolean {
  return (stored?.grantId ?? '') === held.grantId && (stored?.version ?? 0) === held.over && !stored?.needsLogin
}

/**
 * A token no call has used is renewed by the timer no sooner than this after it was obtained: an
 * authorization server that hands out tokens of a few seconds would otherwise have an idle serve
 * renew (a vault write, an audit record, a log line) every few seconds for ever. A token in use is
 * renewed ahead of expiry, however short its life; a call that finds an unused one expired waits
 * for a renewal of its own.
 */
export const IDLE_RENEWAL_MS = 60_000

/** When the timer renews the tokens: ahead of expiry, not before a failed renewal's backoff ends, and, unused, not within IDLE_RENEWAL_MS of being obtained. */
export function timerRenewalAt(state: OAuthState, retryAt: number, used: boolean): number | undefined {
  const expires = state.tokens?.expires_at
  if (expires === undefined || state.needsLogin) return undefined
  const idleFloor = used ? 0 : (state.obtainedAt ?? 0) + IDLE_RENEWAL_MS
  return Math.max(expires - renewAhead(state), retryAt, idleFloor)
}

/** How long before expiry a token is renewed. */
export function renewAhead(state: OAuthState): number {
  const {tokens, obtainedAt} = state
  if (tokens?.expires_at === undefined) return 0
  const lifetime = obtainedAt === undefined ? AHEAD_MS * 4 : tokens.expires_at - obtainedAt
  return Math.max(0, Math.min(AHEAD_MS, lifetime / 4))
}

function union(...scopes: (string | undefined)[]): string | undefined {
  const all = new Set(scopes.flatMap((s) => (s ?? '').split(' ')).filter(Boolean))
  return all.size > 0 ? [...all].join(' ') : undefined
}

/** One upstream's tokens in this process. */
export class TokenKeeper {
  private renewing?: Promise<void>
  private timer?: NodeJS.Timeout
  private timerFor?: number
  private failures = 0
  private retryAt = 0
  private lastFailure?: RefreshFailed
  private announced?: string
  /** The access token last handed to a call: the timer renews unused tokens less eagerly. */
  private used?: string
  /**
   * Renewed tokens whose save failed. In this process they take the place of what the vault
   * has, until the vault moves on: saved (by the retry, or the next write of this keeper), or
   * replaced by someone else (a login, another replica's renewal or mark), which then wins.
   */
  private held?: Held
  private saveTimer?: NodeJS.Timeout
  /** Set by close(): a save under way that fails schedules no other. */
  private closed = false

  constructor(
    public def: OAuthUpstream,
    private readonly host: BrokerHost,
    private readonly renew: (def: OAuthUpstream, state: OAuthState | undefined, data: VaultData) => Promise<Working>,
  ) {}

  get name(): string {
    return this.def.name
  }

  private state(): OAuthState | undefined {
    const stored = oauthStateOf(this.host.data(), this.name)
    if (!this.held) return stored
    if (replaces(this.held, stored)) return this.held.state
    this.held = undefined
    return stored
  }

  /** `host.write`, with held tokens put in first while the vault on disk still has what they replace. */
  private async write<T>(change: (data: VaultData) => Promise<T> | T): Promise<T> {
    let put: Held | undefined
    const result = await this.host.write((data) => {
      put = this.held && replaces(this.held, oauthStateOf(data, this.name)) ? this.held : undefined
      if (put) setOAuthState(data, this.name, put.state)
      return change(data)
    })
    // Saved: from now on the vault has them.
    if (put && this.held === put) this.held = undefined
    return result
  }

  /** Saves held tokens, with backoff until the vault takes the write (or no longer needs it). */
  private saveHeldLater(attempt: number): void {
    clearTimeout(this.saveTimer)
    this.saveTimer = setTimeout(() => {
      const held = this.held
      if (!this.state() || !held || this.held !== held) return
      this.write(() => undefined).then(
        () => this.held === held || this.host.log('info', `upstream ${this.name}: saved its renewed OAuth token in the vault`),
        () => this.closed || this.saveHeldLater(attempt + 1),
      )
    }, Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt))
    this.saveTimer.unref()
  }

  /** The access token to send now, renewing it first only when it is (nearly) expired. */
  async token(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const state = this.state()
      if (state?.needsLogin) throw new UpstreamNeedsLogin(this.name, state.needsLogin.reason, state.needsLogin.scope)
      const tokens = state?.tokens
      if (!tokens) {
        if (!isUnattended(this.def.oauth.grant)) throw this.notSignedIn(state)
      } else {
        if (!isBearer(tokens)) throw await this.notBearer(tokens)
        this.used = tokens.access_token
        this.schedule(state)
        const left = tokens.expires_at === undefined ? Number.POSITIVE_INFINITY : tokens.expires_at - Date.now()
        if (left > renewAhead(state)) return tokens.access_token
        if (left > MIN_LEFT_MS) {
          void this.renewFrom(state.version).catch(() => {})
          return tokens.access_token
        }
      }
      if (attempt > 0) throw this.lastFailure ?? new RefreshFailed(this.name, 'the renewed token is no longer valid')
      await this.renewFrom(state?.version ?? 0)
    }
  }

  /**
   * The upstream refused `sent` (401): a renewed token, if there is one since or one can be had
   * now; otherwise it needs a login. Renewed once per refused token: the caller retries once.
   */
  async afterUnauthorized(sent: string): Promise<string> {
    const before = this.state()
    if (before?.tokens && before.tokens.access_token !== sent) return this.sendable(before.tokens)
    await this.renewFrom(before?.version ?? 0)
    const after = this.state()?.tokens
    if (after && after.access_token !== sent) return this.sendable(after)
    throw await this.needsLogin('the upstream refused its token, and no new one could be had')
  }

  /** The upstream refused a token just renewed: only a person can help. */
  refusedFresh(): Promise<UpstreamNeedsLogin> {
    return this.needsLogin('the upstream refused a freshly renewed token (HTTP 401)')
  }

  /** 403 insufficient_scope: a login with the wider scope is needed; what the tokens had is kept in it. */
  insufficientScope(required: string | undefined): Promise<UpstreamNeedsLogin> {
    const granted = this.state()?.tokens?.scope
    const reason = required ? `the upstream asked for scope "${required.slice(0, 200)}" (insufficient_scope)` : 'the upstream answered insufficient_scope'
    return this.needsLogin(reason, union(granted, required))
  }

  /** The access token of `tokens`, if keyward may send it (Bearer); otherwise the upstream needs a login. */
  private async sendable(tokens: StoredTokens): Promise<string> {
    if (!isBearer(tokens)) throw await this.notBearer(tokens)
    return tokens.access_token
  }

  /**
   * Stored tokens of another type (DPoP, mac: kept before such answers were refused where tokens
   * are stored, or put in the vault by hand) are never sent as Bearer: they would lose their proof
   * of possession. The line names the type, never the token.
   */
  private async notBearer(tokens: StoredTokens): Promise<UpstreamNeedsLogin> {
    const {UnsupportedTokenType} = await import('./failure.js')
    return this.needsLogin(new UnsupportedTokenType(tokens.token_type).reason)
  }

  private notSignedIn(state: OAuthState | undefined): UpstreamNeedsLogin {
    const error = new UpstreamNeedsLogin(this.name, 'it is not signed in')
    const mark = `${state?.grantId ?? ''}:not-signed-in`
    if (this.announced !== mark) {
      this.announced = mark
      this.host.log('warn', error.message)
      this.host.audit({event: 'upstream.needs_login', upstream: this.name, reason: 'not signed in'})
    }
    return error
  }

  /** Marks the upstream as needing a login (in the vault, so every replica and `upstream show` see it), audited once. */
  private async needsLogin(reason: string, scope?: string): Promise<UpstreamNeedsLogin> {
    const error = new UpstreamNeedsLogin(this.name, reason, scope)
    try {
      await this.write((data) => {
        const state = oauthStateOf(data, this.name)
        if (!state || state.needsLogin) return
        setOAuthState(data, this.name, {...state, needsLogin: {reason, ...(scope ? {scope} : {}), at: new Date().toISOString()}})
      })
    } catch (err) {
      this.host.log('error', `upstream ${this.name}: could not record that it needs a login (${(err as Error).message})`)
    }
    this.host.log('warn', error.message)
    this.host.audit({event: 'upstream.needs_login', upstream: this.name, reason, ...(scope ? {scope} : {})})
    return error
  }

  /** Renews the tokens of `version` (once in this process at a time); a failure that time may fix is retried with backoff. */
  private renewFrom(version: number): Promise<void> {
    if (this.renewing) return this.renewing
    if (Date.now() < this.retryAt && this.lastFailure) return Promise.reject(this.lastFailure)
    this.renewing = this.renewOnce(version).finally(() => {
      this.renewing = undefined
    })
    return this.renewing
  }

  private async renewOnce(version: number): Promise<void> {
    let outcome: Renewed
    const heldBefore = this.held
    try {
      outcome = await this.write((data) => this.renewIn(data, version))
    } catch (err) {
      // Renewed, but not saved: the new tokens are served from memory (a rotated refresh token in the vault is spent).
      if (this.held && this.held !== heldBefore) return this.keptUnsaved(err, heldBefore !== undefined)
      const failure = err instanceof RefreshFailed ? err : new RefreshFailed(this.name, (err as Error).message)
      this.failures++
      this.retryAt = Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (this.failures - 1))
      this.lastFailure = failure
      this.host.log('warn', `${failure.message}; trying again in ${Math.round((this.retryAt - Date.now()) / 1000)}s`)
      this.host.audit({event: 'upstream.refresh', upstream: this.name, outcome: 'failed', reason: failure.message})
      this.schedule(this.state())
      throw failure
    }
    // Saved, with what this renewal got.
    if (this.held !== heldBefore) this.held = undefined
    this.failures = 0
    this.lastFailure = undefined
    if (outcome === 'unchanged') return
    if (outcome === 'renewed') {
      const state = this.state()
      const left = state?.tokens?.expires_at === undefined ? '' : `; it expires in ${Math.round((state.tokens.expires_at - Date.now()) / 1000)}s`
      this.host.log('info', `upstream ${this.name}: renewed its OAuth token${left}`)
      this.host.audit({event: 'upstream.refresh', upstream: this.name, outcome: 'ok', grant: this.def.oauth.grant})
      if (state) this.schedule(state)
      return
    }
    const {needsLogin} = outcome
    this.host.log('warn', needsLogin.message)
    this.host.audit({event: 'upstream.refresh', upstream: this.name, outcome: 'failed', reason: needsLogin.reason})
    this.host.audit({event: 'upstream.needs_login', upstream: this.name, reason: needsLogin.reason})
    throw needsLogin
  }

  /** The renewal worked but its save failed: audited as a renewal, told once (not at each renewal while unsaved), saved later. */
  private async keptUnsaved(err: unknown, told: boolean): Promise<void> {
    // Before any call is given them: the redactors learn the tokens the vault does not have.
    this.host.heldChanged?.()
    this.failures = 0
    this.lastFailure = undefined
    this.host.audit({event: 'upstream.refresh', upstream: this.name, outcome: 'ok', grant: this.def.oauth.grant})
    if (!told) {
      const why = await describe(err, this.host.data())
      this.host.log('error', `upstream ${this.name}: renewed its OAuth token but could not save it in the vault (${why}); serving the new tokens from memory and trying to save them again (should keyward stop before then, an authorization server that rotates refresh tokens will refuse the next renewal, and the upstream will need a new login)`)
    }
    this.schedule(this.state())
    this.saveHeldLater(0)
  }

  /** Inside the vault's write: renew only if nobody did since `version`, and keep the result (or that a login is needed). */
  private async renewIn(data: VaultData, version: number): Promise<Renewed> {
    const state = oauthStateOf(data, this.name)
    if ((state?.version ?? 0) !== version || state?.needsLogin) return 'unchanged'
    // Only for the definition the vault holds now: tokens obtained with an older copy (another URL
    // or client, before this serve reloaded) would be kept under the name and sent to the new one.
    const current = upstreamsOf(data).get(this.name)
    if (!current || !keepsSignIn(this.def, current)) return 'unchanged'
    let working: Working
    try {
      working = await this.renew(this.def, state, data)
    } catch (err) {
      const needs = needsLoginIn(err) ?? (await loginRequired(this.name, err))
      if (!needs) throw new RefreshFailed(this.name, await describe(err, data))
      if (state) setOAuthState(data, this.name, {...state, needsLogin: {reason: needs.reason, at: new Date().toISOString()}})
      return {needsLogin: needs}
    }
    const now = new Date().toISOString()
    const base: OAuthState = state ?? {grant: this.def.oauth.grant, grantId: '', version: 0, loggedInAt: now, refreshes: 0}
    // Held until the vault shows the save: what the vault had before this write (held tokens put in, or its own).
    const over = this.held && this.held.state === state ? this.held.over : base.version
    const next: OAuthState = {
      ...base,
      ...working,
      version: base.version + 1,
      refreshes: base.refreshes + 1,
      lastRefresh: now,
      signedInAs: base.signedInAs ?? (isUnattended(this.def.oauth.grant) && this.def.oauth.clientId ? `client ${this.def.oauth.clientId}` : undefined),
    }
    setOAuthState(data, this.name, next)
    this.held = {over, grantId: base.grantId, state: next}
    return 'renewed'
  }

  /** A timer renews the tokens ahead of expiry, calls or not (and retries a failed renewal). */
  private schedule(state: OAuthState | undefined): void {
    const at = state && timerRenewalAt(state, this.retryAt, state.tokens?.access_token === this.used)
    if (at === undefined) return
    if (this.timer && this.timerFor === at) return
    clearTimeout(this.timer)
    this.timerFor = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerFor = undefined
      const now = this.state()
      if (now?.tokens?.expires_at !== undefined && now.tokens.expires_at - Date.now() <= renewAhead(now) + 50) void this.renewFrom(now.version).catch(() => {})
      // Not due yet (a timer fires early for a token that outlives the longest timer, an expires_in of a month): wait again.
      else this.schedule(now)
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())))
    this.timer.unref()
  }

  /** The tokens held unsaved, named for the redactor; none once saved. */
  heldSecrets(): [string, string][] {
    return this.held ? tokenSecrets(this.name, this.held.state.tokens) : []
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    clearTimeout(this.saveTimer)
  }
}

/** keyward sends a token only as `Authorization: Bearer` (RFC 6750); token_type is compared without case (RFC 6749 5.1), as checkTokenType does for an answer. */
function isBearer(tokens: StoredTokens): boolean {
  return typeof tokens.token_type === 'string' && tokens.token_type.toLowerCase() === 'bearer'
}

/** An OAuth error after which only a login helps (the refresh token or the client was refused, or the new token is not Bearer). */
async function loginRequired(upstream: string, err: unknown): Promise<UpstreamNeedsLogin | undefined> {
  const {oauthErrorCode, LOGIN_REQUIRED_CODES, tokenTypeRefusal} = await import('./failure.js')
  const refused = tokenTypeRefusal(err)
  if (refused) return new UpstreamNeedsLogin(upstream, refused.reason)
  const code = oauthErrorCode(err)
  if (code && LOGIN_REQUIRED_CODES.has(code)) return new UpstreamNeedsLogin(upstream, `the authorization server refused the renewal (${code})`)
  return undefined
}

/** The failure in one line, with any secret of the vault in it redacted: an authorization server's error text may echo the refresh token or the client's secret, and the line goes to the log and the audit log. */
async function describe(err: unknown, data: VaultData): Promise<string> {
  const [{describeFailure}, {vaultRedactor}] = await Promise.all([import('./failure.js'), import('../redaction.js')])
  return vaultRedactor(data).text(describeFailure(err))
}

/** The keepers of one serve run, by upstream name. */
export class TokenBroker {
  private readonly keepers = new Map<string, TokenKeeper>()

  constructor(private readonly host: BrokerHost) {}

  keeper(def: OAuthUpstream): TokenKeeper {
    let keeper = this.keepers.get(def.name)
    if (!keeper) {
      keeper = new TokenKeeper(def, this.host, async (d, state, data) => (await import('./grant.js')).renewTokens(d, state, data))
      this.keepers.set(def.name, keeper)
    }
    keeper.def = def
    return keeper
  }

  /** The tokens its keepers hold unsaved (TokenKeeper.held), named as the vault's are for the redactor. */
  heldSecrets(): [string, string][] {
    return [...this.keepers.values()].flatMap((keeper) => keeper.heldSecrets())
  }

  close(): void {
    for (const keeper of this.keepers.values()) keeper.close()
  }
}
