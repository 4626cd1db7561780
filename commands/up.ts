import {KeywardCommand} from '../src/cli/base.js'
import {keyOnce} from '../src/cli/keys.js'
import {httpFlags, httpOptions, runServer, settingsFrom} from '../src/cli/serve.js'
import {resolveUnlock} from '../src/cli/unlock.js'
import {ensureAuditKey} from '../src/audit/key.js'
import {ensureRequestStateKey} from '../src/server/era/state-key.js'
import {recordAdminAction} from '../src/cli/session.js'
import {createKey, keyCounts, keysOf} from '../src/keys/index.js'
import {createKeyFile, createVault, defaultKeyFilePath, exists, GenerationLedger, headerOf, type KeyMaterial, loadKeyFile, openVault, readVault, resolveVaultPath, updateVault, type VaultData} from '../src/vault/index.js'

export default class Up extends KeywardCommand {
  static override summary = 'Quick start: make a local vault and a first key if needed, then serve MCP over HTTP.'
  static override description = `On first run this creates the vault ($XDG_DATA_HOME/keyward/vault.json) and a key file that opens it ($XDG_CONFIG_HOME/keyward/vault.key, 0600; the two live apart so a copy of the vault does not carry its key). If the vault has no active API key, it makes one with the full preset and shows it once. Then it runs \`keyward serve --transport http\` on 127.0.0.1.

Later runs reuse the vault and its keys. An existing vault is opened as usual (--key-file, KEYWARD_KEY_FILE, KEYWARD_PASSPHRASE, the default key file, or a prompt).`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --port 9000', '<%= config.bin %> <%= command.id %> --vault ./dev.vault.json --key-file ./dev.key']

  static override flags = {...httpFlags}

  async run() {
    const {flags} = await this.parse(Up)
    const vaultFile = resolveVaultPath(flags.vault)
    const say = (line: string) => process.stderr.write(`${line}\n`)
    let material: KeyMaterial
    const ledger = new GenerationLedger()
    if (await exists(vaultFile)) {
      material = await resolveUnlock(headerOf(await readVault(vaultFile)), vaultFile, flags)
    } else {
      const keyFile = flags['key-file'] || process.env.KEYWARD_KEY_FILE || defaultKeyFilePath()
      const created = !(await exists(keyFile))
      material = created ? await createKeyFile(keyFile) : await loadKeyFile(keyFile)
      await createVault(vaultFile, [material], {force: false, ledger, initialize: (data) => (ensureAuditKey(data), ensureRequestStateKey(data))})
      say(`Created vault ${vaultFile}`)
      say(`${created ? 'Created key file' : 'It opens with key file'} ${keyFile} (0600): it opens the vault, keep it out of the vault's backups.`)
    }
    const hasKey = keyCounts((await openVault(vaultFile, material, {ledger})).data).active > 0
    const issued = hasKey
      ? undefined
      : await updateVault(
          vaultFile,
          material,
          (vault) => {
            ensureAuditKey(vault.data)
            ensureRequestStateKey(vault.data)
            return {...createKey(vault.data, {name: freeName(vault.data, 'first-key'), scopes: ['full'], description: 'made by keyward up'}), data: vault.data, vaultId: vault.header.vault_id}
          },
          {ledger},
        )
    if (issued) {
      say(`Made API key ${issued.record.name} (${issued.record.id}) with the full preset; make narrower ones with \`keyward keys generate\`.`)
      await this.deliver(keyOnce(issued.key, false, {}), () => updateVault(vaultFile, material, (vault) => keysOf(vault.data).delete(issued.record.id), {ledger}))
      await recordAdminAction({data: issued.data, vaultId: issued.vaultId}, {event: 'key.generate', key: issued.record.id, name: issued.record.name, scopes: issued.record.scopes}, flags['audit-log'])
    } else {
      say('Using the API keys already in the vault (see `keyward keys list`).')
    }
    await runServer({
      ...httpOptions(flags),
      vaultFile,
      material,
      transport: 'http',
      // The global --audit-log holds for the server it starts, as for its own admin record.
      settings: {'audit.path': settingsFrom(flags)['audit.path']},
      version: this.config.version,
      hint: (url) =>
        `Try it (with KEY set to your key):\n  curl -s ${url} -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\\n    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'\nSee the README for client configs. Ctrl-C stops the server.`,
    })
  }
}

function freeName(data: VaultData, base: string): string {
  const taken = new Set([...keysOf(data).values()].map((r) => r.name))
  let name = base
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`
  return name
}
