/**
 * How long one request to an upstream may run. An upstream chooses when it answers, and each
 * progress notification it sends restarts the idle timeout: without a total bound, progress every
 * few seconds holds the call, its client and its connection's slot for ever. So a call has both:
 * CALL_IDLE_MS without a word from the upstream, and upstream.max-call-duration in all.
 *
 * The total is kept here, not by the SDK's `maxTotalTimeout`: the SDK checks that only when
 * progress comes (an upstream that reports once an hour overruns it by up to an hour), and then
 * fails the request without telling the upstream, whose work runs on (and, racing the deadline
 * here, it would make that the outcome). Aborting the request's signal at the deadline makes the
 * SDK send `notifications/cancelled` (or end a 2026-07-28 request's stream), as a client's own
 * cancellation does; one deadline covers every request of the call (its rounds of input).
 */
import type {RequestOptions} from '@modelcontextprotocol/client'

import {UpstreamUnavailable} from './link.js'

/** A request may go this long without a word from the upstream; its progress restarts the count. */
export const CALL_IDLE_MS = 5 * 60_000

export interface BoundedCall {
  /** The SDK's options for every request the call makes (its input rounds included). */
  options: RequestOptions
  /** What the call's failure becomes: past the deadline, an error naming the upstream and the bound; otherwise `err` itself. */
  failure(err: unknown): unknown
  /** The call ended: the deadline is cleared. */
  done(): void
}

/** `ms` as the operator would write it: 1500ms, 90s, 30m, 2h. */
export function durationText(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

/**
 * A call to upstream `name` that the client may cancel through `signal`, and that ends at the
 * latest `maxMs` after it began. `onprogress` receives the upstream's progress.
 */
export function boundedCall(name: string, signal: AbortSignal | undefined, maxMs: number, onprogress?: RequestOptions['onprogress']): BoundedCall {
  const controller = new AbortController()
  const cancelled = () => controller.abort(signal?.reason)
  if (signal?.aborted) cancelled()
  else signal?.addEventListener('abort', cancelled, {once: true})
  let expired = false
  const timer = setTimeout(() => {
    expired = true
    controller.abort(new Error('the call ran past upstream.max-call-duration'))
  }, maxMs)
  // A deadline is no reason to keep keyward running: at shutdown the call ends with its upstream.
  timer.unref()
  return {
    options: {signal: controller.signal, timeout: CALL_IDLE_MS, resetTimeoutOnProgress: true, onprogress},
    failure: (err) =>
      expired ? new UpstreamUnavailable(`upstream ${name} ran the call past ${durationText(maxMs)}, the longest upstream.max-call-duration allows; it was cancelled`) : err,
    done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', cancelled)
    },
  }
}
