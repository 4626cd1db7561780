import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {viewUpstream} from '../../src/cli/upstreams.js'
import {KeywardError} from '../../src/errors/index.js'
import {addUpstream, checkUpstreamName, checkUrl, looksLikeToken, parseEnvSpec, parseHeaderSpec, upstreamsOf, type UpstreamDefinition} from '../../src/upstreams/index.js'
import {checkOAuthHeaders, keepsSignIn, oauthFromFlags, removeOAuthState} from '../../src/upstreams/oauth/index.js'

export default class UpstreamAdd extends KeywardCommand {
  static override summary = 'Add an upstream MCP server for `keyward serve` to front, with its secrets from the vault.'
  static override description = `stdio: give the command after --. Its environment is minimal (PATH, HOME and the like, see docs/gateway.md) plus each --env: VAR=secret:NAME takes a vault secret, VAR=value a literal (refused if it looks like a credential). Secrets reach the upstream in its environment only, never in its arguments.

Streamable HTTP: --url, with --header 'Name: value' where the value may hold {secret:NAME}. Credential headers (Authorization and the like) must take their value from the vault.

OAuth (a remote server that takes OAuth 2.1 tokens, such as Linear's or GitHub's hosted servers): --oauth, then \`keyward upstream login NAME\` once; keyward keeps the tokens in the vault and renews them for every client. The client is pre-registered (--client-id, with --client-secret secret:NAME or --client-key secret:NAME), or named by --client-metadata-url where the server accepts metadata documents, or else registered dynamically at login. --scope asks for scopes (otherwise the server's challenge or its scopes_supported decide). --grant client_credentials signs in as a service, with no person: --client-id and a secret or key are then required. --grant cross_app_access (enterprise-managed authorization) exchanges an identity provider's ID token (--idp-issuer, --idp-client-id, --id-token secret:NAME) for the upstream's tokens, with no person either.

Tools and prompts are exposed as NAME__tool, so scopes such as NAME__* or NAME__get_* apply. --no-prefix mounts one upstream under its own names (only one may be); the names are checked against the built-in tools by starting it once (--skip-check skips that). Every secret referred to must be in the vault already.

Names: a lowercase letter, then lowercase letters, digits and single hyphens, at most 24 characters.`

  static override examples = [
    {description: 'A stdio server with a token from the vault', command: '<%= config.bin %> <%= command.id %> github --env GITHUB_PERSONAL_ACCESS_TOKEN=secret:GITHUB_TOKEN -- npx -y @modelcontextprotocol/server-github'},
    {description: 'A remote server over Streamable HTTP', command: `<%= config.bin %> <%= command.id %> tracker --url https://mcp.example.com/mcp --header 'Authorization: Bearer {secret:TRACKER_TOKEN}'`},
    {description: "A remote server that takes OAuth (then: keyward upstream login linear)", command: '<%= config.bin %> <%= command.id %> linear --url https://mcp.linear.app/mcp --oauth'},
    {description: 'A pre-registered OAuth client, asking for two scopes', command: `<%= config.bin %> <%= command.id %> github --url https://api.githubcopilot.com/mcp/ --client-id Iv1.0123abcd --client-secret secret:GITHUB_OAUTH_SECRET --scope 'repo read:org'`},
    {description: 'A service identity: client credentials with a private key (RFC 7523)', command: '<%= config.bin %> <%= command.id %> reports --url https://mcp.example.com/mcp --grant client_credentials --client-id keyward-prod --client-key secret:REPORTS_CLIENT_KEY'},
    {description: 'One protected server under its own tool names', command: '<%= config.bin %> <%= command.id %> files --no-prefix -- npx -y @modelcontextprotocol/server-filesystem /srv/docs'},
  ]

  static override strict = false
  static override args = {name: positional('Upstream name.')}
  static override flags = {
    env: Flags.string({char: 'e', description: 'VAR=secret:SECRET_NAME or VAR=value; repeatable (stdio).', multiple: true}),
    url: Flags.string({description: 'The upstream Streamable HTTP endpoint.'}),
    header: Flags.string({description: "'Name: value' sent to the upstream, {secret:NAME} allowed; repeatable (http).", multiple: true}),
    'no-prefix': Flags.boolean({description: 'Expose its tools and prompts under their own names.'}),
    'skip-check': Flags.boolean({description: 'With --no-prefix: do not start it to check its names against the built-in tools.'}),
    description: Flags.string({char: 'd', description: 'What the upstream is for.'}),
    replace: Flags.boolean({description: 'Replace an upstream of the same name.'}),
    oauth: Flags.boolean({description: 'The upstream takes OAuth tokens: keyward signs in (`upstream login`), keeps and renews them (http).', helpGroup: 'OAUTH'}),
    grant: Flags.string({description: 'authorization_code (a person signs in once; the default) or client_credentials (a service identity).', helpGroup: 'OAUTH'}),
    'client-id': Flags.string({description: 'A pre-registered OAuth client id.', helpGroup: 'OAUTH'}),
    'client-secret': Flags.string({description: 'secret:NAME: the client secret, from the vault.', helpGroup: 'OAUTH'}),
    'client-key': Flags.string({description: 'secret:NAME: the client\'s PEM private key, for private_key_jwt (RFC 7523).', helpGroup: 'OAUTH'}),
    'client-metadata-url': Flags.string({description: 'An https URL serving keyward\'s client metadata document, used as its client_id where the server supports it.', helpGroup: 'OAUTH'}),
    issuer: Flags.string({description: 'The authorization server a pre-registered client belongs to: its credentials go to no other.', helpGroup: 'OAUTH'}),
    scope: Flags.string({description: "Scopes to ask for, space-separated ('read write').", helpGroup: 'OAUTH'}),
    'idp-issuer': Flags.string({description: 'cross_app_access: the enterprise identity provider\'s issuer URL.', helpGroup: 'OAUTH'}),
    'idp-token-endpoint': Flags.string({description: 'cross_app_access: its token endpoint, when its metadata cannot be discovered.', helpGroup: 'OAUTH'}),
    'idp-client-id': Flags.string({description: 'cross_app_access: keyward\'s client id at the identity provider.', helpGroup: 'OAUTH'}),
    'idp-client-secret': Flags.string({description: 'cross_app_access: secret:NAME, its client secret there (if any).', helpGroup: 'OAUTH'}),
    'id-token': Flags.string({description: 'cross_app_access: secret:NAME, the ID token the identity provider issued.', helpGroup: 'OAUTH'}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, argv, flags} = await this.parse(UpstreamAdd)
    checkUpstreamName(args.name)
    const command = (argv as string[]).slice(1)
    const now = new Date().toISOString()
    let def: UpstreamDefinition
    if (flags.url) {
      if (command.length > 0) throw new KeywardError('INVALID_INPUT', 'give either --url or a command after --, not both')
      if (flags.env) throw new KeywardError('INVALID_INPUT', '--env is for stdio upstreams; an HTTP upstream takes --header')
      checkUrl(flags.url)
      const headers = Object.fromEntries((flags.header ?? []).map((h) => parseHeaderSpec(h)))
      const oauth = oauthFromFlags(flags)
      if (oauth) checkOAuthHeaders(headers)
      def = {name: args.name, transport: 'http', url: flags.url, headers, ...(oauth ? {oauth} : {}), prefix: !flags['no-prefix'], description: flags.description, created: now, updated: now}
    } else {
      if (oauthFromFlags(flags)) throw new KeywardError('INVALID_INPUT', 'OAuth flags are for a remote server (--url); a stdio upstream takes its credentials through --env')
      if (command.length === 0) throw new KeywardError('INVALID_INPUT', 'give the command after --, for example: -- npx -y @modelcontextprotocol/server-github; or --url for a remote server')
      if (flags.header) throw new KeywardError('INVALID_INPUT', '--header is for HTTP upstreams; a stdio upstream takes --env')
      // An argument is visible to every user in /proc: a credential there would leak.
      if (command.some((a) => looksLikeToken(a))) {
        throw new KeywardError('INVALID_INPUT', 'an argument of the command looks like a credential (not shown); pass it through --env VAR=secret:NAME instead')
      }
      const env = Object.fromEntries((flags.env ?? []).map((e) => parseEnvSpec(e)))
      def = {name: args.name, transport: 'stdio', command: command[0], args: command.slice(1), env, prefix: !flags['no-prefix'], description: flags.description, created: now, updated: now}
    }
    const session = await openSession(flags)
    const oauth = def.transport === 'http' ? def.oauth : undefined
    if (oauth?.clientKey) {
      const {clientKeyFrom} = await import('../../src/upstreams/oauth/client-key.js')
      const record = session.vault.data.secrets.get(oauth.clientKey)
      if (record) clientKeyFrom(oauth.clientKey, record.value)
    }
    // An OAuth upstream cannot be started before its login: its names are checked then by serve (collisions are logged).
    if (!def.prefix && !flags['skip-check'] && !oauth) await this.checkNames(def, session.vault.data)
    await session.update((vault) => {
      const before = upstreamsOf(vault.data).get(def.name)
      addUpstream(vault.data, def, {replace: flags.replace})
      // Tokens for another URL or client are not kept for this one.
      if (before && !keepsSignIn(before, def)) removeOAuthState(vault.data, def.name)
    })
    await session.audit({event: 'upstream.add', upstream: def.name, transport: def.transport, replaced: Boolean(flags.replace), ...(oauth ? {oauth: oauth.grant} : {})})
    const view = viewUpstream(def, session.vault.data)
    this.log(`Added upstream ${def.name} (${def.transport}); ${def.prefix ? `its tools appear as ${def.name}__<tool>` : 'its tools keep their names'}. A running keyward serve starts it within a second.`)
    if (oauth) this.log(oauth.grant !== 'authorization_code' ? `keyward serve obtains its token; check the client now with: keyward upstream login ${def.name}` : `Sign in once: keyward upstream login ${def.name}`)
    this.log(`Let a key use it: keyward keys scope KEY --add '${def.prefix ? `${def.name}__*` : '*'}'`)
    return {upstream: view}
  }

  /** Starts the upstream once and refuses names that a built-in tool has. */
  private async checkNames(def: UpstreamDefinition, data: import('../../src/vault/index.js').VaultData): Promise<void> {
    const [{probeUpstream}, {builtinTools}] = await Promise.all([import('../../src/server/gateway/probe.js'), import('../../src/server/tools/builtin/index.js')])
    let names: string[]
    try {
      const probe = await probeUpstream(def, data, {timeoutMs: 30_000, version: this.config.version, log: () => {}})
      names = [...probe.tools, ...probe.prompts]
    } catch (err) {
      throw new KeywardError('INVALID_INPUT', `could not start ${def.name} to check its names (${(err as Error).message}); fix it, or pass --skip-check`)
    }
    const builtin = new Set(builtinTools.map((t) => t.name))
    const clash = names.filter((n) => builtin.has(n))
    if (clash.length > 0) {
      throw new KeywardError('INVALID_INPUT', `without a prefix, ${def.name}'s ${clash.join(', ')} would collide with built-in tools; keep the prefix`)
    }
  }
}
