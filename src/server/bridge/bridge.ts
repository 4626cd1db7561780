/**
 * The bridge between a 2026-07-28 client and sources that ask their client for input during a
 * call (an upstream of either era: a 2025 one sends sampling, elicitation or roots requests; a
 * 2026 one returns input requests, which the gateway's link turns into the same requests). It
 * lives where the modern request is served, in the channel each call is given (held-call.ts):
 * the gateway does not know which era its caller speaks.
 *
 * A modern call runs; its round (the client request) waits for whichever comes first: the
 * call's result (`complete`), or input the source asks for. Then the round answers
 * InputRequiredResult: the asks as `inputRequests`, after checking the request's `_meta`
 * declares the capabilities they need (MISSING_CLIENT_CAPABILITY otherwise), and a
 * `requestState` sealed by keyward (era/request-state.ts) that names the held call. The call
 * stays held. The client's retry brings the state and `inputResponses`: the state is opened
 * (bound to the caller's principal, the method and the tool, prompt or resource; 5 minutes;
 * single use), the answers go to the waiting requests, and the retry races again.
 *
 * Bounds: at most 16 held calls per principal and 1,024 in all; a held call whose client does
 * not come back before the state expires (server.input-timeout, 5 minutes) is ended (its waiting requests fail, so the upstream
 * hears of it, and its work is aborted). A client that closes its request (the revision's
 * cancellation) ends the call likewise. A held call lives in this process: a retry on another
 * replica finds nothing, and is refused like a stale state (docs/gateway.md: sticky routing).
 * A state that carries a 2026-07-28 upstream's own is resumed wherever it arrives: its single use
 * is kept across replicas by the replay guard (open-request-state.ts, Redis).
 */
import type {Result} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'
import {isPlainObject} from '../era/protocol.js'
import {missingCapability} from '../era/request-meta.js'
import {RequestStateRefused, type RequestStateSealer, type StateBinding} from '../era/request-state.js'
import {Refusal} from '../refusal.js'
import type {ClientChannel, InputPassage} from '../tools/source.js'
import {HeldCall, InputUnavailable, notifyRound, type Round} from './held-call.js'

export interface BridgeLimits {
  perPrincipal: number
  total: number
  /** How long a held call waits for its client's retry: the lifetime of the state it was given (server.input-timeout). */
  ttlMs: () => number
}

export const DEFAULT_BRIDGE_LIMITS: BridgeLimits = {perPrincipal: 16, total: 1024, ttlMs: () => 5 * 60_000}

/** A client request waiting on a call, and its abort signal (the client closed it). */
export type BridgeRound = Round & {signal: AbortSignal}

/** Runs a call with the channel back to its client, the call's own signal, and the passage for an upstream's own input requests. */
export type StartCall = (channel: ClientChannel, signal: AbortSignal, input: InputPassage) => Promise<unknown>

/** What a refused state, or an ended call, is reported as (the audit and the log; never the client). */
export type BridgeReport = (event: {reason: string; caller: Principal; method: string; name: string; kind?: Refusal['kind']}) => void

interface Kept {
  held: HeldCall
  timer: NodeJS.Timeout
}

export class InputBridge {
  /** Calls waiting for their client's retry, by id. */
  private readonly kept = new Map<string, Kept>()

  constructor(
    /** The sealer, once the vault's request-state key is known; undefined: calls cannot be held. */
    private readonly sealer: () => RequestStateSealer | undefined,
    private readonly report: BridgeReport = () => {},
    private readonly limits: BridgeLimits = DEFAULT_BRIDGE_LIMITS,
  ) {}

  get size(): number {
    return this.kept.size
  }

  /** A new call of a modern client (or the retry of one whose upstream asked for input itself, `retry`). */
  async call(caller: Principal, binding: StateBinding, round: BridgeRound, start: StartCall, retry?: InputPassage['retry']): Promise<Result> {
    const held = new HeldCall(caller)
    const input: InputPassage = {retry}
    // Attached before the call starts, so that nothing it sends at once is lost.
    held.attach(round)
    held.track(start(held.channel, held.abort.signal, input))
    return this.race(held, binding, round, input)
  }

  /**
   * A call of an item that never asks its caller for input (ItemTraits.neverAsks): there is
   * nothing to hold, so it runs on the round itself, as a 2025 call does: the round's signal is
   * its signal (the client's cancellation reaches it directly), and its notifications go to the
   * round. Should it ask after all, the ask fails, and nothing is held.
   */
  run(round: BridgeRound, start: StartCall): Promise<unknown> {
    const channel: ClientChannel = {
      notify: (notification) => notifyRound(round, notification),
      request: (request) => Promise.reject(new InputUnavailable(`${request.method}: this item does not ask its caller for input`)),
    }
    return start(channel, round.signal, {})
  }

  /**
   * A retry: its state opened (or refused). A held call gets its answers and the race runs
   * again; an upstream's own round is run again as a new call (through every call stage), with
   * the answers and the upstream's state for the upstream that asked.
   */
  async resume(caller: Principal, binding: StateBinding, state: string, responses: Record<string, unknown> | undefined, round: BridgeRound, start: StartCall): Promise<Result> {
    const sealer = this.sealer()
    if (!sealer) throw this.refuse(caller, binding, 'no_key')
    let data: unknown
    try {
      data = await sealer.open(state, binding)
    } catch (err) {
      if (err instanceof RequestStateRefused) throw this.refuse(caller, binding, err.reason)
      throw err
    }
    const upstream = passageOf(data)
    if (upstream) return this.call(caller, binding, round, start, {...upstream, responses: responses ?? {}})
    const id = (data as {call?: unknown} | undefined)?.call
    const kept = typeof id === 'string' ? this.kept.get(id) : undefined
    if (!kept || kept.held.owner.id !== binding.principal) throw this.refuse(caller, binding, 'not_held')
    this.release(kept.held)
    kept.held.answer(responses)
    return this.race(kept.held, binding, round)
  }

  /** A retry the call stages would refuse (its caller may no longer use the item): reported (audited) as that refusal is for a first call, and returned to throw. */
  refuseRetry(caller: Principal, binding: StateBinding, refusal: Refusal): Refusal {
    this.report({reason: refusal.reason, caller, method: binding.method, name: binding.name, kind: refusal.kind})
    return refusal
  }

  private refuse(caller: Principal, binding: StateBinding, rule: string): Refusal {
    this.report({reason: `request_state_${rule}`, caller, method: binding.method, name: binding.name})
    return Refusal.requestState(rule)
  }

  private async race(held: HeldCall, binding: StateBinding, round: BridgeRound, input?: InputPassage): Promise<Result> {
    held.attach(round)
    const watch = new CancelWatch(round.signal, () => held.fail('the client cancelled the request'))
    try {
      const event = await held.next()
      // The call's last progress or log message may still be on its way to the round: it must not arrive after the answer.
      if (held.sending) await held.flushed()
      if (event.kind !== 'done') return this.inputRequired(held, binding, round)
      const result = held.result() as Result
      return input?.asked && result.resultType === 'input_required' ? this.passThrough(held, binding, round, input.asked, result) : result
    } finally {
      watch.stop()
      held.detach()
    }
  }

  /** The asks as an InputRequiredResult, the call kept until the retry; or the call ended, and the round refused. */
  private inputRequired(held: HeldCall, binding: StateBinding, round: BridgeRound): Result {
    const inputRequests = held.showAsks()
    const missing = missingCapability(round.meta, inputRequests)
    if (missing) {
      held.fail('the client does not declare the capability this input needs')
      this.report({reason: missing.reason, caller: held.owner, method: binding.method, name: binding.name})
      throw Refusal.era(missing)
    }
    const sealer = this.sealer()
    if (!sealer) {
      held.fail('keyward cannot hold calls for input: the vault has no request-state key')
      throw Refusal.notSupported('This call needs input from the client, but keyward cannot hold it: the vault has no request-state key (run any admin command once to create it)')
    }
    const ttlMs = this.limits.ttlMs()
    this.keep(held, ttlMs)
    return {resultType: 'input_required', inputRequests, requestState: sealer.seal(binding, {call: held.id}, ttlMs)}
  }

  /**
   * An upstream's own InputRequiredResult, to a modern client: its input requests as the
   * upstream made them (checked against what the request declared, as keyward's own are), and
   * its state sealed inside keyward's, never shown. Nothing is held: the call is over.
   */
  private passThrough(held: HeldCall, binding: StateBinding, round: BridgeRound, asked: NonNullable<InputPassage['asked']>, result: Result): Result {
    const inputRequests = (isPlainObject(result.inputRequests) ? result.inputRequests : {}) as Record<string, {method: string; params?: unknown}>
    const missing = missingCapability(round.meta, inputRequests)
    if (missing) {
      this.report({reason: missing.reason, caller: held.owner, method: binding.method, name: binding.name})
      throw Refusal.era(missing)
    }
    const sealer = this.sealer()
    if (!sealer) throw Refusal.notSupported('This call needs input from the client, but keyward cannot pass it on: the vault has no request-state key (run any admin command once to create it)')
    return {resultType: 'input_required', inputRequests, requestState: sealer.seal(binding, {up: asked}, this.limits.ttlMs())}
  }

  private keep(held: HeldCall, ttlMs: number): void {
    let mine = 0
    for (const {held: other} of this.kept.values()) if (other.owner.id === held.owner.id) mine++
    if (mine >= this.limits.perPrincipal || this.kept.size >= this.limits.total) {
      held.fail('too many calls are waiting for input')
      const scope = mine >= this.limits.perPrincipal ? `${this.limits.perPrincipal} for one caller` : `${this.limits.total} in all`
      throw Refusal.overCapacity('too_many_held_calls', `Too many calls are waiting for input (at most ${scope}); answer or abandon one, and retry`)
    }
    const timer = setTimeout(() => {
      this.kept.delete(held.id)
      held.fail('the client did not answer in time')
    }, ttlMs)
    timer.unref()
    this.kept.set(held.id, {held, timer})
  }

  private release(held: HeldCall): void {
    const kept = this.kept.get(held.id)
    if (!kept) return
    clearTimeout(kept.timer)
    this.kept.delete(held.id)
  }

  /** Ends the held calls of principals no longer valid (revoked, expired), and on shutdown all of them. */
  prune(stillValid: (principal: Principal) => boolean = () => false): number {
    let ended = 0
    for (const {held} of [...this.kept.values()]) {
      if (stillValid(held.owner)) continue
      this.release(held)
      held.fail('the caller is no longer authorized')
      ended++
    }
    return ended
  }
}

/**
 * The revision's cancellation: the client closes its request, and the call ends with it. The
 * listener on the request's signal is attached only once the event loop turns: a client's
 * cancellation arrives as I/O, so a call that settles before then cannot miss one, and is spared
 * the listener, which on Node 20 cost more than the rest of a round (the bench's 2026-07-28
 * row). A signal aborted before the listener is attached is seen when it would have been.
 */
class CancelWatch {
  private readonly immediate: NodeJS.Immediate
  private listening = false

  constructor(
    private readonly signal: AbortSignal,
    private readonly cancel: () => void,
  ) {
    this.immediate = setImmediate(() => this.listen())
  }

  private listen(): void {
    if (this.signal.aborted) return this.cancel()
    this.signal.addEventListener('abort', this.cancel, {once: true})
    this.listening = true
  }

  stop(): void {
    clearImmediate(this.immediate)
    if (this.listening) this.signal.removeEventListener('abort', this.cancel)
  }
}

/** The upstream round a sealed state carries, when it carries one (it was sealed by keyward: only its shape is checked). */
function passageOf(data: unknown): {upstream: string; state?: string} | undefined {
  const up = isPlainObject(data) ? data.up : undefined
  if (!isPlainObject(up) || typeof up.upstream !== 'string') return undefined
  return {upstream: up.upstream, ...(typeof up.state === 'string' && {state: up.state})}
}
