/**
 * The runtime: everything the settings and the vault decide about how a request is served,
 * built in one step (`buildRuntime(settings, vault snapshot)`) and never changed afterwards:
 * the authenticators, the protection settings (body size, address lists, guard patterns, rates,
 * the audit's switches) and the redactors.
 *
 * A reload builds the next runtime and swaps it in whole, as the key index is swapped. A request
 * takes the runtime current when it arrives (`ctx.runtime`) and is served with it to the end,
 * its calls included: a reload never changes the rules under a request in flight. Two things
 * stay outside on purpose: the key index (live-vault.ts), which the API-key authenticator reads
 * newest-first so that a revocation applies to the very next credential check; and the catalog,
 * which tool sources change on their own and which the redacting wrapper reads the newest
 * runtime's redactor for.
 */
import {createHash} from 'node:crypto'

import {authMethods, authSettings, createAuthenticators, resourceMetadataUrl, type Authenticators, type VaultView} from '../auth/index.js'
import {effectiveConfig} from '../config/index.js'
import {KeywardError} from '../errors/index.js'
import {Redactor} from '../guard/redactor.js'
import {isLoopback} from '../net/addresses.js'
import {hostAllowed} from '../net/hosts.js'
import {parseSecretRef, resolveSecretRef} from '../secrets/ref.js'
import {vaultRedactor} from '../upstreams/index.js'
import type {VaultData} from '../vault/index.js'
import {MCP_PATH} from './defaults.js'
import type {VaultSnapshot} from './live-vault.js'
import type {Logger} from './log.js'
import {protectionFrom, type Protection} from './protection.js'

export interface Runtime {
  /** The effective settings: serve flags over the vault's `keyward config` over the defaults. */
  readonly config: ReadonlyMap<string, string>
  /** The vault generation this runtime was built from. */
  readonly generation: number
  readonly authenticators: Authenticators
  readonly protection: Protection
  /** What every result, error, notification and list passes through on its way to a client (none under guard.redact false). */
  readonly redactor: Redactor
  /** What keyward's own records pass through (audit, logged upstream output): every vault secret (upstream OAuth tokens included), whatever guard.redact says. */
  readonly logRedactor: Redactor
  /** HTTP with OAuth on: the RFC 9728 metadata URL that challenges point to, for a request with this Host. */
  resourceMetadataUrl(host?: string): string | undefined
  /**
   * The resource URL clients use: server.public-url, else the MCP URL on the Host the client used
   * when that is one the server answers to (http://localhost:PORT/mcp), else the listening URL.
   */
  resourceUrl(host?: string): string
  /** What the authenticators were built from (a hash): the next runtime keeps them when it matches, and with them OAuth's key and token caches. */
  readonly authBasis: string
}

/** What a runtime is built with besides the settings and the vault: facts of this server that no reload changes. */
export interface RuntimeEnv {
  transport: 'stdio' | 'http'
  host: string
  port: number
  /** The listening URL, once the server listens. */
  url(): string | undefined
  /** The Host values the server answers to, once it listens (--allowed-host and the bound address). */
  hosts?(): readonly string[]
  log: Logger
  /** The keys the API-key authenticator checks: always the newest vault's. */
  vault: VaultView
  /** Secrets in use that the vault does not have yet, redacted as its own are (upstream tokens held unsaved: TokenBroker.heldSecrets). */
  heldSecrets?(): [string, string][]
}

export function buildRuntime(config: ReadonlyMap<string, string>, snapshot: VaultSnapshot, env: RuntimeEnv, previous?: Runtime): Runtime {
  const listening = () => env.url() ?? `http://${env.host}:${env.port}${MCP_PATH}`
  const resourceUrl = (host?: string) => config.get('server.public-url') ?? (host !== undefined && hostAllowed(host, env.hosts?.() ?? []) ? `http://${host.toLowerCase()}${MCP_PATH}` : listening())
  const authBasis = authBasisOf(config, snapshot.data)
  const authenticators = previous?.authBasis === authBasis ? previous.authenticators : buildAuthenticators(config, snapshot.data, env, resourceUrl)
  const oauth = authenticators.types.includes('oauth2')
  const everySecret = vaultRedactor(snapshot.data, env.heldSecrets?.())
  return Object.freeze({
    config,
    generation: snapshot.generation,
    authenticators,
    protection: protectionFrom(config),
    redactor: config.get('guard.redact') === 'false' ? Redactor.none : everySecret,
    logRedactor: everySecret,
    resourceUrl,
    resourceMetadataUrl: (host?: string) => (oauth ? resourceMetadataUrl(resourceUrl(host)) : undefined),
    authBasis,
  })
}

function buildAuthenticators(config: ReadonlyMap<string, string>, data: VaultData, env: RuntimeEnv, resourceUrl: (host?: string) => string): Authenticators {
  const settings = authSettings(config, {resourceUrl, secret: (ref, setting) => resolveSecretRef(data, ref, setting), log: (message) => env.log('warn', `oauth: ${message}`)})
  const methods = env.transport === 'stdio' ? stdioMethods(settings.methods, env.log) : settings.methods
  if (methods.includes('none') && env.transport === 'http' && !isLoopback(env.host)) {
    throw new KeywardError('INVALID_INPUT', `--auth none is allowed on loopback only, not on ${env.host}`)
  }
  return createAuthenticators(methods, {vault: env.vault, oauth: settings.oauth, proxy: settings.proxy})
}

/** The settings, and a hash of every secret a setting names: a rotated client secret rebuilds the authenticators too. */
function authBasisOf(config: ReadonlyMap<string, string>, data: VaultData): string {
  const hash = createHash('sha256').update(JSON.stringify([...config]))
  for (const value of config.values()) {
    const name = parseSecretRef(value)
    const record = name === undefined ? undefined : data.secrets.get(name)
    if (record) hash.update(record.value)
  }
  return hash.digest('hex')
}

/** Over stdio the credential is an API key from the environment: token and proxy methods do not apply. */
function stdioMethods(methods: readonly string[], log: Logger): string[] {
  const usable: string[] = methods.filter((m) => m === 'api-key' || m === 'none')
  const dropped = methods.filter((m) => !usable.includes(m))
  if (dropped.length > 0) log('info', `over stdio the client's credential is an API key from the environment; ${dropped.join(', ')} do not apply`)
  if (usable.length === 0) throw new KeywardError('INVALID_INPUT', `auth.methods is ${methods.join(',')}, but over stdio only api-key (or none) can apply; add api-key`)
  return usable
}

/**
 * The current runtime, and the swap on a vault reload. A reload whose settings cannot be used
 * keeps the previous settings with the new vault (new secrets are still redacted); one that
 * cannot be built at all keeps the previous runtime. Either way the log says why.
 */
export class LiveRuntime {
  private value: Runtime

  constructor(
    private readonly overrides: Readonly<Record<string, string | undefined>>,
    private readonly env: RuntimeEnv,
    snapshot: VaultSnapshot,
  ) {
    this.value = buildRuntime(effectiveConfig(snapshot.data, overrides), snapshot, env)
  }

  readonly current = (): Runtime => this.value

  reload(snapshot: VaultSnapshot): void {
    const previous = this.value
    const {log} = this.env
    let config: ReadonlyMap<string, string> = previous.config
    try {
      config = keepAuthentication(previous.config, effectiveConfig(snapshot.data, this.overrides), log)
    } catch (err) {
      log('error', `the vault's settings cannot be used (${(err as Error).message}); keeping the previous ones`)
    }
    try {
      this.value = buildRuntime(config, snapshot, this.env, previous)
      if (!sameSettings(config, previous.config)) {
        log('info', `settings changed: authentication is now ${this.value.authenticators.types.join(', ') || 'none'}`)
      }
    } catch (err) {
      log('error', `the vault's new settings cannot be used (${(err as Error).message}); keeping the previous ones`)
      this.keepSettings(previous, snapshot)
    }
  }

  private keepSettings(previous: Runtime, snapshot: VaultSnapshot): void {
    try {
      this.value = buildRuntime(previous.config, snapshot, this.env, previous)
    } catch (err) {
      this.env.log('error', `the vault's protection settings cannot be used (${(err as Error).message}); keeping the previous ones`)
    }
  }
}

function sameSettings(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return JSON.stringify([...a]) === JSON.stringify([...b])
}

/**
 * A running server never drops authentication on a reload: auth.methods turned to none in the
 * vault keeps the methods in force, and says that serving without authentication takes a
 * restart with --auth none (which is refused off loopback).
 */
export function keepAuthentication(previous: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>, log: Logger): ReadonlyMap<string, string> {
  const before = authMethods(previous)
  if (!authMethods(next).includes('none') || before.includes('none')) return next
  log('warn', `auth.methods is now none in the vault, but a running server never drops authentication: it keeps ${before.join(', ')}. To serve without authentication (loopback only), restart it with --auth none`)
  return new Map([...next, ['auth.methods', previous.get('auth.methods') ?? before.join(',')]])
}
