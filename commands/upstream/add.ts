import {Flags} from '@oclif/core'

import {positional, splitAtDashDash} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {checkIsolation, lookJson, lookLines, probeFor, recordLook, type Look} from '../../src/cli/pins.js'
import {openSession, type Session} from '../../src/cli/session.js'
import {ALLOW_PATH_HELP, applyIsolation, isolationFlag, isolationSummary, networkFlag, sandboxByDefault, sharingSummary, withIsolation} from '../../src/cli/upstream-isolation.js'
import {viewUpstream} from '../../src/cli/upstreams.js'
import {KeywardError} from '../../src/errors/index.js'
import type {ProbeResult} from '../../src/server/gateway/probe.js'
import {addUpstream, checkUpstreamName, checkUrl, credentialInArgs, isolationOf, parseEnvSpec, parseHeaderSpec, type UpstreamDefinition} from '../../src/upstreams/index.js'

export default class UpstreamAdd extends KeywardCommand {
  static override summary = 'Add an upstream MCP server for `keyward serve` to front, with its secrets from the vault.'
  static override description = `stdio: give the command after --; everything after it is the command, verbatim. An argument that holds a credential (--token=…, --api-key …, a URL with a password, a known token format) is refused: every user can read arguments in the process list. Its environment is minimal (PATH, USER and the like, and a private HOME of its own; see docs/gateway.md) plus each --env: VAR=secret:NAME takes a vault secret, VAR=value a literal (refused if it looks like a credential). Secrets reach the upstream in its environment only, never in its arguments.

Streamable HTTP: --url, with --header 'Name: value' where the value may hold {secret:NAME}. Credential headers (Authorization and the like) must take their value from the vault.

It is started once, as keyward serve would start it, to pin what it offers (a later change is held back until \`keyward upstream approve\`) and to scan its descriptions for text aimed at the model; --skip-check skips that, and serve pins it at its first connection.

--sandbox runs a stdio upstream under bubblewrap (Linux only): a read-only system, a private HOME and /tmp, nothing of the vault, the key files or your HOME; --allow-path opens a path, --network off closes the network. Without --sandbox, the upstream.sandbox setting decides (off unless set). See docs/gateway.md, "Threat model".

--isolation decides who shares its process (or, for an HTTP upstream, its MCP session): shared, the default, runs one for every client session; key, one per API key or principal, so different clients never share its state; session, one per client session, for upstreams that keep per-client state (a browser) or ask their client for sampling, elicitation or roots outside a single call. See docs/gateway.md, "Sharing".

Tools and prompts are exposed as NAME__tool, so scopes such as NAME__* or NAME__get_* apply. --no-prefix mounts one upstream under its own names (only one may be); the names are checked against the built-in tools by starting it once (--skip-check skips that). Every secret referred to must be in the vault already.

Names: a lowercase letter, then lowercase letters, digits and single hyphens, at most 24 characters.`

  static override examples = [
    {description: 'A stdio server with a token from the vault', command: '<%= config.bin %> <%= command.id %> github --env GITHUB_PERSONAL_ACCESS_TOKEN=secret:GITHUB_TOKEN -- npx -y @modelcontextprotocol/server-github'},
    {description: 'A remote server over Streamable HTTP', command: `<%= config.bin %> <%= command.id %> tracker --url https://mcp.example.com/mcp --header 'Authorization: Bearer {secret:TRACKER_TOKEN}'`},
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
      def = {name: args.name, transport: 'http', url: flags.url, headers, prefix: !flags['no-prefix'], description: flags.description, created: now, updated: now}
    } else {
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
    def = withIsolation(applyIsolation(def, {sandbox: flags.sandbox ?? sandboxByDefault(session.vault.data), allow: flags['allow-path'], network: flags.network}), flags.isolation)
    await checkIsolation(def)
    const probe = !def.prefix && !flags['skip-check'] ? await this.checkNames(def, session) : undefined
    await session.update((vault) => addUpstream(vault.data, def, {replace: flags.replace}))
    await session.audit({event: 'upstream.add', upstream: def.name, transport: def.transport, replaced: Boolean(flags.replace), sandbox: def.transport === 'stdio' && def.sandbox === true, isolation: isolationOf(def)})
    const view = viewUpstream(def)
    this.log(`Added upstream ${def.name} (${def.transport}, ${isolationSummary(def)}; ${sharingSummary(def)}); ${def.prefix ? `its tools appear as ${def.name}__<tool>` : 'its tools keep their names'}. A running keyward serve starts it within a second.`)
    this.log(`Let a key use it: keyward keys scope KEY --add '${def.prefix ? `${def.name}__*` : '*'}'`)
    const look = flags['skip-check'] ? undefined : await this.look(def, session, probe)
    return {upstream: view, ...(look ? {look: lookJson(look)} : {})}
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

  /** Starts it once (unless the name check did) to pin what it offers and scan it; one that does not start is pinned by serve later. */
  private async look(def: UpstreamDefinition, session: Session, probe: ProbeResult | undefined): Promise<Look | undefined> {
    try {
      probe ??= await probeFor(session, def, {timeoutMs: LOOK_TIMEOUT_MS, version: this.config.version})
    } catch (err) {
      process.stderr.write(`keyward: warning: could not start ${def.name} to pin and scan what it offers (${(err as Error).message}); keyward serve pins it when it first connects, or run \`keyward upstream test ${def.name}\`\n`)
      return undefined
    }
    const look = await recordLook(session, def.name, probe.listing)
    for (const line of lookLines(def.name, look)) this.log(line)
    return look
  }
}

/** How long `upstream add` waits for a new upstream to start (npx may download it first). */
const LOOK_TIMEOUT_MS = 60_000
