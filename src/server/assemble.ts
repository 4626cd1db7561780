/**
 * The one place the stage lists are assembled. Adding a stage means adding it here, and nowhere
 * else: the transports run whatever the lists hold.
 *
 *   request, per HTTP request:
 *     [extra] -> audit -> log refusals -> address guard -> Host/Origin -> HTTP method
 *     -> query credential -> auth-failure throttle -> authenticate -> read body (413)
 *     -> parse one JSON-RPC message -> session (stateful HTTP)
 *   request, per stdio line (read already, so parsed before the credential is checked):
 *     [extra] -> audit -> log refusals -> read body (413) -> parse -> authenticate
 *   message, per JSON-RPC message:
 *     [extra] -> rate limit -> check params -> OAuth scope (HTTP: 403 insufficient_scope)
 *   call, per tools/call, prompts/get, resources/read:
 *     [extra] -> audit -> authorize (scopes) -> argument patterns -> validate input -> redact -> execute
 */
import type {Authenticators, Principal} from '../auth/index.js'
import type {CallContext, MessageContext, RequestContext} from './context.js'
import type {Logger} from './log.js'
import type {ServeOptions} from './options.js'
import {rateFor, rateKey, type Protection} from './protection.js'
import type {RateLimits} from '../ratelimit/limits.js'
import type {Stage} from './pipeline/chain.js'
import type {StageLists} from './pipeline/pipeline.js'
import {authenticate} from './stages/authenticate.js'
import {authorize} from './stages/authorize.js'
import {checkParams} from './stages/check-params.js'
import {execute} from './stages/execute.js'
import {guardHostOrigin} from './stages/host-origin.js'
import {allowMethods} from './stages/http-method.js'
import {logRefusals} from './stages/log-refusals.js'
import {parseMessage} from './stages/parse-message.js'
import {refuseQueryCredentials} from './stages/query-credential.js'
import {readBody} from './stages/read-body.js'
import {requireScope} from './stages/require-scope.js'
import {bindSession} from './stages/session.js'
import {validateInput} from './stages/validate-input.js'
import {auditCalls} from './stages/audit-calls.js'
import {auditRequests, type AuditTrail} from './stages/audit-requests.js'
import {guardAddresses} from './stages/guard-addresses.js'
import {guardArguments} from './stages/guard-arguments.js'
import {limitRates} from './stages/rate-limit.js'
import {redactResults} from './stages/redact.js'
import {throttleAuthFailures} from './stages/throttle-auth-failures.js'
import type {Catalog} from './tools/catalog.js'
import type {ServerInfo} from './tools/source.js'
import type {SessionStore} from './transports/sessions.js'

export interface StageDeps {
  options: ServeOptions
  /** The current authenticators (rebuilt when the vault's settings change). */
  authenticators: () => Authenticators
  /** HTTP with OAuth: the protected resource metadata URL. */
  resourceMetadataUrl: () => string | undefined
  catalog: Catalog
  info: ServerInfo
  log: Logger
  /** HTTP: the Host values to accept, known once the server listens. */
  hosts: () => readonly string[]
  /** Stateful HTTP: the session store. */
  sessions?: SessionStore
  /** Rates, guard and redaction, as the vault's settings are now. */
  protection: () => Protection
  limits: RateLimits
  audit: AuditTrail
}

export function assembleStages(deps: StageDeps): StageLists {
  const {options, log, protection, limits, audit} = deps
  const http = options.transport === 'http'
  const extra = options.extraStages ?? {}
  const failClosed = () => protection().audit.failClosed
  const maxBody = () => protection().maxBody
  const request: Stage<RequestContext>[] = http
    ? [
        ...(extra.request ?? []),
        auditRequests(audit, failClosed),
        logRefusals(log),
        guardAddresses(protection),
        guardHostOrigin(deps.hosts),
        allowMethods(deps.sessions ? ['GET', 'POST', 'DELETE'] : ['POST']),
        refuseQueryCredentials(),
        throttleAuthFailures(limits, protection),
        authenticate(deps.authenticators),
        readBody(maxBody),
        parseMessage(),
        ...(deps.sessions ? [bindSession(deps.sessions)] : []),
      ]
    : [...(extra.request ?? []), auditRequests(audit, failClosed), logRefusals(log), readBody(maxBody), parseMessage(), authenticate(deps.authenticators)]
  const message: Stage<MessageContext>[] = [
    ...(extra.message ?? []),
    limitRates(limits, protection),
    checkParams(),
    ...(http ? [requireScope(deps.authenticators, deps.resourceMetadataUrl)] : []),
  ]
  const allowance = (principal: Principal) => limits.peek('principal', rateKey(principal), rateFor(principal, protection()))
  const call: Stage<CallContext>[] = [
    ...(extra.call ?? []),
    auditCalls(audit, protection),
    authorize(deps.catalog),
    guardArguments(protection, log),
    validateInput(log),
    redactResults(protection),
    execute(deps.info, log, allowance),
  ]
  return {request, message, call}
}
