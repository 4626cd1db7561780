import {Flags} from '@oclif/core'

import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {KeywardError} from '../../src/errors/index.js'
import {parseDuration} from '../../src/keys/index.js'
import {findUpstream, isOAuthUpstream} from '../../src/upstreams/index.js'
import {TokenBroker, upstreamFetch} from '../../src/upstreams/oauth/index.js'

export default class UpstreamTest extends KeywardCommand {
  static override summary = 'Start or connect to an upstream once, list its tools, and say how long that took.'
  static override description = 'The upstream gets exactly what `keyward serve` would give it. Tool names are shown as clients see them. --verbose shows what the upstream writes to stderr (secrets it was given are masked).'
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
    const {vault} = session
    const def = findUpstream(vault.data, args.name)
    const {probeUpstream} = await import('../../src/server/gateway/probe.js')
    const log = (level: string, message: string) => {
      if (flags.verbose || level === 'error') process.stderr.write(`${message}\n`)
    }
    // An OAuth upstream is reached with its tokens, renewed here (and saved) if they expired, as serve would.
    let data = vault.data
    const broker = isOAuthUpstream(def)
      ? new TokenBroker({
          data: () => data,
          write: (change) => session.update(async (v) => {
            const result = await change(v.data)
            data = v.data
            return result
          }),
          audit: (event) => void session.audit(event),
          log,
        })
      : undefined
    let result
    try {
      result = await probeUpstream(def, vault.data, {timeoutMs, version: this.config.version, log, fetch: broker && upstreamFetch(broker, def)})
    } catch (err) {
      throw new KeywardError('UPSTREAM_FAILED', (err as Error).message)
    } finally {
      broker?.close()
    }
    if (!this.jsonEnabled()) {
      const server = result.server ? ` (${result.server.name} ${result.server.version})` : ''
      this.log(`${def.name}${server}: ready in ${Math.round(result.ms)} ms; ${result.tools.length} tools, ${result.prompts.length} prompts, ${result.resources} resources`)
      for (const tool of result.tools) this.log(`  ${tool}`)
    }
    return {upstream: def.name, ...result, ms: Math.round(result.ms)}
  }
}
