import {Flags} from '@oclif/core'

import {KeywardCommand} from '../src/cli/base.js'
import {httpFlags, httpOptions, preloadServer, runServer, settingFlags, settingsFrom} from '../src/cli/serve.js'
import {resolveUnlock} from '../src/cli/unlock.js'
import {headerOf, readVault, resolveVaultPath} from '../src/vault/index.js'

export default class Serve extends KeywardCommand {
  static override summary = 'Run the MCP server: every request authenticated (API key, OAuth token or trusted proxy) and checked against its scopes.'
  static override description = `Loads the vault at startup and reloads it when the file changes (unless --no-watch) or on SIGHUP: a key revoked or re-scoped with the CLI takes effect within a second, without a restart. A vault older than the one being served (a rollback) or another vault is not reloaded, and the refusal is logged.

stdio: the client's key comes from KEYWARD_API_KEY, or from the file KEYWARD_API_KEY_FILE names (mode 0600, checked as key files are), or MCP_API_KEY, in the server's environment; the vault must open with --key-file, KEYWARD_KEY_FILE or KEYWARD_PASSPHRASE, since stdin carries the protocol. Only protocol goes to stdout.

http: Streamable HTTP on http://HOST:PORT/mcp; each request carries its key as "Authorization: Bearer <key>" or "X-API-Key: <key>". Host and Origin are checked against DNS rebinding. GET /healthz answers {"status":"ok"}.`

  static override examples = [
    {description: 'stdio, as an MCP client launches it', command: 'KEYWARD_API_KEY=kw_... <%= config.bin %> <%= command.id %> --key-file ~/.config/keyward/vault.key'},
    {description: 'Streamable HTTP on 127.0.0.1:8765', command: '<%= config.bin %> <%= command.id %> --transport http'},
    {description: 'Stateless HTTP on another port', command: '<%= config.bin %> <%= command.id %> --transport http --stateless --port 9000'},
    {description: 'OAuth tokens beside API keys', command: '<%= config.bin %> <%= command.id %> --transport http --auth api-key,oauth2 --oauth-issuer https://auth.example.com --server-public-url https://mcp.example.com/mcp'},
    {description: 'Only MCP 2026-07-28 clients (2025-era ones are refused with -32022 naming 2026-07-28)', command: '<%= config.bin %> <%= command.id %> --transport http --protocol modern'},
    {description: 'No authentication, loopback only (development, conformance suites)', command: '<%= config.bin %> <%= command.id %> --transport http --auth none'},
  ]

  static override flags = {
    transport: Flags.option({options: ['stdio', 'http'] as const, char: 't', description: 'How clients connect.', default: 'stdio'})(),
    auth: Flags.string({description: 'Authentication methods, comma-separated: api-key, oauth2, proxy-header, or none (loopback only). Default: auth.methods from keyward config, else api-key.'}),
    ...httpFlags,
    ...settingFlags(),
  }

  async run() {
    const {flags} = await this.parse(Serve)
    const loading = preloadServer()
    loading.catch(() => {}) // awaited, and reported, by runServer
    const vaultFile = resolveVaultPath(flags.vault)
    const envelope = await readVault(vaultFile)
    const material = await resolveUnlock(headerOf(envelope), vaultFile, flags, {allowPrompt: flags.transport === 'http'})
    await runServer({...httpOptions(flags), vaultFile, material, transport: flags.transport, settings: settingsFrom(flags), version: this.config.version})
  }
}
