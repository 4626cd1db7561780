import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {canPrompt} from '../../src/cli/prompt.js'
import {openSession} from '../../src/cli/session.js'
import {readPassphraseFile} from '../../src/cli/unlock.js'
import {KeyMaterial, loadKeyFile, updateVault} from '../../src/vault/index.js'

export default class VaultRotate extends KeywardCommand {
  static override summary = 'Replace the data key and re-encrypt everything under the new one.'
  static override description = `Every unlock slot must be re-wrapped with the new data key, so each slot's secret is needed: the one that unlocks the vault, --passphrase-file, KEYWARD_PASSPHRASE or a prompt for the passphrase slot, and --other-key-file for further key files. Slots whose secret is not given are kept only if you supply it; --drop-other-slots removes them instead.`

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
    const materials: KeyMaterial[] = [session.material]
    for (const file of flags['other-key-file'] ?? []) materials.push(await loadKeyFile(file))
    const header = session.vault.header
    const needsPassphrase = session.material.kind !== 'passphrase' && header.slots.some((s) => s.type === 'passphrase')
    if (needsPassphrase && !flags['drop-other-slots']) {
      const given = flags['passphrase-file'] ? await readPassphraseFile(flags['passphrase-file']) : process.env.KEYWARD_PASSPHRASE
      if (given) {
        materials.push(new KeyMaterial({kind: 'passphrase', passphrase: given, origin: 'passphrase'}))
      } else if (canPrompt()) {
        const {askSecret} = await import('../../src/cli/prompt.js')
        const passphrase = await askSecret('Vault passphrase (to keep the passphrase slot):', 'pass --passphrase-file or set KEYWARD_PASSPHRASE')
        materials.push(new KeyMaterial({kind: 'passphrase', passphrase, origin: 'prompt'}))
      }
    }
    const result = await updateVault(session.file, session.material, async (vault) => {
      const slots = await vault.rotateDataKey(materials, flags['drop-other-slots'])
      return {...slots, secrets: vault.data.secrets.size, keys: vault.data.keys.size}
    })
    this.log(`Rotated the data key of ${session.file}: ${result.secrets} secrets and ${result.keys} API keys re-encrypted.`)
    this.log(`Slots kept: ${result.kept.join(', ')}` + (result.dropped.length > 0 ? `; dropped: ${result.dropped.join(', ')}` : ''))
    return {vault: session.file, ...result}
  }
}
