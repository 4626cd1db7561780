import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {newPassphrase} from '../../src/cli/unlock.js'
import {createKeyFile, describeSlot, exists, type KeyMaterial, loadKeyFile, PASSPHRASE_SLOT_ID, updateVault} from '../../src/vault/index.js'

export default class VaultPasswd extends KeywardCommand {
  static override summary = 'Change the passphrase, or add or remove a key file.'
  static override description = `Only the wrapping of the data key changes; secrets and keys are not re-encrypted under a new key (use \`keyward vault rotate\` for that).

With no flags, sets a new passphrase: asked twice on a terminal, or read from --new-passphrase-file or KEYWARD_NEW_PASSPHRASE. The vault itself is unlocked as usual (--key-file, --passphrase-file, KEYWARD_KEY_FILE, KEYWARD_PASSPHRASE or a prompt).`

  static override examples = [
    {description: 'Change the passphrase', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Add a key file (created if the path does not exist)', command: '<%= config.bin %> <%= command.id %> --add-key-file ~/.config/keyward/ci.key'},
    {description: 'Remove a key file slot, by path or slot id', command: '<%= config.bin %> <%= command.id %> --remove-key-file kf-1a2b3c4d5e6f7a8b'},
    {description: 'Switch from passphrase to key file only', command: '<%= config.bin %> <%= command.id %> --add-key-file ./vault.key --remove-passphrase'},
  ]

  static override flags = {
    'add-key-file': Flags.string({description: 'Let this key file unlock the vault; a new one is created (0600) if the path does not exist.'}),
    'remove-key-file': Flags.string({description: 'Remove the slot of this key file (a path or a slot id such as kf-...).'}),
    'remove-passphrase': Flags.boolean({description: 'Remove the passphrase slot.'}),
    'new-passphrase': Flags.boolean({description: 'Set a new passphrase (the default when no other flag is given).'}),
    'new-passphrase-file': Flags.string({description: 'Read the new passphrase from the first line of this file (mode 0600).'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(VaultPasswd)
    const session = await openSession(flags)
    const slotChanges = flags['add-key-file'] || flags['remove-key-file'] || flags['remove-passphrase']
    let passphrase: KeyMaterial | undefined
    if (flags['new-passphrase'] || flags['new-passphrase-file'] || !slotChanges) {
      passphrase = await newPassphrase({file: flags['new-passphrase-file'], env: 'KEYWARD_NEW_PASSPHRASE'}, 'pass --new-passphrase-file or set KEYWARD_NEW_PASSPHRASE')
    }
    let addKeyFile: KeyMaterial | undefined
    let createdKeyFile = false
    const addPath = flags['add-key-file']
    if (addPath) {
      createdKeyFile = !(await exists(addPath))
      addKeyFile = createdKeyFile ? await createKeyFile(addPath) : await loadKeyFile(addPath)
    }
    let removeId = flags['remove-key-file']
    if (removeId && !removeId.startsWith('kf-')) removeId = (await loadKeyFile(removeId)).slotId
    const header = await updateVault(session.file, session.material, async (vault) => {
      if (passphrase) await vault.addSlot(passphrase)
      if (addKeyFile) await vault.addSlot(addKeyFile)
      if (removeId) vault.removeSlot(removeId)
      if (flags['remove-passphrase']) vault.removeSlot(PASSPHRASE_SLOT_ID)
      return vault.header
    })
    const slots = header.slots.map((s) => describeSlot(s))
    if (passphrase) this.log('Passphrase changed.')
    if (addPath) this.log(`${createdKeyFile ? 'Created key file' : 'Added key file'} ${addPath}.`)
    if (removeId) this.log(`Removed key file slot ${removeId}.`)
    if (flags['remove-passphrase']) this.log('Removed the passphrase.')
    this.log(`The vault now unlocks with: ${slots.map((s) => s.summary).join('; ')}`)
    return {vault: session.file, slots}
  }
}
