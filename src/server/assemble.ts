/**
 * The one place the stage lists are assembled. Adding a stage means adding it here, and nowhere
 * else: the transports run whatever the lists hold.
 *
 *   request, per HTTP request:
 *     [extra] -> log refusals -> Host/Origin -> HTTP method -> query credential -> authenticate
 *     -> read body (413) -> parse one JSON-RPC message -> session (stateful HTTP)
 *   request, per stdio line (read already, so parsed before the credential is checked):
 *     [extra] -> log refusals -> read body (413) -> parse -> authenticate
 *   message, per JSON-RPC message:
 *     [extra] -> check params -> OAuth scope (HTTP: 403 insufficient_scope)
 *   call, per tools/call, prompts/get, resources/read:
 *     [extra] -> authorize (scopes) -> validate input -> execute
 */
import type {Authenticators} from '../auth/index.js'
import type {CallContext, MessageContext, RequestContext} from './context.js'
import type {Logger} from './log.js'
import type {ServeOptions} from './options.js'
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
}

export function assembleStages(deps: StageDeps): StageLists {
  const {options, log} = deps
  const http = options.transport === 'http'
  const extra = options.extraStages ?? {}
  const request: Stage<RequestContext>[] = http
    ? [
        ...(extra.request ?? []),
        logRefusals(log),
        guardHostOrigin(deps.hosts),
        allowMethods(deps.sessions ? ['GET', 'POST', 'DELETE'] : ['POST']),
        refuseQueryCredentials(),
        authenticate(deps.authenticators),
        readBody(options.maxBodyBytes),
        parseMessage(),
        ...(deps.sessions ? [bindSession(deps.sessions)] : []),
      ]
    : [...(extra.request ?? []), logRefusals(log), readBody(options.maxBodyBytes), parseMessage(), authenticate(deps.authenticators)]
  const message: Stage<MessageContext>[] = [...(extra.message ?? []), checkParams(), ...(http ? [requireScope(deps.authenticators, deps.resourceMetadataUrl)] : [])]
  const call: Stage<CallContext>[] = [...(extra.call ?? []), authorize(deps.catalog), validateInput(), execute(deps.info, log)]
  return {request, message, call}
}
