import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {lookJson, lookLines, probeFor, recordEra, recordLook, upstreamContext} from '../../src/cli/pins.js'
import {openSession} from '../../src/cli/session.js'
import {parseDuration} from '../../src/keys/index.js'
import {findUpstream} from '../../src/upstreams/index.js'
import {escapeText} from '../../src/text/visible.js'

export default class UpstreamTest extends KeywardCommand {
  static override summary = 'Start or connect to an upstream once, say which MCP revision it speaks (kept for upstream list), list its tools, pin and scan them, and say how long that took and what its sandbox allows.'
  static override description = `The upstream gets exactly what \`keyward serve\` would give it: its environment, its private HOME, its sandbox. Tool names are shown as clients see them. The first time, what it offers is pinned; after that, a change is recorded and held back until \`keyward upstream approve\` (see \`keyward upstream diff\`). The description scanner runs on what it lists.

The protocol era it speaks and the revision negotiated are kept with its definition, for \`keyward upstream list\` and \`show\` (this changes nothing a running \`keyward serve\` does).

For a stdio upstream it says how it is contained: sandboxed (with what the sandbox shows read-only and read-write, what it hides, and the network), or in a PID namespace of its own. --verbose shows what the upstream writes to stderr (secrets it was given are masked).`
  static override examples = ['<%= config.bin %> <%= command.id %> github', '<%= config.bin %> <%= command.id %> github --timeout 60s --json']
  static override args = {name: positional('Upstream name.')}
  static override flags = {
    timeout: Flags.string({description: 'How long to wait for it to start.', default: '30s'}),
    verbose: Flags.boolean({char: 'v', description: "Show the upstream's stderr."}),
  }

  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamTest)
    const timeoutMs = parseDuration(flags.timeout, '--timeout')
    const session = await openSession(flags)
    const def = findUpstream(session.vault.data, args.name)
    const log = (level: string, message: string) => {
      // What the upstream says (its stderr, its errors) is printed escaped: its control sequences would act on the terminal.
      if (flags.verbose || level === 'error') process.stderr.write(`${escapeText(message, 100_000)}\n`)
    }
    const containment = await this.containment(def, session)
    const result = await probeFor(session, def, {timeoutMs, version: this.config.version, log})
    const look = await recordLook(session, def.name, result.listing)
    const tested = await recordEra(session, def, result)
    if (!this.jsonEnabled()) {
      // What the upstream says of itself is printed escaped: a hostile one could send terminal control sequences.
      const server = result.server ? ` (${escapeText(`${result.server.name} ${result.server.version}`)})` : ''
      const era = result.era === 'modern' ? `MCP ${result.protocolVersion}` : `2025 era, MCP ${result.protocolVersion}`
      this.log(`${def.name}${server}: ${era}; ready in ${Math.round(result.ms)} ms; ${result.tools.length} tools, ${result.prompts.length} prompts, ${result.resources} resources`)
      for (const tool of result.tools) this.log(`  ${escapeText(tool)}`)
      for (const line of containment.lines) this.log(line)
      for (const line of lookLines(def.name, look)) this.log(line)
      if (!tested) this.log(`The era of ${def.name} was not recorded: its definition changed while it was tested (test it again), or the revision it named is not a date.`)
    }
    const {listing: _listing, ...shown} = result
    return {upstream: def.name, ...shown, ms: Math.round(result.ms), containment: containment.json, look: lookJson(look), tested}
  }

  /** How serve contains it, and for a sandbox what it shows and hides. */
  private async containment(def: ReturnType<typeof findUpstream>, session: Awaited<ReturnType<typeof openSession>>) {
    if (def.transport !== 'stdio') return {lines: [], json: undefined}
    const [{resolveUpstream}, sandbox] = await Promise.all([import('../../src/server/gateway/resolve.js'), import('../../src/server/gateway/sandbox.js')])
    const resolved = resolveUpstream(def, session.vault.data, upstreamContext(session))
    const launch = resolved.launch!
    if (!launch.sandbox) {
      const how = await sandbox.bestContainment()
      const home = launch.home ? `a private HOME (${launch.home})` : 'the HOME given by --env'
      const tree = how === 'process-group' ? 'its process group only (a detached descendant could outlive keyward)' : `its own PID namespace (${how === 'pid-namespace' ? 'bubblewrap' : 'unshare'})`
      return {lines: [`not sandboxed: it sees what keyward's user sees, with ${home}; its processes are held in ${tree}`], json: {sandbox: false, containment: how, home: launch.home}}
    }
    await sandbox.checkSandboxSupport(launch.sandbox.network)
    const {view} = sandbox.sandboxArgs({command: def.command, args: def.args, env: resolved.env ?? {}, ...launch}, launch.sandbox)
    const lines = [
      'sandboxed (bubblewrap): its own PID, IPC and UTS namespaces and session, no capabilities',
      `  read-only:  ${view.readOnly.join(' ')}`,
      `  read-write: ${view.readWrite.map((p) => (p === sandbox.SANDBOX_HOME && view.home ? `${p} (kept in ${view.home})` : p)).join(' ') || '-'} and a private /tmp`,
      `  hidden:     ${view.hidden.join(' ') || '-'}; and everything else: your HOME, the vault, the key files, keyward's state, other upstreams`,
      `  network:    ${view.network ? 'on' : 'off (no interface but its own loopback)'}`,
    ]
    return {lines, json: {sandbox: true, containment: 'sandbox', ...view}}
  }
}
