/** Shared by `serve` and `up`: the transport flags, and running the server until a signal. */
import {Flags} from '@oclif/core'

import type {AuthMethod} from '../auth/index.js'
import {DEFAULT_PORT} from '../server/defaults.js'
import type {ServeOptions} from '../server/options.js'
import {releaseStdout} from './output.js'
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
export type RunOptions = Omit<ServeOptions, 'log' | 'credential' | 'maxBodyBytes'> & {
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

function authLabel(auth: readonly AuthMethod[]): string {
  return auth.join(', ')
}

/** Starts the server and resolves when it has shut down after SIGTERM, SIGINT or (stdio) end of input. */
export async function runServer(options: RunOptions): Promise<void> {
  const {serve, stderrLogger, isLoopback, DEFAULT_MAX_BODY_BYTES} = await preloadServer()
  const log = stderrLogger(options.quiet)
  if (options.transport === 'http' && !isLoopback(options.host)) {
    log('warn', `binding ${options.host}: reachable from other machines. Put TLS in front, and list the public host name with --allowed-host`)
  }
  if (options.auth.includes('none')) log('warn', style.red('--auth none: NO AUTHENTICATION. Every caller gets every tool. For local development and conformance tests only.'))
  const credential = process.env.KEYWARD_API_KEY || process.env.MCP_API_KEY || undefined
  if (options.transport === 'stdio') releaseStdout()
  const {hint, quiet: _quiet, ...serveOptions} = options
  const server = await serve({...serveOptions, maxBodyBytes: DEFAULT_MAX_BODY_BYTES, credential, log})

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
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
    process.on('SIGHUP', () => {
      log('info', 'SIGHUP: reloading the vault')
      void server.reload()
    })
    void server.ended?.then(() => stop('input closed'))
  })
  if (server.url) {
    log('info', `listening on ${server.url} (${options.stateless ? 'stateless' : 'stateful'}, auth: ${authLabel(options.auth)})`)
    if (hint) {
      await log.flush?.()
      process.stderr.write(`${hint(server.url)}\n`)
    }
  } else {
    log('info', `serving MCP on stdio (auth: ${authLabel(options.auth)})`)
  }
  await stopped
}
