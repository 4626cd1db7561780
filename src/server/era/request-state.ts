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
 *   bounded; when it is full of live ids, the caller holding the most has its oldest forgotten
 *   and all its tokens expiring by then refused (MemoryReplayGuard), never a token replayed.
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

/** Remembers spent token ids until they expire; shared across replicas when it is on Redis. */
export interface ReplayGuard {
  /** True when `id` (a token of `principal`'s) was not seen before, and is now spent; false for a replay. Throws RequestStateRefused when it may no longer tell. */
  claim(principal: string, id: string, expiresAt: number, now: number): Promise<boolean>
}

/** One principal's spent ids, and the expiry at or before which all its tokens are refused. */
interface Spender {
  spent: Map<string, number>
  floor: number
}

/**
 * An in-process replay guard holding at most `max` ids, fair between callers. It must forget
 * nothing a replay could use, and one caller spending tokens fast must not lock the others out
 * (refusing every token once full did: about 40 keys at the default rate filled it).
 *
 * So when it is full of live ids, the principal holding the most gives up its oldest id, and a
 * floor takes its place: from then on, every token of that principal that expires at or before
 * the floor is refused, spent or not, so the forgotten id cannot be replayed. What a principal
 * that spends more than its share loses is its own older tokens; nobody else's.
 */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly spenders = new Map<string, Spender>()
  private total = 0
  private nextSweep = 0

  constructor(
    private readonly max = 100_000,
    /** The least time between two sweeps of the whole guard: a full guard would otherwise walk all its ids on every claim. */
    private readonly sweepEveryMs = 1000,
  ) {}

  get size(): number {
    return this.total
  }

  async claim(principal: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    const known = this.spenders.get(principal)
    if (known?.spent.has(id)) return false
    if (known && expiresAt <= known.floor) throw new RequestStateRefused('forgotten')
    if (this.total >= this.max && now >= this.nextSweep) this.sweep(now)
    if (this.total >= this.max) this.forgetOldestOf(this.largest())
    // Looked up again: the sweep may have dropped the principal's entry.
    let own = this.spenders.get(principal)
    if (!own) this.spenders.set(principal, (own = {spent: new Map(), floor: 0}))
    own.spent.set(id, expiresAt)
    this.total++
    return true
  }

  /** Forgets ids whose tokens have expired (an expired token is refused for its expiry anyway), and principals with nothing left to refuse. */
  private sweep(now: number): void {
    this.nextSweep = now + this.sweepEveryMs
    for (const [principal, spender] of this.spenders) {
      for (const [id, expiresAt] of spender.spent) {
        if (expiresAt > now) continue
        spender.spent.delete(id)
        this.total--
      }
      if (spender.spent.size === 0 && spender.floor <= now) this.spenders.delete(principal)
    }
  }

  private largest(): Spender {
    let most: Spender | undefined
    for (const spender of this.spenders.values()) if (!most || spender.spent.size > most.spent.size) most = spender
    return most!
  }

  /** Its first-spent id goes, and the floor rises to that id's expiry: a replay of it is refused by the floor. */
  private forgetOldestOf(spender: Spender): void {
    const [id, expiresAt] = spender.spent.entries().next().value!
    spender.spent.delete(id)
    spender.floor = Math.max(spender.floor, expiresAt)
    this.total--
  }
}

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

  async claim(principal: string, id: string, expiresAt: number, now: number): Promise<boolean> {
    if (!(await this.local.claim(principal, id, expiresAt, now))) return false
    return (await this.shared()?.spend(id, expiresAt - now)) !== false
  }
}

interface Payload {
  id: string
  exp: number
  m: string
  n: string
  d: unknown
}

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
    this.now = options.now ?? Date.now
  }

  private aad(principal: string): Buffer {
    return Buffer.from(AAD_LABEL + principal, 'utf8')
  }

  /** A token carrying `data` (JSON) for one retry of `binding`, good for `ttlMs` (the sealer's own by default). */
  seal(binding: StateBinding, data: unknown, ttlMs: number = this.ttlMs): string {
    const payload: Payload = {id: randomBytes(16).toString('base64url'), exp: this.now() + ttlMs, m: binding.method, n: binding.name, d: data}
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
    if (!(await this.replay.claim(binding.principal, payload.id, payload.exp, now))) throw new RequestStateRefused('replayed')
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
