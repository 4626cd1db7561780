/**
 * One call of a 2026-07-28 client, held open while its source waits for input from that client.
 *
 * The source (an upstream of either era, through the gateway's link) asks its client for input
 * through the call's channel, as it does for a 2025 client: `request()` (sampling, elicitation,
 * roots). A modern client cannot be asked: the revision has no server-to-client requests. So
 * the channel records each request as an ask and wakes whoever waits for the call; the round
 * that waits answers its client with the asks as `inputRequests` (bridge.ts), and the client's
 * retry brings the answers back here, which resolve the requests the source is waiting on.
 *
 * Notifications of the call (progress, log messages) reach the client only while one of its
 * requests is open for this call (a round); between rounds there is nowhere to send them.
 */
import {randomBytes} from 'node:crypto'

import type {ClientResult, ServerNotification, ServerRequest} from '@modelcontextprotocol/server'

import type {Principal} from '../../auth/index.js'
import {INPUT_METHODS, MAX_INPUT_REQUESTS} from '../era/protocol.js'
import type {RequestMeta} from '../era/request-meta.js'
import type {ClientChannel} from '../tools/source.js'
import {Outbox} from './outbox.js'

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']

export interface InputRequest {
  method: string
  params?: Record<string, unknown>
}

interface Ask {
  request: InputRequest
  resolve(result: ClientResult): void
  reject(error: Error): void
  /** True once the client was shown it (in an InputRequiredResult), until it answers. */
  sent: boolean
}

/** The client request currently waiting on the call: where its notifications go, and what its `_meta` allows. */
export interface Round {
  meta: RequestMeta
  notify(notification: ServerNotification): Promise<void>
}

export type CallEvent = {kind: 'done'} | {kind: 'input'}

const DONE: CallEvent = {kind: 'done'}
const INPUT: CallEvent = {kind: 'input'}

export class InputUnavailable extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InputUnavailable'
  }
}

export class HeldCall {
  private readonly asks = new Map<string, Ask>()
  private nextKey = 0
  private outcome?: {ok: true; value: unknown} | {ok: false; error: unknown}
  private wake?: () => void
  private round?: Round
  /** Notifications handed to the round and not yet sent: a round's answer waits for them, so none arrives after it. */
  private readonly outbox = new Outbox()
  /** Aborts the source's work: the call's own signal, independent of any one client request. */
  readonly abort = new AbortController()
  readonly channel: ClientChannel

  private key?: string

  constructor(
    /** The caller: only it may resume the call. */
    readonly owner: Principal,
  ) {
    this.channel = {notify: (n) => this.outbox.track(this.notify(n)), request: (r, o) => this.ask(r, o?.signal)}
  }

  /** The call's random id, which its sealed state names; made when first asked for (most calls finish in one round and never need one). */
  get id(): string {
    this.key ??= randomBytes(16).toString('base64url')
    return this.key
  }

  /** Follows the call's result: once it settles, the call is done. */
  track(result: Promise<unknown>): void {
    result.then(
      (value) => this.settle({ok: true, value}),
      (error: unknown) => this.settle({ok: false, error}),
    )
  }

  private settle(outcome: NonNullable<HeldCall['outcome']>): void {
    this.outcome = outcome
    this.poke()
  }

  /** The call's result (only once `next()` said done). */
  result(): unknown {
    if (!this.outcome) throw new Error('the call is still running')
    if (!this.outcome.ok) throw this.outcome.error
    return this.outcome.value
  }

  private poke(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private ask(request: ServerRequest, signal?: AbortSignal): Promise<ClientResult> {
    if (!INPUT_METHODS.has(request.method)) return Promise.reject(new InputUnavailable(`${request.method} cannot be sent to a 2026-07-28 client`))
    if (this.abort.signal.aborted) return Promise.reject(new InputUnavailable('the call was cancelled'))
    if (this.asks.size >= MAX_INPUT_REQUESTS) return Promise.reject(new InputUnavailable(`at most ${MAX_INPUT_REQUESTS} input requests may wait at once`))
    const key = `input-${++this.nextKey}`
    return new Promise<ClientResult>((resolve, reject) => {
      this.asks.set(key, {request: request as InputRequest, resolve, reject, sent: false})
      signal?.addEventListener('abort', () => this.drop(key, new InputUnavailable('the request was cancelled')), {once: true})
      // Requests made together (a modern upstream's several input requests) are shown together.
      setImmediate(() => this.poke())
    })
  }

  private drop(key: string, error: Error): void {
    const ask = this.asks.get(key)
    if (!ask) return
    this.asks.delete(key)
    ask.reject(error)
  }

  /** The next thing that happens to the call: it is done, or it waits for input not yet shown. */
  async next(): Promise<CallEvent> {
    for (;;) {
      if (this.outcome) return DONE
      if (this.hasUnshownAsk()) return INPUT
      await new Promise<void>((resolve) => (this.wake = resolve))
    }
  }

  private hasUnshownAsk(): boolean {
    for (const ask of this.asks.values()) if (!ask.sent) return true
    return false
  }

  /** The asks not yet shown, marked shown: what the next InputRequiredResult carries. */
  showAsks(): Record<string, InputRequest> {
    const out: Record<string, InputRequest> = {}
    for (const [key, ask] of this.asks) {
      if (ask.sent) continue
      ask.sent = true
      out[key] = ask.request
    }
    return out
  }

  /** Every ask shown and not answered: a retry must answer them. */
  shownAsks(): Record<string, InputRequest> {
    return Object.fromEntries([...this.asks].filter(([, a]) => a.sent).map(([key, a]) => [key, a.request]))
  }

  /** The client's answers, by key; an ask left unanswered is shown again in the next round. */
  answer(responses: Record<string, unknown> | undefined): void {
    for (const [key, ask] of [...this.asks]) {
      if (!ask.sent) continue
      const response = responses?.[key]
      if (response === undefined || response === null || typeof response !== 'object') {
        ask.sent = false
        continue
      }
      this.asks.delete(key)
      ask.resolve(response as ClientResult)
    }
  }

  /** Ends the call: every request still waiting fails with `why` (the source tells its upstream), and its work is aborted. */
  fail(why: string): void {
    for (const key of [...this.asks.keys()]) this.drop(key, new InputUnavailable(why))
    this.abort.abort(new InputUnavailable(why))
  }

  attach(round: Round): void {
    this.round = round
  }

  /** True while a notification handed to the round is not yet sent. */
  get sending(): boolean {
    return this.outbox.pending
  }

  /** Waits until every notification handed to the round so far is sent (or a bound passed): the round's answer comes after them. */
  flushed(): Promise<void> {
    return this.outbox.flushed()
  }

  detach(): void {
    this.round = undefined
  }

  private async notify(notification: ServerNotification): Promise<void> {
    if (this.round) return notifyRound(this.round, notification)
  }
}

/** A call's notification to the round waiting on it: progress under the token of the round's request (none: dropped); log messages at the round's level or above (none: dropped). */
export async function notifyRound(round: Round, notification: ServerNotification): Promise<void> {
  const params = (notification.params ?? {}) as Record<string, unknown>
  if (notification.method === 'notifications/progress') {
    const token = round.meta.progressToken
    if (token === undefined) return
    return round.notify({...notification, params: {...params, progressToken: token}} as ServerNotification)
  }
  if (notification.method === 'notifications/message') {
    const threshold = round.meta.logLevel
    if (threshold === undefined || LOG_LEVELS.indexOf(String(params.level)) < LOG_LEVELS.indexOf(threshold)) return
    return round.notify(notification)
  }
  // Anything else (a resource update, a list change) is not the call's; modern clients hear of those on subscriptions/listen.
}
