import {Flags} from '@oclif/core'

import {positional, splitAtDashDash} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {checkIsolation, lookJson, lookLines, probeFor, recordEra, recordLook, type Look} from '../../src/cli/pins.js'
import {openSession, type Session} from '../../src/cli/session.js'
import {ALLOW_PATH_HELP, applyIsolation, isolationFlag, isolationSummary, networkFlag, sandboxByDefault, sharingSummary, withIsolation} from '../../src/cli/upstream-isolation.js'
import {viewUpstream} from '../../src/cli/upstreams.js'
import {KeywardError} from '../../src/errors/index.js'
import type {ProbeResult} from '../../src/server/gateway/probe.js'
import {addUpstream, checkUpstreamName, checkUrl, credentialInArgs, isolationOf, parseEnvSpec, parseHeaderSpec, upstreamsOf, type UpstreamDefinition, type UpstreamTested} from '../../src/upstreams/index.js'
import {checkOAuthHeaders, checkOAuthUrl, keepsSignIn, oauthFromFlags, removeOAuthState} from '../../src/upstreams/oauth/index.js'
import {stderrLine} from '../../src/cli/output.js'

export default class UpstreamAdd extends KeywardCommand {
  static override summary = 'Add an upstream MCP server for `keyward serve` to front, with its secrets from the vault.'
  static override description = `stdio: give the command after --; everything after it is the command, verbatim. An argument that holds a credential (--token=…, --api-key …, a URL with a password, a known token format) is refused: every user can read arguments in the process list. Its environment is minimal (PATH, USER and the like, and a private HOME of its own; see docs/gateway.md) plus each --env: VAR=secret:NAME takes a vault secret, VAR=value a literal (refused if it looks like a credential). Secrets reach the upstream in its environment only, never in its arguments.

Streamable HTTP: --url, with --header 'Name: value' where the value may hold {secret:NAME}. Credential headers (Authorization and the like) must take their value from the vault.

It is started once, as keyward serve would start it, to pin what it offers (a later change is held back until \`keyward upstream approve\`), to scan its descriptions for text aimed at the model, and to record which MCP revision it speaks (\`keyward upstream list\` shows it); --skip-check skips that, and serve pins it at its first connection. An upstream that takes OAuth is not started before its login: \`keyward upstream test\` or serve pins it then.

--sandbox runs a stdio upstream under bubblewrap (Linux only): a read-only system, a private HOME and /tmp, nothing of the vault, the key files or your HOME; --allow-path opens a path, --network off closes the network. Without --sandbox, the upstream.sandbox setting decides (off unless set). See docs/gateway.md, "Threat model".

--isolation decides who shares its process (or, for an HTTP upstream, its MCP session): shared, the default, runs one for every client session; key, one per API key or principal, so different clients never share its state; session, one per client session, for upstreams that keep per-client state (a browser) or ask their client for sampling, elicitation or roots outside a single call. See docs/gateway.md, "Sharing".

OAuth (a remote server that takes OAuth 2.1 tokens, such as Linear's or GitHub's hosted servers): --oauth, then \`keyward upstream login NAME\` once; keyward keeps the tokens in the vault and renews them for every client. Its --url must be https:// (http:// only on loopback): the token goes with every request. The client is pre-registered (--client-id, with --client-secret secret:NAME or --client-key secret:NAME), or named by --client-metadata-url where the server accepts metadata documents, or else registered dynamically at login. --scope asks for scopes (otherwise the server's challenge or its scopes_supported decide). --grant client_credentials signs in as a service, with no person: --client-id and a secret or key are then required. --grant cross_app_access (enterprise-managed authorization) exchanges an identity provider's ID token (--idp-issuer, --idp-client-id, --id-token secret:NAME) for the upstream's tokens, with no person either.

Tools and prompts are exposed as NAME__tool, so scopes such as NAME__* or NAME__get_* apply. --no-prefix mounts one upstream under its own names (only one may be); the names are checked against the built-in tools by starting it once (--skip-check skips that). Every secret referred to must be in the vault already.

Names: a lowercase letter, then lowercase letters, digits and single hyphens, at most 24 characters.`

  static override examples = [
    {description: 'A stdio server with a token from the vault', command: '<%= config.bin %> <%= command.id %> github --env GITHUB_PERSONAL_ACCESS_TOKEN=secret:GITHUB_TOKEN -- npx -y @modelcontextprotocol/server-github'},
    {description: 'A remote server over Streamable HTTP', command: `<%= config.bin %> <%= command.id %> tracker --url https://mcp.example.com/mcp --header 'Authorization: Bearer {secret:TRACKER_TOKEN}'`},
    {description: "A remote server that takes OAuth (then: keyward upstream login linear)", command: '<%= config.bin %> <%= command.id %> linear --url https://mcp.linear.app/mcp --oauth'},
    {description: 'A pre-registered OAuth client, asking for two scopes', command: `<%= config.bin %> <%= command.id %> github --url https://api.githubcopilot.com/mcp/ --client-id Iv1.0123abcd --client-secret secret:GITHUB_OAUTH_SECRET --scope 'repo read:org'`},
    {description: 'A service identity: client credentials with a private key (RFC 7523)', command: '<%= config.bin %> <%= command.id %> reports --url https://mcp.example.com/mcp --grant client_credentials --client-id keyward-prod --client-key secret:REPORTS_CLIENT_KEY'},
    {description: 'One protected server under its own tool names', command: '<%= config.bin %> <%= command.id %> files --no-prefix -- npx -y @modelcontextprotocol/server-filesystem /srv/docs'},
    {description: 'A browser automation server: one process per client session', command: '<%= config.bin %> <%= command.id %> browser --isolation session -- npx -y @playwright/mcp'},
    {description: 'A sandboxed file server that sees one directory and no network', command: '<%= config.bin %> <%= command.id %> files --sandbox --allow-path /srv/docs:rw --network off -- npx -y @modelcontextprotocol/server-filesystem /srv/docs'},
  ]

  static override strict = false
  static override args = {name: positional('Upstream name.')}
  static override flags = {
    env: Flags.string({char: 'e', description: 'VAR=secret:SECRET_NAME or VAR=value; repeatable (stdio).', multiple: true}),
    url: Flags.string({description: 'The upstream Streamable HTTP endpoint.'}),
    header: Flags.string({description: "'Name: value' sent to the upstream, {secret:NAME} allowed; repeatable (http).", multiple: true}),
    'no-prefix': Flags.boolean({description: 'Expose its tools and prompts under their own names.'}),
    'skip-check': Flags.boolean({description: 'Do not start it now: no check of its names against the built-in tools (--no-prefix), no pins and no scan until `upstream test` or serve starts it.'}),
    sandbox: Flags.boolean({allowNo: true, description: 'Run it in a sandbox (bubblewrap, Linux only): a read-only system, a private HOME and /tmp, nothing of the vault or your HOME. Default: the upstream.sandbox setting (off).'}),
    'allow-path': Flags.string({description: ALLOW_PATH_HELP, multiple: true}),
    network: networkFlag(),
    isolation: isolationFlag(),
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
    // The command is everything after --, exactly as typed; only what comes before is oclif's to parse.
    const {own, rest} = splitAtDashDash(this.argv)
    const {args, argv, flags} = await this.parse(UpstreamAdd, own)
    // Not echoed: an argument typed there may be a credential.
    if (argv.length > 1) throw new KeywardError('INVALID_INPUT', `put the command after --, for example: keyward upstream add ${args.name} -- npx -y @modelcontextprotocol/server-github`)
    checkUpstreamName(args.name)
    const command = rest ?? []
    const now = new Date().toISOString()
    let def: UpstreamDefinition
    if (flags.url) {
      if (command.length > 0) throw new KeywardError('INVALID_INPUT', 'give either --url or a command after --, not both')
      if (flags.env) throw new KeywardError('INVALID_INPUT', '--env is for stdio upstreams; an HTTP upstream takes --header')
      checkUrl(flags.url)
      const headers = Object.fromEntries((flags.header ?? []).map((h) => parseHeaderSpec(h)))
      const oauth = oauthFromFlags(flags)
      if (oauth) {
        checkOAuthUrl(flags.url)
        checkOAuthHeaders(headers)
      }
      def = {name: args.name, transport: 'http', url: flags.url, headers, ...(oauth ? {oauth} : {}), prefix: !flags['no-prefix'], description: flags.description, created: now, updated: now}
    } else {
      if (oauthFromFlags(flags)) throw new KeywardError('INVALID_INPUT', 'OAuth flags are for a remote server (--url); a stdio upstream takes its credentials through --env')
      if (command.length === 0) throw new KeywardError('INVALID_INPUT', 'give the command after --, for example: -- npx -y @modelcontextprotocol/server-github; or --url for a remote server')
      if (flags.header) throw new KeywardError('INVALID_INPUT', '--header is for HTTP upstreams; a stdio upstream takes --env')
      // An argument is visible to every user in /proc, and `upstream list` shows it: a credential there would leak.
      const found = credentialInArgs(command)
      if (found) {
        throw new KeywardError('INVALID_INPUT', `argument ${found.index + 1} of the command holds ${found.why}, which every user can read in the process list (not shown); store it with \`keyward secrets set NAME\` and pass it as --env VAR=secret:NAME (or, for an HTTP server, --url with --header 'Authorization: Bearer {secret:NAME}')`)
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
    def = withIsolation(applyIsolation(def, {sandbox: flags.sandbox ?? sandboxByDefault(session.vault.data), allow: flags['allow-path'], network: flags.network}), flags.isolation)
    await checkIsolation(def)
    // An OAuth upstream cannot be started before its login: `upstream test` or serve checks its names, pins and scans it then (collisions are logged).
    const probe = !def.prefix && !flags['skip-check'] && !oauth ? await this.checkNames(def, session) : undefined
    await session.update((vault) => {
      const before = upstreamsOf(vault.data).get(def.name)
      addUpstream(vault.data, def, {replace: flags.replace})
      // Tokens for another URL or client are not kept for this one.
      if (before && !keepsSignIn(before, def)) removeOAuthState(vault.data, def.name)
    })
    await session.audit({event: 'upstream.add', upstream: def.name, transport: def.transport, replaced: Boolean(flags.replace), sandbox: def.transport === 'stdio' && def.sandbox === true, isolation: isolationOf(def), ...(oauth ? {oauth: oauth.grant} : {})})
    const view = viewUpstream(def, session.vault.data)
    this.log(`Added upstream ${def.name} (${def.transport}, ${isolationSummary(def)}; ${sharingSummary(def)}); ${def.prefix ? `its tools appear as ${def.name}__<tool>` : 'its tools keep their names'}. A running keyward serve starts it within a second.`)
    if (oauth) this.log(oauth.grant !== 'authorization_code' ? `keyward serve obtains its token; check the client now with: keyward upstream login ${def.name}` : `Sign in once: keyward upstream login ${def.name}`)
    this.log(`Let a key use it: keyward keys scope KEY --add '${def.prefix ? `${def.name}__*` : '*'}'`)
    const looked = flags['skip-check'] || oauth ? undefined : await this.look(def, session, probe)
    return {upstream: {...view, tested: looked?.tested ?? null}, ...(looked ? {look: lookJson(looked.look)} : {})}
  }

  /** Starts the upstream once and refuses names that a built-in tool has. */
  private async checkNames(def: UpstreamDefinition, session: Session): Promise<ProbeResult> {
    const {builtinTools} = await import('../../src/server/tools/builtin/index.js')
    let probe: ProbeResult
    try {
      probe = await probeFor(session, def, {timeoutMs: 30_000, version: this.config.version})
    } catch (err) {
      throw new KeywardError('INVALID_INPUT', `could not start ${def.name} to check its names (${(err as Error).message}); fix it, or pass --skip-check`)
    }
    const builtin = new Set(builtinTools.map((t) => t.name))
    const clash = [...probe.tools, ...probe.prompts].filter((n) => builtin.has(n))
    if (clash.length > 0) {
      throw new KeywardError('INVALID_INPUT', `without a prefix, ${def.name}'s ${clash.join(', ')} would collide with built-in tools; keep the prefix`)
    }
    return probe
  }

  /** Starts it once (unless the name check did) to pin what it offers and scan it, and records its era; one that does not start is pinned by serve later. */
  private async look(def: UpstreamDefinition, session: Session, probe: ProbeResult | undefined): Promise<{look: Look; tested: UpstreamTested | null} | undefined> {
    try {
      probe ??= await probeFor(session, def, {timeoutMs: LOOK_TIMEOUT_MS, version: this.config.version})
    } catch (err) {
      stderrLine(`warning: could not start ${def.name} to pin and scan what it offers (${(err as Error).message}); keyward serve pins it when it first connects, or run \`keyward upstream test ${def.name}\``)
      return undefined
    }
    const look = await recordLook(session, def.name, probe.listing)
    const tested = await recordEra(session, def, probe)
    for (const line of lookLines(def.name, look)) this.log(line)
    return {look, tested}
  }
}

/** How long `upstream add` waits for a new upstream to start (npx may download it first). */
const LOOK_TIMEOUT_MS = 60_000
