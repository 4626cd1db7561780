import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {getConfig} from '../../src/config/index.js'

export default class ConfigGet extends KeywardCommand {
  static override summary = "Print a server setting's value (or its default)."
  static override examples = ['<%= config.bin %> <%= command.id %> oauth.issuer', '<%= config.bin %> <%= command.id %> auth.methods --json']
  static override args = {key: positional('Setting key.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(ConfigGet)
    const {vault} = await openSession(flags)
    const entry = getConfig(vault.data, args.key)
    this.log(entry.value)
    return entry
  }
}
