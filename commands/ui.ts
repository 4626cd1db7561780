import {Flags} from '@oclif/core'

import {KeywardCommand} from '../src/cli/base.js'
import {openSession} from '../src/cli/session.js'
import {KeywardError} from '../src/errors/index.js'
import {parseDuration} from '../src/keys/index.js'

export default class Ui extends KeywardCommand {
  static override summary = 'Open the admin console in a browser: traffic, keys, secrets, upstreams and the audit log.'
  static override description = `Unlocks the vault as every command does, then serves the console on loopback only, at an address new at each run (a free port unless --port) and opens it in your browser (BROWSER, else the platform's opener) through a one-time login link. The link gives that browser a session (an HttpOnly, SameSite=Strict cookie) and then no longer works (nor does one left unused for 10 minutes); the session ends after --idle without use. Press Enter here for a new link; Ctrl-C stops the console.

The browser is given a private file (0600, under $XDG_STATE_HOME/keyward/ui) that leads to the link, so the link never shows on a command line. With --no-open the link is printed on stdout instead (with --json, as one JSON line per link: {"console","vault","login"}).

Changes made in the console are the CLI's (same checks, same vault writes, replicas told), audited with actor "ui" and your user name. Secret values and key hashes never reach the browser; a new key is shown once.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 8766 --no-open',
    '<%= config.bin %> <%= command.id %> --no-open --json   # one JSON line per login link: {"console","vault","login"}',
    'BROWSER=firefox <%= config.bin %> <%= command.id %> --idle 15m',
  ]

  static override enableJsonFlag = true

  static override flags = {
    port: Flags.integer({char: 'p', description: 'Port on the console\'s loopback address; 0 picks a free one.', default: 0, min: 0, max: 65_535}),
    'no-open': Flags.boolean({description: 'Do not open a browser: print the one-time login link on stdout.'}),
    idle: Flags.string({description: 'End the session after this long without use: 90s, 15m, 1h.', default: '30m'}),
  }

  async run() {
    const {flags} = await this.parse(Ui)
    const idleMs = parseDuration(flags.idle, '--idle')
    if (idleMs === 0) throw new KeywardError('INVALID_INPUT', '--idle 0 would end every session at once; give a duration such as 15m')
    const session = await openSession(flags, {actor: 'ui'})
    const [{openConsole, openInBrowser}, {stderrLogger}] = await Promise.all([import('../src/ui/index.js'), import('../src/server/log.js')])
    let link: {cleanup(): Promise<void>} | undefined
    const say = (line: string) => process.stderr.write(`${line}\n`)
    // Refusals are logged like serve's: a line repeated within 10 s is printed once, then counted.
    const log = stderrLogger(false, 2, 'keyward ui')
    const ui = await openConsole({
      session,
      port: flags.port,
      idleMs,
      version: this.config.version,
      redis: flags.redis,
      auditLog: flags['audit-log'],
      log: (line) => log('warn', line),
      onLogin: () => void link?.cleanup(),
    })
    const giveLink = async () => {
      const url = ui.console.loginUrl()
      await link?.cleanup()
      link = undefined
      if (!flags['no-open']) {
        try {
          link = await openInBrowser(url)
          say('Opened the console in your browser.')
          return
        } catch (err) {
          say(`keyward ui: could not open a browser (${(err as Error).message}); open this link yourself:`)
        }
      }
      process.stdout.write(this.jsonEnabled() ? `${JSON.stringify({console: ui.console.origin, vault: session.file, login: url})}\n` : `${url}\n`)
    }
    say(`keyward console on ${ui.console.origin} for vault ${session.file}. Press Enter for a new login link, Ctrl-C to stop.`)
    await giveLink()
    await untilStopped(giveLink)
    await ui.close()
    await link?.cleanup()
    await log.flush?.()
  }
}

/** Resolves on SIGINT or SIGTERM; on a terminal, each Enter asks for a new login link meanwhile. */
async function untilStopped(onEnter: () => Promise<void>): Promise<void> {
  let reader: import('node:readline').Interface | undefined
  if (process.stdin.isTTY) {
    const {createInterface} = await import('node:readline')
    reader = createInterface({input: process.stdin})
    reader.on('line', () => void onEnter())
  }
  await new Promise<void>((resolve) => {
    // 'on', not 'once': signal-exit (in proper-lockfile) re-raises a signal no other listener is left to handle.
    process.on('SIGINT', () => resolve())
    process.on('SIGTERM', () => resolve())
  })
  reader?.close()
}
