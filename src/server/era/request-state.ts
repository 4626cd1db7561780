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
 *   bounded; when it is full of live ids a token is refused (fail closed) rather than an id
 *   forgotten early, which would let its token be replayed.
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

export type RefusalReason = 'malformed' | 'invalid' | 'expired' | 'replayed' | 'wrong_request' | 'replay_guard_full'

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
  /** True when `id` was not seen before (and is now spent); false for a replay. Throws RequestStateRefused when it cannot remember another id. */
  claim(id: string, expiresAt: number, now: number): Promise<boolean>
}

/** An in-process replay guard holding at most `max` live ids. */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly spent = new Map<string, number>()

  constructor(private readonly max = 100_000) {}

  get size(): number {
    return this.spent.size
  }

  async claim(id: string, expiresAt: number, now: number): Promise<boolean> {
    if (this.spent.has(id)) return false
    if (this.spent.size >= this.max) this.sweep(now)
    if (this.spent.size >= this.max) throw new RequestStateRefused('replay_guard_full')
    this.spent.set(id, expiresAt)
    return true
  }

  /** Forgets ids whose tokens have expired: an expired token is refused for its expiry anyway. */
  private sweep(now: number): void {
    for (const [id, expiresAt] of this.spent) if (expiresAt <= now) this.spent.delete(id)
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

  async claim(id: string, expiresAt: number, now: number): Promise<boolean> {
    if (!(await this.local.claim(id, expiresAt, now))) return false
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
    if (!(await this.replay.claim(payload.id, payload.exp, now))) throw new RequestStateRefused('replayed')
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
