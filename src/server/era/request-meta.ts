/**
 * The per-request `_meta` of a 2026-07-28 request: its protocol version, client info and client
 * capabilities, validated before anything else reads them. A modern request carries no
 * session, so these are all the server knows of its client, and they count for this request
 * only (a capability declared on an earlier request is not remembered).
 *
 * Rules, as the revision (and the SDK v2, whose answers were checked on the wire) has them:
 * protocolVersion and clientCapabilities are required, clientInfo is optional but must be a
 * name and a version when present, logLevel is optional and one of the syslog levels. A
 * version this server does not serve is UNSUPPORTED_PROTOCOL_VERSION naming the supported ones; anything else wrong
 * is INVALID_PARAMS naming the key.
 */
import {CODE, type EraRefusal, isPlainObject, META, metaOf, MODERN_VERSIONS} from './protocol.js'

const LOG_LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'])

export interface RequestMeta {
  protocolVersion: string
  clientInfo?: {name: string; version: string; [key: string]: unknown}
  clientCapabilities: Record<string, unknown>
  logLevel?: string
  progressToken?: string | number
}

type Checked = {ok: true; meta: RequestMeta} | {ok: false; refusal: EraRefusal}

function invalid(key: string, problem: string): Checked {
  return {
    ok: false,
    refusal: {status: 400, code: CODE.INVALID_PARAMS, message: `Invalid _meta for protocol revision 2026-07-28: ${key}: ${problem}`, data: {envelope: {key, problem}}, reason: 'invalid_meta'},
  }
}

function checkClientInfo(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (!isPlainObject(value)) return 'must be an object'
  if (typeof value.name !== 'string' || value.name.length === 0) return 'name must be a non-empty string'
  if (typeof value.version !== 'string') return 'version must be a string'
  return undefined
}

/**
 * Validates the `_meta` of one modern request's params. `supported` lists the modern revisions
 * this server serves (2026-07-28).
 */
export function validateRequestMeta(params: unknown, supported: readonly string[] = MODERN_VERSIONS): Checked {
  const meta = metaOf(params)
  if (!meta) return invalid('_meta', 'missing')
  const version = meta[META.protocolVersion]
  if (version === undefined) return invalid(META.protocolVersion, 'missing')
  if (typeof version !== 'string') return invalid(META.protocolVersion, 'must be a string')
  if (!supported.includes(version)) {
    return {
      ok: false,
      refusal: {status: 400, code: CODE.UNSUPPORTED_PROTOCOL_VERSION, message: `Unsupported protocol version: ${version.slice(0, 40)}`, data: {supported: [...supported], requested: version.slice(0, 40)}, reason: 'unsupported_version'},
    }
  }
  const capabilities = meta[META.clientCapabilities]
  if (capabilities === undefined) return invalid(META.clientCapabilities, 'missing')
  if (!isPlainObject(capabilities)) return invalid(META.clientCapabilities, 'must be an object')
  const clientInfo = meta[META.clientInfo]
  const infoProblem = checkClientInfo(clientInfo)
  if (infoProblem) return invalid(META.clientInfo, infoProblem)
  const logLevel = meta[META.logLevel]
  if (logLevel !== undefined && (typeof logLevel !== 'string' || !LOG_LEVELS.has(logLevel))) return invalid(META.logLevel, 'must be a logging level')
  const token = meta.progressToken
  if (token !== undefined && typeof token !== 'string' && typeof token !== 'number') return invalid('progressToken', 'must be a string or a number')
  return {
    ok: true,
    meta: {
      protocolVersion: version,
      clientCapabilities: capabilities,
      ...(clientInfo !== undefined && {clientInfo: clientInfo as RequestMeta['clientInfo']}),
      ...(logLevel !== undefined && {logLevel: logLevel as string}),
      ...(token !== undefined && {progressToken: token as string | number}),
    },
  }
}

/** Which client capabilities each input request needs, as MISSING_CLIENT_CAPABILITY names them. */
const NEEDS: Record<string, (params: Record<string, unknown>) => Record<string, unknown>> = {
  'sampling/createMessage': () => ({sampling: {}}),
  'roots/list': () => ({roots: {}}),
  'elicitation/create': (params) => (params.mode === 'url' ? {elicitation: {url: {}}} : {elicitation: {form: {}}}),
}

/** Whether the declared capabilities cover `needed` (an empty form capability counts as form, as 2025 clients declare it). */
function declares(capabilities: Record<string, unknown>, needed: Record<string, unknown>): boolean {
  const [[name, sub]] = Object.entries(needed)
  const have = capabilities[name]
  if (!isPlainObject(have)) return false
  const [mode] = Object.keys(sub as object)
  if (!mode) return true
  return mode in have || (mode === 'form' && Object.keys(have).length === 0)
}

/**
 * MISSING_CLIENT_CAPABILITY when an input request (of an InputRequiredResult keyward is about to send) needs a
 * capability this request's `_meta` did not declare; undefined when all are covered.
 */
export function missingCapability(meta: RequestMeta, inputRequests: Record<string, {method: string; params?: unknown}>): EraRefusal | undefined {
  for (const [key, request] of Object.entries(inputRequests)) {
    const need = NEEDS[request.method]?.(isPlainObject(request.params) ? request.params : {})
    if (!need || declares(meta.clientCapabilities, need)) continue
    return {
      status: 400,
      code: CODE.MISSING_CLIENT_CAPABILITY,
      message: `Cannot request input '${key.slice(0, 64)}' (${request.method}): the request's client capabilities do not declare the required capability`,
      data: {requiredCapabilities: need},
      reason: 'missing_client_capability',
    }
  }
  return undefined
}
