import {Flags} from '@oclif/core'

import {ensureAuditKey} from '../src/audit/key.js'
import {ensureRequestStateKey} from '../src/server/era/state-key.js'
import {KeywardCommand} from '../src/cli/base.js'
import {newPassphrase} from '../src/cli/unlock.js'
import {KeywardError} from '../src/errors/index.js'
import {createKeyFile, createVault, describeSlot, exists, GenerationLedger, type KeyMaterial, loadKeyFile, resolveVaultPath} from '../src/vault/index.js'

export default class Init extends KeywardCommand {
  static override summary = 'Create a new encrypted vault.'
  static override description = `The vault opens with a passphrase (asked twice on a terminal, or taken from --passphrase-file or KEYWARD_PASSPHRASE) or with a key file: --key-file-out creates a new one (0600), --key-file / KEYWARD_KEY_FILE reuses an existing one. Any combination adds one unlock slot each.

An existing vault is never replaced without --force; with it, the old vault is kept as <vault>.<time>.bak (a new file each time, never overwritten), and the path is printed.`

  static override examples = [
    {description: 'Passphrase, asked at a prompt', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'A new key file, for servers and scripts', command: '<%= config.bin %> <%= command.id %> --key-file-out ~/.config/keyward/vault.key'},
    {description: 'A vault at another path', command: '<%= config.bin %> <%= command.id %> --vault ./team.vault.json --key-file-out ./team.key'},
  ]

  static override flags = {
    'key-file-out': Flags.string({description: 'Create a new key file at this path and let it unlock the vault.'}),
    force: Flags.boolean({description: 'Replace an existing vault (the old one is kept as <vault>.<time>.bak).'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(Init)
    const file = resolveVaultPath(flags.vault)
    if (!flags.force && (await exists(file))) {
      throw new KeywardError('ALREADY_EXISTS', `a vault already exists at ${file}; pass --force to replace it (the old one is kept as a timestamped backup)`)
    }
    // Any unlock flag given here beats the unlock variables of the environment, which may be set for another vault.
    const flagGiven = Boolean(flags['key-file'] || flags['passphrase-file'] || flags['key-file-out'])
    const keyFile = flags['key-file'] || (flagGiven ? undefined : process.env.KEYWARD_KEY_FILE)
    const materials: KeyMaterial[] = []
    if (keyFile) materials.push(await loadKeyFile(keyFile))
    const alternative = 'pass --passphrase-file or set KEYWARD_PASSPHRASE, or pass --key-file-out PATH to use a key file instead'
    if (flags['passphrase-file']) materials.push(await newPassphrase({file: flags['passphrase-file']}, alternative))
    else if (!flagGiven && process.env.KEYWARD_PASSPHRASE) materials.push(await newPassphrase({env: 'KEYWARD_PASSPHRASE'}, alternative))
    else if (!keyFile && !flags['key-file-out']) materials.push(await newPassphrase({}, alternative))
    const keyFileOut = flags['key-file-out']
    if (keyFileOut) materials.push(await createKeyFile(keyFileOut))
    let created
    try {
      // The audit log's MAC key and the request-state key are born with the vault, so that no server ever has to write one into its copy.
      created = await createVault(file, materials, {force: flags.force, ledger: new GenerationLedger(), initialize: bornWithTheVault})
    } catch (err) {
      // A key file that opens nothing would only confuse; remove the one just made.
      if (keyFileOut) await import('node:fs').then((fs) => fs.promises.rm(keyFileOut, {force: true}))
      throw err
    }
    const slots = created.vault.header.slots.map((s) => describeSlot(s))
    this.log(`Created vault ${file}`)
    for (const slot of slots) this.log(`  unlocks with: ${slot.summary}`)
    if (created.backup) this.log(`The vault it replaced is kept as ${created.backup}; it still opens with its old secret. Delete it once you are sure.`)
    if (keyFileOut) this.log(`Key file ${keyFileOut} (0600) opens it: keep it apart from the vault and its backups.`)
    this.log(`Next: store a secret with \`keyward secrets set NAME\`, or make an API key with \`keyward keys generate --name NAME --scope readonly\``)
    return {vault: file, keyFile: keyFileOut, slots, replacedBackup: created.backup}
  }
}

/** The keys a vault is born with: the audit log's MAC key, and the key that seals requestState tokens. */
function bornWithTheVault(data: Parameters<typeof ensureAuditKey>[0]): void {
  ensureAuditKey(data)
  ensureRequestStateKey(data)
}
