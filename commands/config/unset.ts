import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {unsetConfig} from '../../src/config/index.js'

export default class ConfigUnset extends KeywardCommand {
  static override summary = 'Remove a server setting from the vault (its default applies again).'
  static override examples = ['<%= config.bin %> <%= command.id %> oauth.audience']
  static override args = {key: positional('Setting key.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(ConfigUnset)
    const session = await openSession(flags)
    const {result: before, written} = await session.updateDetailed((vault) => unsetConfig(vault.data, args.key))
    if (written) await session.audit({event: 'config.unset', setting: args.key})
    this.log(written ? `${args.key} removed (was ${before})` : `${args.key} was not set`)
    return {key: args.key, previous: before ?? null, changed: written}
  }
}
