import {promises as fs} from 'node:fs'
import path from 'node:path'

import {Flags} from '@oclif/core'

import {positional} from '../src/cli/args.js'
import {KeywardCommand} from '../src/cli/base.js'
import {openSession} from '../src/cli/session.js'
import {fileError, KeywardError} from '../src/errors/index.js'
import {createKey, keysOf} from '../src/keys/index.js'
import {setSecret} from '../src/secrets/index.js'
import {addUpstream, upstreamsOf} from '../src/upstreams/index.js'
import {planImport, rewrittenConfig, type ImportPlan} from '../src/upstreams/import-config.js'
import {createPrivateFile, defaultKeyFilePath, exists, loadKeyFile, replaceOtherFile} from '../src/vault/index.js'

export default class ImportConfig extends KeywardCommand {
  static override summary = 'Move the MCP servers of a client config, and their plaintext secrets, into keyward.'
  static override description = `Reads the "mcpServers" of Claude Desktop, Claude Code (.mcp.json) and Cursor, or the "servers" of VS Code. Each server becomes an upstream; each env value and each credential header becomes a vault secret (named SERVER_VAR). The new config starts \`keyward serve --transport stdio\` with a new key scoped to the imported servers, and the vault's key file.

Dry run by default: prints the plan and the new config. --write makes the secrets, upstreams and key, keeps the original file as FILE.keyward-backup-<time> (0600), and replaces FILE with the new config, which holds no secret of the old one. Delete the backup once the new config works.

Entries that already run keyward, or have no command or URL, are reported and left as they are.`

  static override examples = [
    {description: 'See what would happen', command: '<%= config.bin %> <%= command.id %> ~/Library/Application\\ Support/Claude/claude_desktop_config.json'},
    {description: 'Do it', command: '<%= config.bin %> <%= command.id %> ~/.config/Claude/claude_desktop_config.json --write'},
    {description: 'A project .mcp.json (Claude Code)', command: '<%= config.bin %> <%= command.id %> .mcp.json --write'},
  ]

  static override args = {file: positional('The client config file.')}
  static override flags = {
    write: Flags.boolean({description: 'Carry the plan out (default: only show it).'}),
    'key-name': Flags.string({description: 'Name of the new API key (default: the config file name).'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(ImportConfig)
    const file = path.resolve(args.file)
    let text: string
    try {
      text = await fs.readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeywardError('INVALID_INPUT', `${file} does not exist`)
      throw fileError(err, 'config file', file)
    }
    let config: Record<string, unknown>
    try {
      config = JSON.parse(text) as Record<string, unknown>
    } catch {
      throw new KeywardError('INVALID_INPUT', `${file} is not plain JSON (comments and trailing commas are not read); remove them and run again`)
    }
    const session = await openSession(flags)
    const plan = planImport(config, file, {upstreams: new Set(upstreamsOf(session.vault.data).keys()), secrets: new Set(session.vault.data.secrets.keys())})
    const keyFile = await this.keyFileFor(session.material.source.kind === 'keyfile' ? session.material.source.origin : undefined, session.vault.header)
    const keyName = flags['key-name'] ?? freeKeyName(session.vault.data, `import-${path.basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 40)}`)
    const bin = path.resolve(this.config.root, 'bin', 'run.js')
    const keywardEntry = (key: string) => ({command: process.execPath, args: [bin, 'serve', '--transport', 'stdio'], env: {KEYWARD_API_KEY: key, KEYWARD_KEY_FILE: keyFile}})
    const scopes = scopesFor(plan, upstreamsOf(session.vault.data).size === 0)
    if (!flags.write) {
      const preview = rewrittenConfig(config, plan, keywardEntry('<a new key, made by --write>'))
      if (!this.jsonEnabled()) {
        this.report(plan, file)
        this.log(`\nWith --write, ${file} becomes:\n${JSON.stringify(preview, null, 2)}`)
      }
      return {file, dryRun: true, upstreams: plan.upstreams.map((u) => u.name), secrets: plan.secrets.map((s) => s.name), skipped: plan.skipped, scopes}
    }
    if (plan.upstreams.length === 0) throw new KeywardError('INVALID_INPUT', `${file} has no server to import${plan.skipped.length ? ` (${plan.skipped.map((s) => `${s.entry}: ${s.why}`).join('; ')})` : ''}`)
    const backup = `${file}.keyward-backup-${new Date().toISOString().replace(/[:.]/g, '-')}`
    await createPrivateFile(backup, Buffer.from(text), 'backup')
    const issued = await session.update((vault) => {
      for (const secret of plan.secrets) setSecret(vault.data, secret.name, Buffer.from(secret.value, 'utf8'), `imported from ${secret.origin}`)
      for (const upstream of plan.upstreams) addUpstream(vault.data, upstream)
      return createKey(vault.data, {name: keyName, scopes, description: `made by import-config for ${file}`})
    })
    try {
      await replaceOtherFile(file, Buffer.from(JSON.stringify(rewrittenConfig(config, plan, keywardEntry(issued.key)), null, 2) + '\n'), 'config file')
    } catch (err) {
      await session.update((vault) => keysOf(vault.data).delete(issued.record.id))
      throw err
    }
    await session.audit({event: 'config.import', file, upstreams: plan.upstreams.map((u) => u.name), secrets: plan.secrets.map((s) => s.name), key: issued.record.id, name: issued.record.name})
    if (!this.jsonEnabled()) {
      this.report(plan, file)
      this.log(`\nWrote ${file}: it now starts keyward with API key ${issued.record.name} (scopes ${scopes.join(' ')}) and holds none of the old secrets.`)
      this.log(`The original is kept as ${backup} (mode 0600). It still holds the plaintext secrets: delete it once the new config works (restart the client to load it).`)
    }
    return {file, dryRun: false, backup, key: {id: issued.record.id, name: issued.record.name, scopes}, upstreams: plan.upstreams.map((u) => u.name), secrets: plan.secrets.map((s) => s.name), skipped: plan.skipped}
  }

  private report(plan: ImportPlan, file: string): void {
    this.log(`${file}: ${plan.upstreams.length} server(s) to import, ${plan.secrets.length} secret(s) to move into the vault.`)
    for (const u of plan.upstreams) this.log(`  upstream ${u.name}: ${u.transport === 'stdio' ? [u.command, ...u.args].join(' ') : u.url}`)
    for (const s of plan.secrets) this.log(`  secret ${s.name} <- ${s.origin}`)
    for (const s of plan.skipped) this.log(`  left as it is: ${s.entry} (${s.why})`)
  }

  /** The key file the client will open the vault with: the one in use, or the default one. */
  private async keyFileFor(inUse: string | undefined, header: import('../src/vault/index.js').Header): Promise<string> {
    if (inUse && !inUse.startsWith('/dev/fd/')) return path.resolve(inUse)
    const fallback = defaultKeyFilePath()
    if ((await exists(fallback)) && (await loadKeyFile(fallback)).opens(header)) return fallback
    throw new KeywardError('INPUT_REQUIRED', 'the client needs a key file to open the vault (it cannot type a passphrase); add one with `keyward vault passwd --add-key-file ~/.config/keyward/vault.key` and run again')
  }
}

/** Tools and prompts of the imported upstreams; resources too when they are the only upstreams (resource URIs carry no prefix). */
function scopesFor(plan: ImportPlan, onlyUpstreams: boolean): string[] {
  const scopes = plan.upstreams.flatMap((u) => [`${u.name}__*`, `prompt:${u.name}__*`])
  if (onlyUpstreams && plan.upstreams.length > 0) scopes.push('resource:**')
  return scopes
}

function freeKeyName(data: import('../src/vault/index.js').VaultData, base: string): string {
  const taken = new Set([...keysOf(data).values()].map((r) => r.name))
  let name = base.replace(/^[^A-Za-z0-9]+/, '').slice(0, 60) || 'import'
  for (let i = 2; taken.has(name); i++) name = `${base.slice(0, 58)}-${i}`
  return name
}
