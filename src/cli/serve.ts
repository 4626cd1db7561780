/** Shared by `serve` and `up`: the transport flags, and running the server until a signal. */
import path from 'node:path'

import {Flags} from '@oclif/core'
import type {OptionFlag} from '@oclif/core/interfaces'

import {flaggedSettings, flagName, prefixSettings, type Setting} from '../config/index.js'
import {KeywardError} from '../errors/index.js'
import {DEFAULT_PORT} from '../server/defaults.js'
import {liveChildren, type LiveChild} from '../server/gateway/live-children.js'
import type {Logger} from '../server/log.js'
import type {ServeOptions} from '../server/options.js'
import {readPrivateFile} from '../vault/index.js'
import {clientKeyFromEnv} from './client-key.js'
import {releaseStdout} from './output.js'
import {announceServe} from './serve-registry.js'
import {style} from './style.js'

export const httpFlags = {
  host: Flags.string({description: 'Address to bind (HTTP). Anything but loopback is warned about.', default: '127.0.0.1'}),
  port: Flags.integer({char: 'p', description: 'Port to listen on (HTTP); 0 picks a free one.', default: DEFAULT_PORT, min: 0, max: 65_535}),
  stateless: Flags.boolean({description: 'Stateless Streamable HTTP: no sessions, every POST stands alone.'}),
  'allowed-host': Flags.string({description: 'Extra Host header value to accept (DNS-rebinding protection); repeatable.', multiple: true}),
  'no-watch': Flags.boolean({description: 'Do not watch the vault file; reload only on SIGHUP (for file systems without change events, such as NFS).'}),
  quiet: Flags.boolean({char: 'q', description: 'Log only warnings and errors.'}),
}

/** The server options that the shared HTTP flags carry. */
export function httpOptions(flags: {host: string; port: number; stateless: boolean; 'allowed-host'?: string[]; 'no-watch': boolean; quiet: boolean}) {
  return {host: flags.host, port: flags.port, stateless: flags.stateless, allowedHosts: flags['allowed-host'] ?? [], watch: !flags['no-watch'], quiet: flags.quiet}
}

/** What a command passes: the server's options without what runServer supplies (logger, stdio credential). */
export type RunOptions = Omit<ServeOptions, 'log' | 'credential'> & {
  quiet: boolean
  /** Printed once the server listens, with its real URL. */
  hint?: (url: string) => string
}

let serverModule: Promise<typeof import('../server/index.js')> | undefined

/** Starts loading the server (and the MCP SDK) now, so that it overlaps with unlocking the vault. */
export function preloadServer(): Promise<typeof import('../server/index.js')> {
  serverModule ??= import('../server/index.js')
  return serverModule
}

function authLabel(types: readonly string[]): string {
  return types.length === 0 ? 'none' : types.join(', ')
}

const SETTINGS_GROUP = 'SETTINGS (override keyward config for this run)'

/**
 * A serve flag for each server setting (`oauth.issuer` -> `--oauth-issuer`), in the SETTINGS help
 * group: a flag beats the vault's `keyward config` for this run. A setting that takes a name
 * (`proxy.scope-map.GROUP`) has one repeatable flag that takes NAME=VALUE:
 * `--proxy-scope-map admins=full`, as oclif cannot parse a flag name that varies.
 */
export function settingFlags() {
  const flags: Record<string, OptionFlag<string | undefined> | OptionFlag<string[] | undefined>> = {}
  for (const setting of flaggedSettings()) {
    // Those are --auth, and the global --redis and --audit-log (defined once, in the base command).
    if (setting.key === 'auth.methods' || setting.key === 'redis.url' || setting.key === 'audit.path') continue
    flags[flagName(setting.key)] = Flags.string({description: setting.description, helpGroup: SETTINGS_GROUP})
  }
  for (const setting of prefixSettings()) {
    flags[flagName(setting.key)] = Flags.string({
      description: `${setting.description} For this run: NAME=VALUE for ${setting.key}NAME; repeatable.`,
      helpGroup: SETTINGS_GROUP,
      multiple: true,
    })
  }
  return flags
}

/** `--proxy-scope-map admins=full` -> ['proxy.scope-map.admins', 'full']; the name ends at the first `=`. */
function prefixedSetting(setting: Setting, item: string): [string, string] {
  const eq = item.indexOf('=')
  if (eq <= 0) {
    const flag = `--${flagName(setting.key)}`
    throw new KeywardError('INVALID_INPUT', `${flag} takes NAME=VALUE (the setting ${setting.key}NAME), such as ${flag} ${prefixExample(setting)}`)
  }
  return [`${setting.key}${item.slice(0, eq)}`, item.slice(eq + 1)]
}

function prefixExample(setting: Setting): string {
  return setting.kind === 'rate' ? 'NAME=10/min' : 'NAME=SCOPES'
}

/** The settings the flags give: `--oauth-issuer X` -> {'oauth.issuer': 'X'}; `--proxy-scope-map admins=full` -> {'proxy.scope-map.admins': 'full'}. */
export function settingsFrom(flags: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const setting of flaggedSettings()) {
    const value = setting.key === 'auth.methods' ? flags.auth : setting.key === 'redis.url' ? flags.redis : flags[flagName(setting.key)]
    // A path given on the command line is relative to where the command runs; the setting keeps it absolute.
    if (typeof value === 'string') out[setting.key] = setting.kind === 'path' ? path.resolve(value) : value
  }
  for (const setting of prefixSettings()) {
    const items = flags[flagName(setting.key)]
    if (!Array.isArray(items)) continue
    for (const item of items as string[]) {
      const [key, value] = prefixedSetting(setting, item)
      out[key] = value
    }
  }
  return out
}

/**
 * The client's key over stdio: KEYWARD_API_KEY, or the file KEYWARD_API_KEY_FILE names (checked
 * as key files are: not readable by others, in a directory no one else can write to), else
 * MCP_API_KEY. The file keeps the key out of a client config that may be committed.
 */
export async function stdioCredential(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const file = env.KEYWARD_API_KEY_FILE
  if (!file) return clientKeyFromEnv(env)
  if (env.KEYWARD_API_KEY) throw new KeywardError('INVALID_INPUT', 'both KEYWARD_API_KEY and KEYWARD_API_KEY_FILE are set; keep one of them')
  const key = (await readPrivateFile(file, 'API key file')).toString('utf8').trim()
  if (key === '' || /\s/.test(key)) throw new KeywardError('INVALID_INPUT', `API key file ${file} does not hold one key; write the key alone, on one line`)
  return key
}

/** Starts the server and resolves when it has shut down after SIGTERM, SIGINT or (stdio) end of input. */
export async function runServer(options: RunOptions): Promise<void> {
  const {serve, stderrLogger, isLoopback} = await preloadServer()
  const log = stderrLogger(options.quiet)
  if (options.transport === 'http' && !isLoopback(options.host)) {
    log('warn', `binding ${options.host}: reachable from other machines. Put TLS in front, and list the public host name with --allowed-host`)
  }
  const credential = options.transport === 'stdio' ? await stdioCredential() : clientKeyFromEnv()
  if (options.transport === 'stdio') releaseStdout()
  const {hint, quiet: _quiet, ...serveOptions} = options
  const server = await serve({...serveOptions, credential, log})
  if (server.auth().length === 0) log('warn', style.red('auth none: NO AUTHENTICATION. Every caller gets every tool. For local development and conformance tests only.'))

  // Handlers go in before the "listening" line, so a supervisor that signals on it is heard.
  const stopped = new Promise<void>((resolve) => {
    let closing = false
    const stop = (why: string) => {
      if (closing) return
      closing = true
      log('info', `${why}: shutting down`)
      server
        .close()
        .then(() => log.flush?.())
        .finally(resolve)
    }
    // 'on', not 'once': signal-exit (in proper-lockfile) re-raises a signal that no other listener is left to handle.
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    process.on('SIGHUP', () => {
      log('info', 'SIGHUP: reloading the vault')
      void server.reload()
    })
    void server.ended?.then(() => stop('input closed'))
  })
  let forget: (() => Promise<void>) | undefined
  if (server.url) {
    // So that `keyward ui` finds this server; a registry that cannot be written costs only that.
    forget = await announceServe(options.vaultFile, server.url, options.version).catch((err: Error) => {
      log('warn', `keyward ui will not see this server: ${err.message}`)
      return undefined
    })
    log('info', `listening on ${server.url} (${options.stateless ? 'stateless' : 'stateful'}, auth: ${authLabel(server.auth())})`)
    if (hint) {
      await log.flush?.()
      process.stderr.write(`${hint(server.url)}\n`)
    }
  } else {
    log('info', `serving MCP on stdio (auth: ${authLabel(server.auth())})`)
  }
  await stopped
  await forget?.().catch(() => {})
  exitIfHeld(EXIT_GRACE_MS, log)
}

/** How long a shut-down server may wait for the last of its handles to close by themselves. */
export const EXIT_GRACE_MS = 3000

/**
 * Once shut down (the audit log written out), the process ends by itself when nothing holds it.
 * Something may still: a shutdown step left behind at its deadline (shutdown.ts), an upstream
 * process whose pipes stay open. A stopped server must not live on because of it, so after
 * `graceMs` it exits anyway, saying so and naming what held it (`held`); its upstream processes
 * end with it (the lifeline in child-wrapper.ts). The timer holds nothing itself.
 */
export function exitIfHeld(graceMs: number, log: Logger, exit: (code: number) => void = (code) => process.exit(code), held: () => string = heldBy): NodeJS.Timeout {
  const timer = setTimeout(() => {
    log('warn', `shut down, but something still held the process after ${graceMs / 1000} s; exiting (held by ${held()})`)
    void Promise.resolve(log.flush?.(500)).finally(() => exit(typeof process.exitCode === 'number' ? process.exitCode : 0))
  }, graceMs)
  timer.unref()
  return timer
}

/**
 * What holds the process, for the line above: its active handles counted by kind (`2 PipeWrap,
 * 1 ProcessWrap`), and the upstream processes still running by name and pid. Nothing else of
 * them (no argv, no environment), so no secret.
 */
export function heldBy(resources: readonly string[] = process.getActiveResourcesInfo(), children: readonly LiveChild[] = liveChildren()): string {
  const counts = new Map<string, number>()
  for (const kind of resources) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  const handles = [...counts].map(([kind, n]) => `${n} ${kind}`).join(', ') || 'no active handle'
  if (children.length === 0) return `${handles}; no upstream process`
  const described = children.map((c) => `${c.upstream} pid ${c.pid} (${c.exited ? 'exited, a pipe still open' : c.closing ? 'asked to stop, still running' : 'never asked to stop'})`)
  return `${handles}; upstream processes: ${described.join(', ')}`
}
