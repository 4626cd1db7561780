import {Flags} from '@oclif/core'

import {optionalPositional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {confirmed} from '../../src/cli/input.js'
import {canPrompt} from '../../src/cli/prompt.js'
import {openSession} from '../../src/cli/session.js'
import {KeywardError} from '../../src/errors/index.js'
import {findKey, keysOf, keyStatus, revokeKey, viewKey} from '../../src/keys/index.js'

export default class KeysRevoke extends KeywardCommand {
  static override summary = 'Revoke an API key, permanently.'
  static override description = `The key stops working at once, including in a running \`keyward serve\` (it reloads the vault). The revocation time and reason are recorded. On a terminal with no argument, pick the key from a list. Asks for confirmation unless --yes.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ci-bot --reason "laptop lost"',
    '<%= config.bin %> <%= command.id %> 3hT9x0aB2cDe --yes',
    {description: 'Pick from a list (terminal only)', command: '<%= config.bin %> <%= command.id %>'},
  ]

  static override args = {key: optionalPositional('Key id or name; omit it on a terminal to pick from a list.')}
  static override flags = {
    reason: Flags.string({char: 'r', description: 'Why the key is revoked (recorded).'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(KeysRevoke)
    if (!args.key && !canPrompt()) throw new KeywardError('INPUT_REQUIRED', 'name the key to revoke (id or name); there is no terminal to pick one on')
    const session = await openSession(flags)
    let ref = args.key
    if (!ref) {
      const now = Date.now()
      const candidates = [...keysOf(session.vault.data).values()].filter((r) => keyStatus(r, now) !== 'revoked')
      if (candidates.length === 0) throw new KeywardError('NOT_FOUND', 'there is no key left to revoke')
      const {askSelect} = await import('../../src/cli/prompt.js')
      ref = await askSelect(
        'Key to revoke:',
        candidates.map((r) => ({name: `${r.name} (${r.id}) ${r.scopes.join(' ')}`, value: r.id})),
      )
    }
    const target = findKey(session.vault.data, ref)
    if (!(await confirmed(flags.yes, `Revoke API key ${target.name} (${target.id})? Clients using it are cut off, permanently.`))) {
      throw new KeywardError('CANCELLED', 'cancelled; nothing was changed')
    }
    const record = await session.update((vault) => revokeKey(vault.data, target.id, flags.reason))
    await session.audit({event: 'key.revoke', key: record.id, name: record.name, ...(flags.reason ? {reason: flags.reason} : {})})
    this.log(`Revoked API key ${record.name} (${record.id}) at ${record.revoked!.at}`)
    return {key: viewKey(record)}
  }
}
