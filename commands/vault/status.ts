import {promises as fs} from 'node:fs'

import {KeywardCommand} from '../../src/cli/base.js'
import {resolveUnlock} from '../../src/cli/unlock.js'
import {isKeywardError} from '../../src/errors/index.js'
import {keyCounts} from '../../src/keys/index.js'
import {describeSlot, exists, GenerationLedger, generationOf, headerOf, isSymlink, openVault, readWithLedger, resolveVaultPath} from '../../src/vault/index.js'

export default class VaultStatus extends KeywardCommand {
  static override summary = 'Show where the vault is, how it is locked, and what it holds; never a secret.'
  static override description = 'Counts of secrets and keys need the vault unlocked; without an unlock secret (and no terminal to ask on) only the header is shown.'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --vault ./team.vault.json --json']
  static override enableJsonFlag = true

  async run() {
    const {flags} = await this.parse(VaultStatus)
    const given = flags.vault || process.env.KEYWARD_VAULT
    const file = resolveVaultPath(flags.vault)
    const ledger = new GenerationLedger()
    const read = await readWithLedger(file, ledger)
    const header = headerOf(read.envelope)
    const stat = await fs.stat(file)
    let counts: {secrets: number; keys: ReturnType<typeof keyCounts>} | undefined
    let locked: string | undefined
    try {
      const material = await resolveUnlock(header, file, flags)
      const vault = await openVault(file, material, {read, ledger})
      counts = {secrets: vault.data.secrets.size, keys: keyCounts(vault.data)}
    } catch (err) {
      if (!isKeywardError(err) || err.code !== 'INPUT_REQUIRED') throw err
      locked = err.message
    }
    const status = {
      vault: file,
      format: `${header.format} v${header.version}`,
      cipher: header.cipher,
      vaultId: header.vault_id,
      created: header.created,
      generation: generationOf(header),
      linkedFrom: given && isSymlink(given) ? given : null,
      modified: stat.mtime.toISOString(),
      bytes: stat.size,
      mode: (stat.mode & 0o777).toString(8).padStart(4, '0'),
      backup: (await exists(`${file}.bak`)) ? `${file}.bak` : null,
      slots: header.slots.map((s) => describeSlot(s)),
      counts: counts ?? null,
    }
    if (!this.jsonEnabled()) {
      const line = (label: string, value: string) => this.log(`${label.padEnd(11)}${value}`)
      line('Vault', `${file} (mode ${status.mode}, ${stat.size} bytes)`)
      line('Format', `${status.format}, ${header.cipher}`)
      line('Vault id', header.vault_id)
      if (status.linkedFrom) line('Link', `${status.linkedFrom} -> ${file}`)
      line('Created', header.created)
      line('Generation', String(status.generation))
      line('Modified', status.modified)
      line('Backup', status.backup ?? 'none yet')
      status.slots.forEach((s, i) => line(i === 0 ? 'Unlock' : '', `${s.summary}, added ${s.created}`))
      if (counts) {
        line('Secrets', String(counts.secrets))
        const k = counts.keys
        line('API keys', `${k.active} active, ${k.revoked} revoked, ${k.expired} expired, ${k.not_yet_valid} not yet valid`)
      } else {
        line('Contents', `locked (${locked})`)
      }
    }
    return status
  }
}
