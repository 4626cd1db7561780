/**
 * `requestState` as keyward mints it: the token a modern client echoes back, unread, when it
 * retries a call with the answers to an InputRequiredResult. keyward's bridge puts in it what
 * it needs to resume the call (the id of the upstream call it holds open, or an upstream's own
 * requestState), so the token is sealed: AES-256-GCM under the vault's request-state key.
 *
 * A token is good for one retry of one call by one caller, briefly:
 * - bound to the caller's principal (it is the associated data: another credential's token
 *   does not decrypt, and is refused exactly as a forged one);
 * - bound to the method and the tool, prompt or resource it was minted for;
 * - valid for `ttlMs` (5 minutes by default: input a person types);
 * - single use: its random id is claimed in a replay guard until it expires. The guard is
 *   bounded (MemoryReplayGuard): when it forgets a caller's id early, it refuses that caller's
 *   tokens minted by then until the forgotten one would have expired, so none is replayed.
 *
 * Every refusal reaches the client as the same INVALID_PARAMS "Invalid or expired requestState"; which
 * rule refused it is for the log and the audit record only.
 */
import {createCipheriv, createDecipheriv, randomBytes} from 'node:crypto'

import {CODE, type EraRefusal, isPlainObject} from './protocol.js'

const PREFIX = 'kws1.'
const AAD_LABEL = 'keyward/requestState/v1\0'
const IV_BYTES = 12
const TAG_BYTES = 16
/** The longest token accepted, and the most data sealed in one (an upstream's own state may ride inside). */
export const MAX_TOKEN_CHARS = 64 * 1024
export const DEFAULT_TTL_MS = 5 * 60_000

export type RefusalReason = 'malformed' | 'invalid' | 'expired' | 'replayed' | 'wrong_request' | 'forgotten'

export class RequestStateRefused extends Error {
  constructor(readonly reason: RefusalReason) {
    super(`requestState refused: ${reason}`)
    this.name = 'RequestStateRefused'
  }

  /** What the client is told, whatever the reason. */
  refusal(): EraRefusal {
    return {status: 400, code: CODE.INVALID_PARAMS, message: 'Invalid or expired requestState', data: {reason: 'invalid_request_state'}, reason: `request_state_${this.reason}`}
  }
}

/** What a token is bound to. */
export interface StateBinding {
  /** The principal id of the caller (key:…, oauth:…): the credential that may use it. */
  principal: string
  method: string
  /** The tool or prompt name, or the resource URI. */
  name: string
}

/** A token being spent: whose, its id, and when it was minted and expires (ms since the epoch). */
export interface SpentToken {
  principal: string
  id: string
  issuedAt: number
  expiresAt: number
}

/** Remembers spent token ids until they expire; shared across replicas when it is on Redis. */
export interface ReplayGuard {
  /** True when the token was not spent before, and is now; false for a replay. Throws RequestStateRefused when it may no longer tell. */
  claim(token: SpentToken, now: number): Promise<boolean>
}

type Spent = Pick<SpentToken, 'issuedAt' | 'expiresAt'>

/** A caller's tokens minted at or before `issuedAt` are refused until `until`: a forgotten id was among them. */
interface Floor {
  issuedAt: number
  until: number
}

/** One principal's spent ids, in the order spent, and the floors its forgotten ones left. */
interface Spender {
  spent: Map<string, Spent>
  floors: Floor[]
}

/** Spent tokens a process remembers at most: about 150 bytes each. */
export const MAX_SPENT = 100_000
/** Spent tokens one principal holds at most: past that, its own first spent are forgotten. */
export const MAX_SPENT_PER_PRINCIPAL = 2_000
/** Floors one principal keeps at most: past that, the two oldest merge into one that refuses what both did. */
const MAX_FLOORS = 8
/**
 * How long past its expiry an id is still remembered: a clock that steps back a little (the
 * sealer's own does not, but a replica's tokens carry its time) does not make a swept id's
 * token unexpired again.
 */
export const FORGET_AFTER_MS = 60_000

/**
 * An in-process replay guard with bounded memory, fair between callers. It must forget nothing a
 * replay could use, and a caller spending tokens fast must not lock the others out (refusing every
 * token once full did: about 40 keys at the default rate filled it).
 *
 * So it forgets ids, but never silently: the principal whose id goes gets a floor, and from then
 * on, until the forgotten token would have expired, every token of that principal minted at or
 * before it is refused, spent or not. Whose id goes, first spent first: the principal's own, when
 * it holds MAX_SPENT_PER_PRINCIPAL; when the guard holds `max`, the claimant's own if it would
 * then hold as many as the largest holder, and the largest holder's otherwise (found from
 * buckets by count, not by walking every holder). So a principal loses nothing to another while
 * it holds no more than its share: `max` divided among the principals holding ids, the claimant
 * counted.
 */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly spenders = new Map<string, Spender>()
  /** Spenders by how many ids they hold. */
  private readonly byCount: Array<Set<Spender> | undefined> = []
  private most = 0
  private total = 0
  private nextSweep = 0

  constructor(
    private readonly max = MAX_SPENT,
    private readonly perPrincipal = MAX_SPENT_PER_PRINCIPAL,
    /** The least time between two sweeps of the whole guard: a full one would otherwise walk all its ids on every claim. */
    private readonly sweepEveryMs = 1000,
  ) {
    if (!(max >= 1 && perPrincipal >= 1)) throw new Error('a replay guard must hold at least one id')
  }

  get size(): number {
    return this.total
  }

  async claim(token: SpentToken, now: number): Promise<boolean> {
    if (token.expiresAt <= now) throw new RequestStateRefused('expired')
    // Principals left with floors alone count too: they are swept once their floors lapse.
    if ((this.total >= this.max || this.spenders.size > this.max) && now >= this.nextSweep) this.sweep(now)
    let own = this.spenders.get(token.principal)
    if (own?.spent.has(token.id)) return false
    if (own?.floors.some((f) => token.issuedAt <= f.issuedAt && now < f.until)) throw new RequestStateRefused('forgotten')
    if (!own) this.spenders.set(token.principal, (own = {spent: new Map(), floors: []}))
    if (own.spent.size >= this.perPrincipal) this.forgetFirstOf(own, now)
    if (this.total >= this.max) this.forgetFirstOf(own.spent.size > 0 && own.spent.size + 1 >= this.most ? own : this.largest(), now)
    own.spent.set(token.id, {issuedAt: token.issuedAt, expiresAt: token.expiresAt})
    this.total++
    this.counted(own, own.spent.size - 1)
    return true
  }

  /** Forgets ids past their expiry (and FORGET_AFTER_MS), lapsed floors, and principals with nothing left to refuse. */
  private sweep(now: number): void {
    this.nextSweep = now + this.sweepEveryMs
    for (const [principal, spender] of this.spenders) {
      const before = spender.spent.size
      for (const [id, spent] of spender.spent) if (spent.expiresAt + FORGET_AFTER_MS <= now) spender.spent.delete(id)
      this.total -= before - spender.spent.size
      this.counted(spender, before)
      spender.floors = spender.floors.filter((f) => now < f.until)
      if (spender.spent.size === 0 && spender.floors.length === 0) this.spenders.delete(principal)
    }
  }

  private largest(): Spender {
    return this.byCount[this.most]!.values().next().value!
  }

  /** Its first-spent id goes, leaving a floor (unless the id is long past its expiry), so that a replay of it is refused. */
  private forgetFirstOf(spender: Spender, now: number): void {
    const [id, spent] = spender.spent.entries().next().value!
    spender.spent.delete(id)
    this.total--
    this.counted(spender, spender.spent.size + 1)
    if (spent.expiresAt + FORGET_AFTER_MS > now) raiseFloor(spender, {issuedAt: spent.issuedAt, until: spent.expiresAt + FORGET_AFTER_MS}, now)
  }

  /** Moves a spender that held `before` ids to the bucket of what it holds now. */
  private counted(spender: Spender, before: number): void {
    const after = spender.spent.size
    if (before === after) return
    if (before > 0) this.byCount[before]!.delete(spender)
    if (after > 0) (this.byCount[after] ??= new Set()).add(spender)
    if (after > this.most) this.most = after
    while (this.most > 0 && !this.byCount[this.most]?.size) this.most--
  }
}

/**
 * Adds a floor, keeping only what refuses something no other floor does: one floor per token
 * lifetime in practice. A token of 24 hours forgotten keeps its own floor for 24 hours; one of 5
 * minutes forgotten after it does not inherit that length.
 */
function raiseFloor(spender: Spender, floor: Floor, now: number): void {
  const covers = (a: Floor, b: Floor) => a.issuedAt >= b.issuedAt && a.until >= b.until
  const live = spender.floors.filter((f) => now < f.until)
  if (live.some((f) => covers(f, floor))) {
    spender.floors = live
    return
  }
  const floors = [...live.filter((f) => !covers(floor, f)), floor].sort((a, b) => a.issuedAt - b.issuedAt)
  // Over the bound, the two oldest merge: the merged floor refuses all either did, a little longer.
  while (floors.length > MAX_FLOORS) {
    const [a, b] = floors.splice(0, 2)
    floors.unshift({issuedAt: Math.max(a.issuedAt, b.issuedAt), until: Math.max(a.until, b.until)})
  }
  spender.floors = floors
}

/** How far apart the replicas' clocks may be: a spent id is kept in Redis this much longer than its token lives. */
export const CLOCK_SKEW_MS = 10 * 60_000

/** Where spent ids are remembered beyond this process (the replicas' Redis: cluster.ts). */
export interface SharedSpending {
  /** False when spent before, anywhere; undefined when that cannot be told now. */
  spend(id: string, ttlMs: number): Promise<boolean | undefined>
}

/**
 * This process's guard, and the replicas' shared memory when there is one: a token that carries a
 * 2026-07-28 upstream's own state is resumed on whichever replica the retry reaches, so spending
 * it on one must spend it on all. Without an answer from the shared one, this process's guard holds.
 */
export class ReplicatedReplayGuard implements ReplayGuard {
  constructor(
    private readonly local: ReplayGuard,
    private readonly shared: () => SharedSpending | undefined,
  ) {}

  async claim(token: SpentToken, now: number): Promise<boolean> {
    if (!(await this.local.claim(token, now))) return false
    // Kept past the expiry by CLOCK_SKEW_MS: a replica whose clock runs behind this one's still takes the token as unexpired.
    return (await this.shared()?.spend(token.id, token.expiresAt - now + CLOCK_SKEW_MS)) !== false
  }
}

interface Payload {
  id: string
  /** Minted at (ms). A token minted before keyward wrote it has none, and counts as minted before any (refused under a floor). */
  iat?: number
  exp: number
  m: string
  n: string
  d: unknown
}

/**
 * The wall-clock time as this process keeps it: where it started, plus a monotonic count since.
 * A step of the system clock (NTP, an operator) moves neither expiries nor the replay guard's
 * sweeps: a step back would make swept tokens unexpired again, and one ahead expire everyone's.
 */
const processClock = () => performance.timeOrigin + performance.now()

export interface SealerOptions {
  ttlMs?: number
  replay?: ReplayGuard
  now?: () => number
}

export class RequestStateSealer {
  private readonly ttlMs: number
  private readonly replay: ReplayGuard
  private readonly now: () => number

  constructor(
    private readonly key: Buffer,
    options: SealerOptions = {},
  ) {
    if (key.length !== 32) throw new Error('the request-state key must be 32 bytes')
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS
    this.replay = options.replay ?? new MemoryReplayGuard()
    this.now = options.now ?? processClock
  }

  private aad(principal: string): Buffer {
    return Buffer.from(AAD_LABEL + principal, 'utf8')
  }

  /** A token carrying `data` (JSON) for one retry of `binding`, good for `ttlMs` (the sealer's own by default). */
  seal(binding: StateBinding, data: unknown, ttlMs: number = this.ttlMs): string {
    const iat = this.now()
    const payload: Payload = {id: randomBytes(16).toString('base64url'), iat, exp: iat + ttlMs, m: binding.method, n: binding.name, d: data}
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    cipher.setAAD(this.aad(binding.principal))
    const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()])
    const token = PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
    if (token.length > MAX_TOKEN_CHARS) throw new Error(`a requestState may hold at most ${MAX_TOKEN_CHARS} characters`)
    return token
  }

  /** The data sealed in `token`, spending it; RequestStateRefused when any rule says no. */
  async open(token: unknown, binding: StateBinding): Promise<unknown> {
    const payload = this.decrypt(token, binding.principal)
    const now = this.now()
    if (!(payload.exp > now)) throw new RequestStateRefused('expired')
    if (payload.m !== binding.method || payload.n !== binding.name) throw new RequestStateRefused('wrong_request')
    const issuedAt = typeof payload.iat === 'number' ? payload.iat : -Infinity
    if (!(await this.replay.claim({principal: binding.principal, id: payload.id, issuedAt, expiresAt: payload.exp}, now))) throw new RequestStateRefused('replayed')
    return payload.d
  }

  private decrypt(token: unknown, principal: string): Payload {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !token.startsWith(PREFIX)) throw new RequestStateRefused('malformed')
    const raw = Buffer.from(token.slice(PREFIX.length), 'base64url')
    if (raw.length < IV_BYTES + TAG_BYTES + 2) throw new RequestStateRefused('malformed')
    let text: string
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES))
      decipher.setAAD(this.aad(principal))
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES))
      text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      // A forged or altered token, or one sealed for another principal: GCM cannot tell them apart, and nor does the client need to.
      throw new RequestStateRefused('invalid')
    }
    const payload = JSON.parse(text) as Payload
    if (!isPlainObject(payload) || typeof payload.id !== 'string' || typeof payload.exp !== 'number') throw new RequestStateRefused('invalid')
    return payload
  }
}
