import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {confirmed} from '../../src/cli/input.js'
import {openSession} from '../../src/cli/session.js'
import {viewUpstream} from '../../src/cli/upstreams.js'
import {KeywardError} from '../../src/errors/index.js'
import {findUpstream, removeUpstream} from '../../src/upstreams/index.js'
import {removePins} from '../../src/upstreams/pin-store.js'

export default class UpstreamRm extends KeywardCommand {
  static override summary = 'Remove an upstream; a running keyward serve stops it. Its secrets stay in the vault.'
  static override examples = ['<%= config.bin %> <%= command.id %> github', '<%= config.bin %> <%= command.id %> github --yes']
  static override args = {name: positional('Upstream name.')}
  static override flags = {yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamRm)
    const session = await openSession(flags)
    findUpstream(session.vault.data, args.name)
    if (!(await confirmed(flags.yes, `Remove upstream ${args.name}? Clients lose its tools.`))) throw new KeywardError('CANCELLED', 'cancelled; nothing was changed')
    const removed = await session.update((vault) => {
      // Its pins go with it: an upstream added again under this name is seen afresh.
      removePins(vault.data, args.name)
      return removeUpstream(vault.data, args.name)
    })
    await session.audit({event: 'upstream.rm', upstream: removed.name})
    this.log(`Removed upstream ${removed.name}; its secrets stay in the vault (\`keyward secrets rm\` removes them).`)
    return {removed: viewUpstream(removed)}
  }
}
