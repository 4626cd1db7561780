import {Flags} from '@oclif/core'

import {optionalPositional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {confirmed} from '../../src/cli/input.js'
import {resolveUnlock} from '../../src/cli/unlock.js'
import {KeywardError} from '../../src/errors/index.js'
import {notifyReplicas} from '../../src/cli/replicas.js'
import {keepAuditKey} from '../../src/audit/key.js'
import {recordAdminAction} from '../../src/cli/session.js'
import {GenerationLedger, headerOf, readVault, resolveRealPath, resolveVaultPath, restoreVault} from '../../src/vault/index.js'

export default class VaultRestore extends KeywardCommand {
  static override summary = 'Put a backup back in place as the live vault, or accept a copy already put there.'
  static override description = `Copying an old vault over the live one is refused as a rollback (exit 12): it would bring back revoked keys and removed secrets. This is the way to do it on purpose. FILE (default: <vault>.bak) must open with the unlock secret given as usual; it is written as the live vault with a generation above every one seen, so the CLI and running servers accept it. The version it replaces is kept as <vault>.<time>.bak.

To accept a copy you already put in the vault's place, name the vault itself as FILE.`

  static override examples = [
    {description: 'Go back to the previous version', command: '<%= config.bin %> <%= command.id %> --yes'},
    {description: 'Restore a timestamped backup', command: '<%= config.bin %> <%= command.id %> ~/.local/share/keyward/vault.json.2026-11-26T10-00-00-000Z.bak'},
    {description: 'Accept a copy already in place', command: '<%= config.bin %> <%= command.id %> ~/.local/share/keyward/vault.json --yes'},
  ]

  static override args = {file: optionalPositional('The backup to restore (default: <vault>.bak).')}
  static override flags = {yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation.'})}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(VaultRestore)
    const file = resolveVaultPath(flags.vault)
    const source = args.file ? resolveRealPath(args.file) : `${file}.bak`
    const envelope = await readVault(source)
    const material = await resolveUnlock(headerOf(envelope), source, flags)
    const what = source === file ? `accept ${file} as it is now` : `replace ${file} with ${source}`
    if (!(await confirmed(flags.yes, `${what[0].toUpperCase()}${what.slice(1)}? Keys revoked and secrets changed since then come back as they were.`))) {
      throw new KeywardError('CANCELLED', 'cancelled; nothing was changed')
    }
    const restored = await restoreVault(file, source, material, new GenerationLedger(), keepAuditKey)
    await recordAdminAction({data: restored.vault.data, vaultId: restored.vault.header.vault_id}, {event: 'vault.restore', from: source, generation: restored.to}, flags['audit-log'])
    await notifyReplicas(file, restored.vault.data, [], flags.redis)
    this.log(`Restored ${source} as ${file} (generation ${restored.from}, now ${restored.to}).`)
    if (restored.backup && source !== file) this.log(`The version it replaced is kept as ${restored.backup}.`)
    return {vault: file, from: source, generation: restored.to, replacedBackup: restored.backup ?? null}
  }
}
