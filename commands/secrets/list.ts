import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {renderTable, shortTime} from '../../src/cli/table.js'
import {listSecrets} from '../../src/secrets/index.js'

export default class SecretsList extends KeywardCommand {
  static override summary = 'List secret names and descriptions; never values.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']
  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(SecretsList)
    const {vault} = await openSession(flags)
    const secrets = listSecrets(vault.data)
    if (!this.jsonEnabled()) {
      if (secrets.length === 0) this.log('No secrets yet. Add one: keyward secrets set NAME')
      else this.log(renderTable(['NAME', 'DESCRIPTION', 'CREATED', 'UPDATED'], secrets.map((s) => [s.name, s.description ?? '', shortTime(s.created), shortTime(s.updated)])))
    }
    return {secrets}
  }
}
