import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {checkIsolation} from '../../src/cli/pins.js'
import {openSession} from '../../src/cli/session.js'
import {ALLOW_PATH_HELP, applyIsolation, isolationFlag, isolationSummary, networkFlag, sharingSummary, withIsolation} from '../../src/cli/upstream-isolation.js'
import {viewUpstream} from '../../src/cli/upstreams.js'
import {KeywardError} from '../../src/errors/index.js'
import {findUpstream, isolationOf, upstreamsOf} from '../../src/upstreams/index.js'

export default class UpstreamSet extends KeywardCommand {
  static override summary = 'Change how an upstream is contained: its sandbox, the paths it may see, its network, who shares its process.'
  static override description = `A running keyward serve restarts the upstream with the new settings within a second. A sandboxed upstream never starts unsandboxed: where the sandbox cannot start (not Linux, no bubblewrap, no user namespaces), --sandbox on is refused here, and serve reports the upstream down with the reason.

--allow-path adds a path (or changes its mode), --remove-path takes one away. --network off leaves a sandboxed upstream no network at all, not even the host's loopback.

--isolation shared|key|session: who shares one process of it (or one MCP session, for an HTTP upstream): every client session, the sessions of one API key or principal, or none. Its running processes are replaced. See docs/gateway.md, "Sharing".`
  static override examples = [
    {description: 'Sandbox an upstream', command: '<%= config.bin %> <%= command.id %> github --sandbox on'},
    {description: 'Let a sandboxed file server see one directory, read-write', command: '<%= config.bin %> <%= command.id %> files --allow-path /srv/docs:rw'},
    {description: 'No network for it', command: '<%= config.bin %> <%= command.id %> files --network off'},
    {description: 'One process per client session (it keeps per-client state)', command: '<%= config.bin %> <%= command.id %> browser --isolation session'},
  ]

  static override args = {name: positional('Upstream name.')}
  static override flags = {
    sandbox: Flags.option({options: ['on', 'off'] as const, description: 'on: run it under bubblewrap (Linux only); off: as keyward’s user, with a private HOME.'})(),
    'allow-path': Flags.string({description: ALLOW_PATH_HELP, multiple: true}),
    'remove-path': Flags.string({description: 'A path to take away from what it may see; repeatable.', multiple: true}),
    network: networkFlag(),
    isolation: isolationFlag(),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamSet)
    if (!flags.sandbox && !flags['allow-path'] && !flags['remove-path'] && !flags.network && !flags.isolation) {
      throw new KeywardError('INVALID_INPUT', 'nothing to change: give --sandbox on|off, --allow-path, --remove-path, --network on|off or --isolation shared|key|session')
    }
    const session = await openSession(flags)
    const change = {sandbox: flags.sandbox ? flags.sandbox === 'on' : undefined, allow: flags['allow-path'], remove: flags['remove-path'], network: flags.network}
    await checkIsolation(applyIsolation(findUpstream(session.vault.data, args.name), change))
    const def = await session.update((vault) => {
      const next = {...withIsolation(applyIsolation(findUpstream(vault.data, args.name), change), flags.isolation), updated: new Date().toISOString()}
      upstreamsOf(vault.data).set(next.name, next)
      return next
    })
    await session.audit({event: 'upstream.set', upstream: def.name, isolation: isolationOf(def), ...(def.transport === 'stdio' ? {sandbox: def.sandbox === true, network: def.network !== false, allow_paths: (def.allowPaths ?? []).length} : {})})
    this.log(`Upstream ${def.name}: ${isolationSummary(def)}; ${sharingSummary(def)}. A running keyward serve restarts it within a second.`)
    return {upstream: viewUpstream(def)}
  }
}
