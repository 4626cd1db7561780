/**
 * The one place the stage lists are assembled. Adding a stage means adding it here, and nowhere
 * else: the transports run whatever the lists hold, and nothing refuses a request outside them.
 * Stages an embedder adds (`extraStages`) run just inside the audit stages, so their refusals
 * are recorded like any other.
 *
 *   request, per HTTP request:
 *     audit -> log refusals -> [extra] -> address guard -> Host/Origin -> HTTP method
 *     -> query credential -> auth-failure throttle -> authenticate -> read body (413)
 *     -> parse one JSON-RPC message -> era (2025 or 2026-07-28, its checks) -> Mcp-Param
 *     headers (2026-07-28 tools/call) -> session (stateful HTTP, 2025 only) -> Streamable HTTP headers
 *   request, per stdio line (read already, so parsed before the credential is checked):
 *     audit -> log refusals -> [extra] -> read body (413) -> parse -> authenticate -> era
 *   message, per JSON-RPC message:
 *     [extra] -> rate limit -> check params -> OAuth scope (HTTP: 403 insufficient_scope)
 *   call, per tools/call, prompts/get, resources/read:
 *     audit -> [extra] -> authorize (scopes) -> argument patterns -> validate input -> execute
 *
 * Every stage reads the request's runtime (ctx.runtime); none holds settings of its own.
 */
import type {Principal} from '../auth/index.js'
import type {RateLimits} from '../ratelimit/limits.js'
import type {CallContext, MessageContext, RequestContext} from './context.js'
import type {Logger} from './log.js'
import type {Stage} from './pipeline/chain.js'
import type {StageLists} from './pipeline/pipeline.js'
import {rateFor, rateKey} from './protection.js'
import type {Runtime} from './runtime.js'
import {auditCalls} from './stages/audit-calls.js'
import {auditRequests, type AuditTrail} from './stages/audit-requests.js'
import {authenticate} from './stages/authenticate.js'
import {authorize} from './stages/authorize.js'
import {checkParams} from './stages/check-params.js'
import {detectEra} from './stages/era.js'
import {execute} from './stages/execute.js'
import {guardAddresses} from './stages/guard-addresses.js'
import {guardArguments} from './stages/guard-arguments.js'
import {guardHostOrigin} from './stages/host-origin.js'
import {allowMethods} from './stages/http-method.js'
import {logRefusals} from './stages/log-refusals.js'
import {checkMcpParamHeaders} from './stages/param-headers.js'
import {parseMessage} from './stages/parse-message.js'
import {refuseQueryCredentials} from './stages/query-credential.js'
import {limitRates} from './stages/rate-limit.js'
import {readBody} from './stages/read-body.js'
import {requireScope} from './stages/require-scope.js'
import {bindSession} from './stages/session.js'
import {checkStreamableHeaders} from './stages/streamable-headers.js'
import {throttleAuthFailures} from './stages/throttle-auth-failures.js'
import {validateInput} from './stages/validate-input.js'
import type {Catalog} from './tools/catalog.js'
import type {ServerInfo} from './tools/source.js'
import type {SessionStore} from './transports/sessions.js'

export interface StageDeps {
  transport: 'stdio' | 'http'
  /** For embedding and tests: stages added to each list. */
  extra?: Partial<StageLists>
  catalog: Catalog
  info: ServerInfo
  log: Logger
  /** HTTP: the Host values to accept, known once the server listens. */
  hosts: () => readonly string[]
  /** Stateful HTTP: the session store. */
  sessions?: SessionStore
  limits: RateLimits
  audit: AuditTrail
}

export function assembleStages(deps: StageDeps): StageLists {
  const {log, limits, audit} = deps
  const extra = deps.extra ?? {}
  const http = deps.transport === 'http'
  const outer: Stage<RequestContext>[] = [auditRequests(audit), logRefusals(log), ...(extra.request ?? [])]
  const request: Stage<RequestContext>[] = http
    ? [
        ...outer,
        guardAddresses(),
        guardHostOrigin(deps.hosts),
        allowMethods(deps.sessions ? ['GET', 'POST', 'DELETE'] : ['POST']),
        refuseQueryCredentials(),
        throttleAuthFailures(limits),
        authenticate(),
        readBody(),
        parseMessage(),
        detectEra('http'),
        checkMcpParamHeaders(deps.catalog),
        ...(deps.sessions ? [bindSession(deps.sessions)] : []),
        checkStreamableHeaders(),
      ]
    : [...outer, readBody(), parseMessage(), authenticate(), detectEra('stdio')]
  const message: Stage<MessageContext>[] = [...(extra.message ?? []), limitRates(limits), checkParams(), ...(http ? [requireScope()] : [])]
  const allowance = (principal: Principal, runtime: Runtime) => limits.peek('principal', rateKey(principal), rateFor(principal, runtime.protection))
  const call: Stage<CallContext>[] = [
    auditCalls(audit),
    ...(extra.call ?? []),
    authorize(deps.catalog),
    guardArguments(log),
    validateInput(log),
    execute(deps.info, log, allowance),
  ]
  return {request, message, call}
}
