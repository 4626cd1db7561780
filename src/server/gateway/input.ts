/**
 * A call to a 2026-07-28 upstream, and the input it asks for. keyward calls such an upstream in
 * manual mode, so an `input_required` answer comes back to the call that caused it: it is
 * attributed exactly, never by guessing which client a request is for (as a 2025 upstream's
 * requests must be, traffic.ts). Then, by who made the call:
 *
 *   - a 2026-07-28 client gets the upstream's `inputRequests` as they are (redacted, as results
 *     are), and the upstream's own `requestState` is left in the call's InputPassage, for the
 *     bridge to seal inside keyward's (bridge.ts); the client's retry brings the answers, which
 *     go back to that upstream with its state;
 *   - a 2025 client with a way back (stdio, a stateful HTTP session) is sent each input request
 *     as an ordinary server-to-client request, on its own call's channel, and the call is
 *     retried with the answers, as the SDK's own client does (at most MAX_ROUNDS rounds);
 *   - a 2025 client on stateless HTTP cannot be asked: the upstream is told the caller declares
 *     nothing, and an upstream that asks anyway is refused at once.
 *
 * Each request tells the upstream what the caller declared (only what keyward can carry back to
 * it: sampling, elicitation, roots), so that an upstream refuses a missing capability itself
 * (MISSING_CLIENT_CAPABILITY), and the log level the caller asked for.
 */
import type {Client, RequestOptions} from '@modelcontextprotocol/client'
import type {CallToolRequest, ClientCapabilities, LoggingLevel, Tool} from '@modelcontextprotocol/server'

import {INPUT_METHODS, isPlainObject, MAX_INPUT_REQUESTS, META} from '../era/protocol.js'
import {Refusal} from '../refusal.js'
import type {CallEnv} from '../tools/source.js'

/** Rounds of input one call of a 2025 client may take, as the SDK's client allows by default. */
export const MAX_ROUNDS = 10

/** How the caller can be reached for input: through the bridge, on its call's channel, or not at all. */
type Reach = 'bridge' | 'channel' | 'none'

function reachOf(env: CallEnv): Reach {
  if (env.era === 'modern') return env.input ? 'bridge' : 'none'
  return env.session && env.client ? 'channel' : 'none'
}

/** The caller's declared capabilities that keyward can carry back to it; nothing when it cannot be reached. */
export function carriedCapabilities(env: CallEnv): ClientCapabilities {
  if (reachOf(env) === 'none') return {}
  const declared = env.declared ?? {}
  const caps: ClientCapabilities = {}
  if (declared.sampling) caps.sampling = declared.sampling
  if (declared.elicitation) caps.elicitation = declared.elicitation
  if (declared.roots) caps.roots = declared.roots
  return caps
}

export interface ModernCall {
  client: Client
  /** The upstream's name: a retry must be answered by the upstream that asked. */
  upstream: string
  method: 'tools/call' | 'prompts/get' | 'resources/read'
  params: Record<string, unknown>
  options: RequestOptions
  env: CallEnv
  /** The log level to ask for in this request's `_meta`; none: the upstream sends no log messages. */
  logLevel?: LoggingLevel
  /** tools/call: the tool as the upstream listed it, whose `x-mcp-header` arguments travel in headers too (send). */
  tool?: Tool
}

/**
 * One request of the call, in manual mode. A tool call goes through the SDK's callTool with the
 * tool as listed, so that the arguments it declares `x-mcp-header` for are mirrored into
 * `Mcp-Param-*` headers (SEP-2243: an HTTP upstream refuses a call without them). Only its input
 * schema is given: the answer is passed on as it is, for the client to check against its own
 * era's schema (an output schema given here would also fail an input_required answer).
 */
function send(call: ModernCall, params: Record<string, unknown>): Promise<unknown> {
  const options = {...call.options, allowInputRequired: true}
  if (call.method !== 'tools/call' || !call.tool) return call.client.request({method: call.method, params}, options)
  return call.client.callTool(params as CallToolRequest['params'], {...options, toolDefinition: {name: call.tool.name, inputSchema: call.tool.inputSchema}})
}

/** Runs a call on a 2026-07-28 upstream, through as many rounds of input as it takes (see the module comment). */
export async function callModern(call: ModernCall): Promise<Record<string, unknown>> {
  const {env, upstream} = call
  const reach = reachOf(env)
  const meta = {
    ...(isPlainObject(call.params._meta) ? call.params._meta : {}),
    [META.clientCapabilities]: carriedCapabilities(env),
    ...(call.logLevel && {[META.logLevel]: call.logLevel}),
  }
  let params: Record<string, unknown> = {...call.params, _meta: meta}
  const retry = env.input?.retry
  if (retry) {
    // The sealed state names the upstream that asked; the item may have moved to another since.
    if (retry.upstream !== upstream) throw Refusal.requestState('wrong_upstream')
    params = withAnswers(params, retry.responses, retry.state)
  }
  for (let round = 1; ; round++) {
    const result = (await send(call, params)) as Record<string, unknown>
    if (result.resultType !== 'input_required') return result
    const inputRequests = isPlainObject(result.inputRequests) ? result.inputRequests : {}
    const state = typeof result.requestState === 'string' ? result.requestState : undefined
    if (reach === 'bridge' && env.input) {
      env.input.asked = {upstream, state}
      return {resultType: 'input_required', inputRequests}
    }
    if (reach === 'none') throw Refusal.notSupported(`upstream ${upstream} asked its client for input (${methodsOf(inputRequests)}), which a stateless HTTP client cannot give; use a stateful session, or a client of MCP 2026-07-28`)
    if (round > MAX_ROUNDS) throw Refusal.notSupported(`upstream ${upstream} asked for input more than ${MAX_ROUNDS} times in one call`)
    params = withAnswers(params, await askCaller(env, upstream, inputRequests, call.options.signal), state)
  }
}

/** The request again, with the answers and the upstream's state echoed byte for byte (none when it gave none). */
function withAnswers(params: Record<string, unknown>, responses: Record<string, unknown>, state: string | undefined): Record<string, unknown> {
  const {requestState: _old, inputResponses: _oldAnswers, ...rest} = params
  return {...rest, inputResponses: responses, ...(state !== undefined && {requestState: state})}
}

/** Each input request sent to a 2025 caller on its call's channel, at once; the answers by key. */
async function askCaller(env: CallEnv, upstream: string, inputRequests: Record<string, unknown>, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
  const entries = Object.entries(inputRequests)
  if (entries.length > MAX_INPUT_REQUESTS) throw Refusal.notSupported(`upstream ${upstream} asked for ${entries.length} inputs at once; at most ${MAX_INPUT_REQUESTS} are passed to a client`)
  const answers = await Promise.all(
    entries.map(([key, request]) => {
      const r = isPlainObject(request) ? request : {}
      if (typeof r.method !== 'string' || !INPUT_METHODS.has(r.method)) throw Refusal.notSupported(`upstream ${upstream} asked its client for '${String(r.method).slice(0, 64)}', which is not an input request`)
      return env.client!.request({method: r.method, params: isPlainObject(r.params) ? r.params : {}} as never, {signal}).then((answer) => [key, answer] as const)
    }),
  )
  return Object.fromEntries(answers)
}

function methodsOf(inputRequests: Record<string, unknown>): string {
  const methods = new Set(Object.values(inputRequests).map((r) => (isPlainObject(r) && typeof r.method === 'string' ? r.method : 'unknown')))
  return [...methods].join(', ').slice(0, 200)
}
