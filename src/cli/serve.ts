/** Shared by `serve` and `up`: the transport flags, and running the server until a signal. */
import path from 'node:path'

import {Flags} from '@oclif/core'
import type {OptionFlag} from '@oclif/core/interfaces'

import {flaggedSettings, flagName} from '../config/index.js'
import {DEFAULT_PORT} from '../server/defaults.js'
import type {ServeOptions} from '../server/options.js'
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

/**
 * A serve flag for each server setting that has one (`oauth.issuer` -> `--oauth-issuer`), in the
 * SETTINGS help group: a flag beats the vault's `keyward config` for this run.
 */
export function settingFlags() {
  const flags: Record<string, OptionFlag<string | undefined>> = {}
  for (const setting of flaggedSettings()) {
    if (setting.key === 'auth.methods' || setting.key === 'redis.url') continue // those are --auth and the global --redis
    flags[flagName(setting.key)] = Flags.string({description: setting.description, helpGroup: 'SETTINGS (override keyward config for this run)'})
  }
  return flags
}

/** The settings the flags give: `--oauth-issuer X` -> {'oauth.issuer': 'X'}. */
export function settingsFrom(flags: Record<string, unknown>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const setting of flaggedSettings()) {
    const value = setting.key === 'auth.methods' ? flags.auth : setting.key === 'redis.url' ? flags.redis : flags[flagName(setting.key)]
    // A path given on the command line is relative to where the command runs; the setting keeps it absolute.
    if (typeof value === 'string') out[setting.key] = setting.kind === 'path' ? path.resolve(value) : value
  }
  return out
}

/** Starts the server and resolves when it has shut down after SIGTERM, SIGINT or (stdio) end of input. */
export async function runServer(options: RunOptions): Promise<void> {
  const {serve, stderrLogger, isLoopback} = await preloadServer()
  const log = stderrLogger(options.quiet)
  if (options.transport === 'http' && !isLoopback(options.host)) {
    log('warn', `binding ${options.host}: reachable from other machines. Put TLS in front, and list the public host name with --allowed-host`)
  }
  const credential = process.env.KEYWARD_API_KEY || process.env.MCP_API_KEY || undefined
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
}
