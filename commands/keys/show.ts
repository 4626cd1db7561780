import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {keyDetails} from '../../src/cli/keys.js'
import {openSession} from '../../src/cli/session.js'
import {findKey, viewKey} from '../../src/keys/index.js'

export default class KeysShow extends KeywardCommand {
  static override summary = 'Show one API key record (never the key itself).'
  static override examples = ['<%= config.bin %> <%= command.id %> ci-bot', '<%= config.bin %> <%= command.id %> 3hT9x0aB2cDe --json']
  static override args = {key: positional('Key id or name.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(KeysShow)
    const {vault} = await openSession(flags)
    const view = viewKey(findKey(vault.data, args.key))
    this.log(keyDetails(view))
    return {key: view}
  }
}
