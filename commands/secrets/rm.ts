import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {confirmed} from '../../src/cli/input.js'
import {openSession} from '../../src/cli/session.js'
import {KeywardError} from '../../src/errors/index.js'
import {describeSecret, removeSecret} from '../../src/secrets/index.js'

export default class SecretsRm extends KeywardCommand {
  static override summary = 'Delete a secret.'
  static override description = 'Asks for confirmation on a terminal; --yes skips it (and is required without a terminal). The value stays, encrypted, in <vault>.bak (the previous version) until the next change to the vault.'
  static override examples = ['<%= config.bin %> <%= command.id %> GITHUB_TOKEN', '<%= config.bin %> <%= command.id %> GITHUB_TOKEN --yes']
  static override args = {name: positional('Secret name.')}
  static override flags = {yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(SecretsRm)
    const session = await openSession(flags)
    describeSecret(session.vault.data, args.name) // fails early when there is nothing to remove
    if (!(await confirmed(flags.yes, `Delete secret ${args.name}? This cannot be undone.`))) {
      throw new KeywardError('CANCELLED', 'cancelled; nothing was changed')
    }
    const removed = await session.update((vault) => removeSecret(vault.data, args.name))
    await session.audit({event: 'secret.rm', secret: removed.name})
    this.log(`Deleted secret ${removed.name}; it remains, encrypted, in ${session.file}.bak until the next change`)
    return {removed}
  }
}
