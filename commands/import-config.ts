import {existsSync, promises as fs, readFileSync} from 'node:fs'
import path from 'node:path'
import {parseEnv} from 'node:util'

import {Flags} from '@oclif/core'

import {positional} from '../src/cli/args.js'
import {KeywardCommand} from '../src/cli/base.js'
import {openSession, type Session} from '../src/cli/session.js'
import {fileError, KeywardError} from '../src/errors/index.js'
import {createKey, KEY_LINE_ROOM, keysOf, type IssuedKey} from '../src/keys/index.js'
import {removeSecret, setSecret} from '../src/secrets/index.js'
import {addUpstream, upstreamsOf} from '../src/upstreams/index.js'
import {keywardEntryEnv, keywardEntryName, parseClientConfig, rewriteClientConfig, type ClientEntry} from '../src/upstreams/client-config.js'
import {findServers, planImport, type ImportPlan} from '../src/upstreams/import-config.js'
import {createPrivateFile, defaultKeyFilePath, exists, loadKeyFile, reserveNewFile, resolveRealPath, stageReplacement, type ReservedFile, type StagedFile} from '../src/vault/index.js'

export default class ImportConfig extends KeywardCommand {
  static override summary = 'Move the MCP servers of a client config, and their plaintext secrets, into keyward.'
  static override description = `Reads the "mcpServers" of Claude Desktop, Claude Code (.mcp.json) and Cursor, or the "servers" of VS Code (comments and trailing commas allowed). Each server becomes an upstream. Env values that are credentials become vault secrets (named SERVER_VAR): a name with TOKEN, KEY, SECRET, PASSWORD, PAT, AUTH or CREDENTIAL, a token's shape, or a random-looking string; the others stay plain values of the upstream (--secret VAR and --plain VAR decide for one variable). Credential headers become secrets too. An envFile is read.

Placeholders are the client's: \${env:NAME} and \${NAME} (\${NAME:-default}) are filled in from the environment of this command, \${userHome} and the \${workspaceFolder} of a .vscode/mcp.json too, and the report says which. A server with \${input:…} or another placeholder keyward cannot know is left as it is, and named.

The new config starts \`keyward serve --transport stdio\` with a new key scoped to the imported servers. It holds no credential: the key is in a 0600 file in keyward's config directory (KEYWARD_API_KEY_FILE), and the vault opens with its key file (KEYWARD_KEY_FILE). The vault and the state directory are named when they are not the defaults.

Dry run by default: prints the plan and the new config. --write makes the secrets, upstreams and key, keeps the original file as FILE.keyward-backup-<time> (0600), and edits FILE in place, keeping its comments; a symlinked FILE is written through the link. Delete the backup once the new config works.`

  static override examples = [
    {description: 'See what would happen', command: '<%= config.bin %> <%= command.id %> ~/Library/Application\\ Support/Claude/claude_desktop_config.json'},
    {description: 'Do it', command: '<%= config.bin %> <%= command.id %> ~/.config/Claude/claude_desktop_config.json --write'},
    {description: 'A project .mcp.json (Claude Code)', command: '<%= config.bin %> <%= command.id %> .mcp.json --write'},
    {description: 'VS Code, keeping LOG_FORMAT plain and DB_HOST secret', command: '<%= config.bin %> <%= command.id %> .vscode/mcp.json --plain LOG_FORMAT --secret DB_HOST --write'},
  ]

  static override args = {file: positional('The client config file.')}
  static override flags = {
    write: Flags.boolean({description: 'Carry the plan out (default: only show it).'}),
    'key-name': Flags.string({description: 'Name of the new API key (default: the config file name).'}),
    secret: Flags.string({description: 'Import this env variable as a vault secret, whatever it looks like; repeatable.', multiple: true, multipleNonGreedy: true}),
    plain: Flags.string({description: 'Keep this env variable a plain value of the upstream (refused for a token-shaped value); repeatable.', multiple: true, multipleNonGreedy: true}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(ImportConfig)
    const file = path.resolve(args.file)
    const text = await readConfig(file)
    const config = await parseClientConfig(text, file)
    const session = await openSession(flags)
    const plan = this.plan(config, file, session, flags)
    const keyFile = await this.keyFileFor(session.material.source.kind === 'keyfile' ? session.material.source.origin : undefined, session.vault.header)
    const keyName = flags['key-name'] ?? freeKeyName(session.vault.data, `import-${path.basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 40)}`)
    const apiKeyFile = freeFile(path.join(path.dirname(defaultKeyFilePath()), 'api-keys'), keyName)
    const entry: ClientEntry = {command: process.execPath, args: [path.resolve(this.config.root, 'bin', 'run.js'), 'serve', '--transport', 'stdio'], env: keywardEntryEnv({vault: session.file, keyFile, apiKeyFile})}
    const entryName = keywardEntryName(Object.keys(findServers(config, file).servers).filter((n) => !plan.imported.includes(n)))
    const rewrite = {serversPath: plan.serversPath, remove: plan.imported, name: entryName, entry, typed: plan.shape !== 'mcpServers'}
    const scopes = scopesFor(plan, upstreamsOf(session.vault.data).size === 0)
    const summary = {file, upstreams: plan.upstreams.map((u) => u.name), secrets: plan.secrets.map((s) => s.name), plain: plan.plain, resolved: plan.resolved, skipped: plan.skipped}
    if (!flags.write) {
      if (!this.jsonEnabled()) {
        this.report(plan, file)
        this.log(`\nWith --write, ${file} becomes:\n${await rewriteClientConfig(text, rewrite)}`)
      }
      return {...summary, dryRun: true, scopes}
    }
    if (plan.upstreams.length === 0) throw new KeywardError('INVALID_INPUT', `${file} has no server to import${plan.skipped.length ? ` (${plan.skipped.map((s) => `${s.entry}: ${s.why}`).join('; ')})` : ''}`)
    const backup = `${file}.keyward-backup-${new Date().toISOString().replace(/[:.]/g, '-')}`
    // Everything that can fail for want of room or rights happens before the vault is written, so
    // a failed import leaves the vault as it was: the backup, the key file's room, the new config.
    await createPrivateFile(backup, Buffer.from(text), 'backup')
    const staged = await stageFiles(apiKeyFile, resolveRealPath(file), Buffer.from(await rewriteClientConfig(text, rewrite))).catch(async (err) => {
      await fs.rm(backup, {force: true}).catch(() => {})
      throw err
    })
    let issued: IssuedKey
    try {
      issued = await session.update((vault) => {
        for (const secret of plan.secrets) setSecret(vault.data, secret.name, Buffer.from(secret.value, 'utf8'), `imported from ${secret.origin}`)
        for (const upstream of plan.upstreams) addUpstream(vault.data, upstream)
        return createKey(vault.data, {name: keyName, scopes, description: `made by import-config for ${file}`})
      })
    } catch (err) {
      await Promise.all([staged.keyFile.abort(), staged.config.abort(), fs.rm(backup, {force: true}).catch(() => {})])
      throw err
    }
    try {
      await staged.keyFile.commit(Buffer.from(`${issued.key}\n`))
      // Through a symlink: the link stays, and the file it points to (in a dotfiles repository, say) is the one rewritten.
      await staged.config.commit()
    } catch (err) {
      // Only a rename or a link can fail here; then the vault change is taken back, a second write.
      await fs.rm(apiKeyFile, {force: true}).catch(() => {})
      await staged.config.abort()
      await undo(session, plan, issued.record.id)
      throw err
    }
    await session.audit({event: 'config.import', file, upstreams: summary.upstreams, secrets: summary.secrets, key: issued.record.id, name: issued.record.name})
    if (!this.jsonEnabled()) {
      this.report(plan, file)
      this.log(`\nWrote ${file}: it now starts keyward with API key ${issued.record.name} (scopes ${scopes.join(' ')}), read from ${apiKeyFile} (mode 0600); it holds no credential.`)
      this.log(`The original is kept as ${backup} (mode 0600). It still holds the plaintext secrets: delete it once the new config works (restart the client to load it).`)
    }
    return {...summary, dryRun: false, backup, apiKeyFile, key: {id: issued.record.id, name: issued.record.name, scopes}}
  }

  private plan(config: unknown, file: string, session: Session, flags: {secret?: string[]; plain?: string[]}): ImportPlan {
    const secretVars = new Set(flags.secret ?? [])
    const plainVars = new Set(flags.plain ?? [])
    const both = [...secretVars].find((v) => plainVars.has(v))
    if (both) throw new KeywardError('INVALID_INPUT', `${both} is given to both --secret and --plain; choose one`)
    const dir = path.dirname(file)
    // <folder>/.vscode/mcp.json (or .cursor): the workspace ${workspaceFolder} names, where relative envFile paths start.
    const workspaceFolder = ['.vscode', '.cursor'].includes(path.basename(dir)) ? path.dirname(dir) : undefined
    const plan = planImport(config, file, {
      existing: {upstreams: new Set(upstreamsOf(session.vault.data).keys()), secrets: new Set(session.vault.data.secrets.keys())},
      env: process.env,
      workspaceFolder,
      secretVars,
      plainVars,
      baseDir: workspaceFolder ?? dir,
      readEnvFile: (envFile) => readFileSync(envFile, 'utf8'),
      parseEnv: (envText) => parseEnv(envText) as Record<string, string>,
    })
    const unknown = [...secretVars, ...plainVars].filter((v) => !plan.variables.has(v))
    if (unknown.length > 0) throw new KeywardError('INVALID_INPUT', `no server in ${file} sets ${unknown.join(', ')}; check the names given to --secret and --plain`)
    return plan
  }

  private report(plan: ImportPlan, file: string): void {
    this.log(`${file}: ${plan.upstreams.length} server(s) to import, ${plan.secrets.length} secret(s) to move into the vault.`)
    for (const u of plan.upstreams) this.log(`  upstream ${u.name}: ${u.transport === 'stdio' ? [u.command, ...u.args].join(' ') : u.url}`)
    for (const s of plan.secrets) this.log(`  secret ${s.name} <- ${s.origin}`)
    for (const p of plan.plain) this.log(`  plain value: ${p.entry}: env ${p.variable} (not a credential; --secret ${p.variable} makes it one)`)
    for (const r of plan.resolved) this.log(`  filled in: ${r.entry}: ${r.placeholder}, from the environment of this import`)
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

async function readConfig(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeywardError('INVALID_INPUT', `${file} does not exist`)
    throw fileError(err, 'config file', file)
  }
}

/** The API key file's room (its key is made by the vault write) and the rewritten config, ready beside their places. */
async function stageFiles(apiKeyFile: string, config: string, rewritten: Buffer): Promise<{keyFile: ReservedFile; config: StagedFile}> {
  const keyFile = await reserveNewFile(apiKeyFile, KEY_LINE_ROOM, 'API key file')
  try {
    return {keyFile, config: await stageReplacement(config, rewritten, 'config file')}
  } catch (err) {
    await keyFile.abort()
    throw err
  }
}

/** Takes back what the import put in the vault, when the config could not be put in place after it. */
async function undo(session: Session, plan: ImportPlan, keyId: string): Promise<void> {
  await session.update((vault) => {
    keysOf(vault.data).delete(keyId)
    for (const upstream of plan.upstreams) upstreamsOf(vault.data).delete(upstream.name)
    for (const secret of plan.secrets) if (vault.data.secrets.has(secret.name)) removeSecret(vault.data, secret.name)
  })
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

/** A file name in `dir` for the key named `name` that no file has yet (one may remain from a removed key). */
function freeFile(dir: string, name: string): string {
  let file = path.join(dir, `${name}.key`)
  for (let i = 2; existsSync(file); i++) file = path.join(dir, `${name}-${i}.key`)
  return file
}
