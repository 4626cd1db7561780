import {Flags} from '@oclif/core'

import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {newPassphrase, slotSecrets} from '../../src/cli/unlock.js'
import {createKeyFile, describeSlot, exists, type KeyMaterial, loadKeyFile, PASSPHRASE_SLOT_ID} from '../../src/vault/index.js'

export default class VaultPasswd extends KeywardCommand {
  static override summary = 'Change the passphrase, or add or remove a key file.'
  static override description = `Changing or removing a passphrase or key file also replaces the data key and re-encrypts everything, so that the old secret opens no current version of the vault. Old copies (the .bak, backups) still open with the old secret, and show the contents as they were then. The version replaced is also kept as <vault>.<time>.bak (unless --no-backup): delete it once the new secret works.

A new data key must be wrapped for every slot that stays, so each one's secret is needed: the one that unlocks the vault, KEYWARD_KEY_FILE, KEYWARD_PASSPHRASE, the default key file, --other-key-file, or a prompt for the passphrase. --drop-other-slots removes the slots whose secret is not given. Adding a key file needs no new data key.

With no flags, sets a new passphrase: asked twice on a terminal, or read from --new-passphrase-file or KEYWARD_NEW_PASSPHRASE.`

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
    'other-key-file': Flags.string({description: 'Another key file whose slot should stay (its secret is needed for the new data key).', multiple: true}),
    'drop-other-slots': Flags.boolean({description: 'Remove the slots whose secret was not given, instead of refusing.'}),
    'no-backup': Flags.boolean({description: 'Do not keep the replaced version as <vault>.<time>.bak.'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(VaultPasswd)
    const session = await openSession(flags)
    const slotChanges = flags['add-key-file'] || flags['remove-key-file'] || flags['remove-passphrase']
    let passphrase: KeyMaterial | undefined
    if (flags['new-passphrase'] || flags['new-passphrase-file'] || !slotChanges) {
      const file = flags['new-passphrase-file']
      passphrase = await newPassphrase(file ? {file} : {env: 'KEYWARD_NEW_PASSPHRASE'}, 'pass --new-passphrase-file or set KEYWARD_NEW_PASSPHRASE')
    }
    let addKeyFile: KeyMaterial | undefined
    let createdKeyFile = false
    const addPath = flags['add-key-file']
    if (addPath) {
      createdKeyFile = !(await exists(addPath))
      addKeyFile = createdKeyFile ? await createKeyFile(addPath) : await loadKeyFile(addPath)
    }
    const remove: string[] = []
    const removeRef = flags['remove-key-file']
    if (removeRef) remove.push(removeRef.startsWith('kf-') ? removeRef : (await loadKeyFile(removeRef)).slotId)
    if (flags['remove-passphrase']) remove.push(PASSPHRASE_SLOT_ID)
    const rekey = Boolean(passphrase || remove.length > 0)
    const secrets = rekey
      ? await slotSecrets(session.material, session.vault.header, flags, {keepPassphrase: !passphrase && !flags['remove-passphrase']})
      : []
    let outcome
    try {
      outcome = await session.updateDetailed(
        async (vault) => {
          if (!rekey) {
            await vault.addSlot(addKeyFile!)
            return {header: vault.header, dropped: [] as string[]}
          }
          const add = [passphrase, addKeyFile].filter((m): m is KeyMaterial => m !== undefined)
          const {dropped} = await vault.rekey({secrets, add, remove, dropOthers: flags['drop-other-slots']})
          return {header: vault.header, dropped}
        },
        {timestampedBackup: rekey && !flags['no-backup']},
      )
    } catch (err) {
      if (createdKeyFile && addPath) await import('node:fs').then((fs) => fs.promises.rm(addPath, {force: true}))
      throw err
    }
    const now = outcome.result.header.slots.map((s) => describeSlot(s))
    await session.audit({event: 'vault.passwd', new_data_key: rekey, slots: now.map((s) => s.summary)})
    if (passphrase) this.log('Passphrase changed.')
    if (addPath) this.log(`${createdKeyFile ? 'Created key file' : 'Added key file'} ${addPath}.`)
    if (removeRef) this.log(`Removed key file slot ${remove[0]}.`)
    if (flags['remove-passphrase']) this.log('Removed the passphrase.')
    if (outcome.result.dropped.length) this.log(`Dropped slots whose secret was not given: ${outcome.result.dropped.join(', ')}.`)
    this.log(`The vault now unlocks with: ${now.map((s) => s.summary).join('; ')}`)
    if (rekey) {
      this.log(`New data key: the old secret opens no current version of ${session.file}.`)
      this.log(`Old copies still open with the old secret and show the contents as they were: ${session.file}.bak${outcome.backup ? `, ${outcome.backup}` : ''}, and any backup. Delete them once the new secret works.`)
    }
    return {vault: session.file, slots: now, newDataKey: rekey, backup: outcome.backup ?? null, dropped: outcome.result.dropped}
  }
}
