import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {renderTable} from '../../src/cli/table.js'
import {listConfig, SETTINGS} from '../../src/config/index.js'

export default class ConfigList extends KeywardCommand {
  static override summary = 'List the server settings in the vault; --all adds defaults and every key there is.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --all', '<%= config.bin %> <%= command.id %> --json']
  static override flags = {all: Flags.boolean({char: 'a', description: 'Also show defaults, and the keys that can be set.'})}
  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(ConfigList)
    const {vault} = await openSession(flags)
    const settings = listConfig(vault.data, flags.all)
    if (!this.jsonEnabled()) {
      if (settings.length === 0 && !flags.all) this.log('No settings in the vault; every default applies. See `keyward config list --all`.')
      else this.log(renderTable(['KEY', 'VALUE', 'FROM'], settings.map((s) => [s.key, s.value, s.source])))
      if (flags.all) {
        this.log('\nKeys:')
        for (const s of SETTINGS) this.log(`  ${`${s.key}${s.prefix ? '<NAME>' : ''}`.padEnd(28)} ${s.description}`)
      }
    }
    return {settings, keys: flags.all ? SETTINGS.map((s) => ({key: s.prefix ? `${s.key}<NAME>` : s.key, description: s.description, default: s.default ?? null})) : undefined}
  }
}
