import {positional} from '../../src/cli/args.js'
import {KeywardCommand} from '../../src/cli/base.js'
import {openSession} from '../../src/cli/session.js'
import {upstreamDetails, viewUpstream} from '../../src/cli/upstreams.js'
import {findUpstream} from '../../src/upstreams/index.js'

export default class UpstreamShow extends KeywardCommand {
  static override summary = 'Show one upstream: the MCP revision it speaks (as `upstream test` or `add` last found), how it is started or reached, the secrets it refers to (never their values), and its OAuth sign-in state (never a token).'
  static override examples = ['<%= config.bin %> <%= command.id %> github', '<%= config.bin %> <%= command.id %> github --json']
  static override args = {name: positional('Upstream name.')}
  static override enableJsonFlag = true

  async run() {
    const {args, flags} = await this.parse(UpstreamShow)
    const {vault} = await openSession(flags)
    const view = viewUpstream(findUpstream(vault.data, args.name), vault.data)
    this.log(upstreamDetails(view))
    return {upstream: view}
  }
}
