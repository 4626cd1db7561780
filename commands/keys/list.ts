import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {keysTable} from '../../src/cli/keys.js'
import {openSession} from '../../src/cli/session.js'
import {keysOf, viewKey} from '../../src/keys/index.js'

export default class KeysList extends KeywardCommand {
  static override summary = 'List API keys: id, name, start, scopes, status, created, expires.'
  static override description = 'Revoked and expired keys are hidden unless --all is given. Keys themselves are never shown: keyward does not have them.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --all', '<%= config.bin %> <%= command.id %> --json']
  static override flags = {all: Flags.boolean({char: 'a', description: 'Include revoked and expired keys.'})}
  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(KeysList)
    const {vault} = await openSession(flags)
    const now = Date.now()
    const keys = [...keysOf(vault.data).values()]
      .map((r) => viewKey(r, now))
      .filter((v) => flags.all || v.status === 'active' || v.status === 'not_yet_valid')
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    if (!this.jsonEnabled()) {
      if (keys.length === 0) this.log(flags.all ? 'No API keys yet. Create one: keyward keys generate' : 'No active API keys. Create one: keyward keys generate (or see --all)')
      else this.log(keysTable(keys))
    }
    return {keys}
  }
}
