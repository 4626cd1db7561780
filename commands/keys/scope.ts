import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {KeywardError} from '../../src/errors/index.js'
import {changeScopes, viewKey} from '../../src/keys/index.js'
import {expandScopes} from '../../src/policy/index.js'

export default class KeysScope extends KeywardCommand {
  static override summary = "Change an API key's scopes; prints them before and after."
  static override description = `--set replaces the whole list; --remove then --add edit it. Patterns and presets as in \`keys generate\`. A running server applies the change within a second. A change that changes nothing leaves the vault untouched.`
  static override examples = [
    '<%= config.bin %> <%= command.id %> ci-bot --add "github__*"',
    '<%= config.bin %> <%= command.id %> ci-bot --add "!debug_info"',
    '<%= config.bin %> <%= command.id %> ci-bot --remove list_*',
    '<%= config.bin %> <%= command.id %> ci-bot --set readonly --set echo',
  ]

  static override args = {key: positional('Key id or name.')}
  static override flags = {
    add: Flags.string({description: 'Add a pattern or preset; repeatable.', multiple: true}),
    remove: Flags.string({description: 'Remove a pattern or preset; repeatable.', multiple: true}),
    set: Flags.string({description: 'Replace all scopes; repeatable.', multiple: true}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(KeysScope)
    if (!flags.add && !flags.remove && !flags.set) throw new KeywardError('INVALID_INPUT', 'nothing to change: give --add, --remove or --set')
    for (const list of [flags.add, flags.remove, flags.set]) if (list) expandScopes(list)
    const session = await openSession(flags)
    const {result, written} = await session.updateDetailed((vault) => changeScopes(vault.data, args.key, {add: flags.add, remove: flags.remove, set: flags.set}))
    if (written) await session.audit({event: 'key.scope', key: result.record.id, name: result.record.name, before: result.before, after: result.after})
    const {record, before, after} = result
    this.log(`Scopes of ${record.name} (${record.id})${written ? '' : ': unchanged'}`)
    this.log(`  before: ${before.join(' ')}`)
    this.log(`  after:  ${after.join(' ')}`)
    return {key: viewKey(record), before, after, changed: written}
  }
}
