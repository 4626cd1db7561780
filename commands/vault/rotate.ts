import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {slotSecrets} from '../../src/cli/unlock.js'
import {keysOf} from '../../src/keys/index.js'

export default class VaultRotate extends KeywardCommand {
  static override summary = 'Replace the data key and re-encrypt everything under the new one.'
  static override description = `Every unlock slot must be re-wrapped with the new data key, so each slot's secret is needed: the one that unlocks the vault, KEYWARD_KEY_FILE, KEYWARD_PASSPHRASE, the default key file, a prompt for the passphrase slot, and --other-key-file for further key files. --drop-other-slots removes the slots whose secret is not given.

Old copies of the vault (the .bak, backups) still open with the secrets they had, and show the contents as they were then; the old data key opens no later version.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --key-file ~/.config/keyward/vault.key',
    '<%= config.bin %> <%= command.id %> --key-file ./a.key --other-key-file ./b.key',
    '<%= config.bin %> <%= command.id %> --key-file ./a.key --drop-other-slots',
  ]

  static override flags = {
    'other-key-file': Flags.string({description: 'Another key file whose slot should be kept.', multiple: true}),
    'drop-other-slots': Flags.boolean({description: 'Remove the slots whose secret was not supplied.'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(VaultRotate)
    const session = await openSession(flags)
    const secrets = await slotSecrets(session.material, session.vault.header, flags, {keepPassphrase: !flags['drop-other-slots']})
    const result = await session.update(async (vault) => {
      const slots = await vault.rekey({secrets, dropOthers: flags['drop-other-slots']})
      return {kept: slots.kept, dropped: slots.dropped, secrets: vault.data.secrets.size, keys: keysOf(vault.data).size}
    })
    this.log(`Rotated the data key of ${session.file}: ${result.secrets} secrets and ${result.keys} API keys re-encrypted.`)
    this.log(`Slots kept: ${result.kept.join(', ')}` + (result.dropped.length > 0 ? `; dropped: ${result.dropped.join(', ')}` : ''))
    this.log(`Old copies (${session.file}.bak, backups) still open with the secrets they had, showing the contents as they were.`)
    await session.audit({event: 'vault.rotate'})
    return {vault: session.file, ...result}
  }
}
